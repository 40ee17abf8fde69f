"""event_store: what a 3M-event store costs the service. The worst ``append`` of one event while
4 threads loop on ``stats()`` (what ``GET /events/stats`` and a ``/metrics`` scrape call), and the
memory the events of 3M new users take in the fresh-events overlay; each against the code of
:data:`REFERENCE` (whose ``stats()`` scanned the table under the append lock and whose overlay
had no bound), measured in the same run on the same store."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import Context, Result, Row, say

REFERENCE = "b6fcdc2"
"""The commit before the event store's hardening (issue 11)."""
EVENTS = 3_000_000
READERS = 4

_OLD_SCHEMA = """
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, job_id INTEGER NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('impression', 'redirect')), timestamp INTEGER NOT NULL,
    event_id TEXT UNIQUE
)
"""

# run in a child with PYTHONPATH at a code root (ours or the reference's): its own process, so
# the reference's module and its memory do not mix with ours
_APPENDS = """
import json, sys, threading, time
import numpy as np
from recommender.events import Event, SQLiteEventStore
path, seconds, readers = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
started = time.perf_counter()
store = SQLiteEventStore(path)
opened = time.perf_counter() - started
stop = threading.Event()
reads = [0] * readers
def read(i):
    while not stop.is_set():
        store.stats()
        reads[i] += 1
threads = [threading.Thread(target=read, args=(i,)) for i in range(readers)]
for t in threads:
    t.start()
took = []
end = time.perf_counter() + seconds
user = 10_000_000
while time.perf_counter() < end:
    t0 = time.perf_counter()
    store.append([Event(user, 1, "impression")])
    took.append(time.perf_counter() - t0)
    user += 1
stop.set()
for t in threads:
    t.join()
store.close()
ms = np.array(took) * 1000
print(json.dumps({"open_s": opened, "appends": len(took), "p50_ms": float(np.percentile(ms, 50)),
    "p99_ms": float(np.percentile(ms, 99)), "max_ms": float(ms.max()), "stats_reads": sum(reads)}))
"""

_MEMORY = """
import json, sys
import numpy as np
from recommender.events.fresh import FreshEvents
from recommender.events.store import EventRows
events, batch = int(sys.argv[1]), 10_000
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
fresh = FreshEvents()
before = rss()
rng = np.random.default_rng(0)
for start in range(0, events, batch):  # posts of 10,000 events, each for a new user
    ids = np.arange(start + 1, start + batch + 1, dtype=np.int64)
    fresh.add(EventRows(start, ids, ids + 10_000_000, rng.integers(1, 7000, batch),
                        rng.random(batch) < 0.25, ids))
held = getattr(fresh, "held_bytes", None)
print(json.dumps({"rss_added": rss() - before, "users_held": fresh.users, "held_bytes": held}))
"""


def _child(root: Path, script: str, *args: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    got: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return got


def build_store(path: Path, events: int) -> None:
    """A store as the reference wrote it: ``events`` one-event users, one in four a redirect."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(_OLD_SCHEMA)
    conn.execute(
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?) "
        "INSERT INTO events (user_id, job_id, type, timestamp) SELECT 1000000 + i, i % 7000, "
        "CASE WHEN i % 4 = 0 THEN 'redirect' ELSE 'impression' END, 1700000000000000 + i FROM c",
        (events,),
    )
    conn.commit()
    conn.close()


def reference_code(workdir: Path) -> Path:
    """The reference commit's ``recommender`` package, extracted into ``workdir``."""
    root = workdir / f"reference-{REFERENCE}"
    if not (root / "recommender").is_dir():
        root.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", REFERENCE, "recommender"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    return root


def run(ctx: Context) -> Result:
    events = 300_000 if ctx.quick else EVENTS
    seconds = 5.0 if ctx.quick else 20.0
    ours, theirs = Path.cwd(), reference_code(ctx.workdir)
    built = ctx.workdir / "events-built.sqlite3"
    started = time.perf_counter()
    build_store(built, events)
    say(f"event_store: built {events:,} events in {time.perf_counter() - started:.1f} s")
    appends: dict[str, dict[str, Any]] = {}
    for name, root in (("reference", theirs), ("ours", ours)):
        copy = ctx.workdir / f"events-{name}.sqlite3"
        shutil.copyfile(built, copy)
        appends[name] = got = _child(root, _APPENDS, str(copy), str(seconds), str(READERS))
        copy.unlink()
        say(f"event_store: {name}: {got}")
    memory = {
        name: _child(root, _MEMORY, str(events))
        for name, root in (("reference", theirs), ("ours", ours))
    }
    say(f"event_store: memory {memory}")
    built.unlink()

    def cell(got: dict[str, Any]) -> str:
        return (
            f"p99 {got['p99_ms']:.1f} ms, max {got['max_ms']:.0f} ms, p50 {got['p50_ms']:.1f} ms "
            f"({got['appends']:,} appends, {got['stats_reads']:,} stats reads)"
        )

    ref, our = appends["reference"], appends["ours"]
    mib = 2**20
    return Result(
        "event_store",
        rows=[
            Row(
                f"`append` of 1 event, {READERS} threads looping on `stats()`, {events:,}-event "
                f"store ({seconds:g} s)",
                cell(our),
                f"{REFERENCE}: {cell(ref)}",
                f"p99 {ref['p99_ms'] / our['p99_ms']:.0f}× lower",
            ),
            Row(
                "first open of that store (adds identity, counts, index by user)",
                f"{our['open_s']:.1f} s once",
                f"{REFERENCE}: {ref['open_s']:.2f} s",
                "",
            ),
            Row(
                f"memory of {events:,} events for new users (posts of 10,000), fresh overlay",
                f"RSS +{memory['ours']['rss_added'] / mib:.0f} MiB "
                f"({memory['ours']['users_held']:,} users held, budget 128 MiB)",
                f"{REFERENCE}: RSS +{memory['reference']['rss_added'] / mib:.0f} MiB "
                f"({memory['reference']['users_held']:,} users held)",
                f"{memory['reference']['rss_added'] / memory['ours']['rss_added']:.1f}× less",
            ),
        ],
        raw={"appends": appends, "memory": memory, "events": events, "seconds": seconds},
    )
