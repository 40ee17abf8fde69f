"""retrain: the single-user endpoint under wrk while the service retrains and swaps its model.

First a retrain with no load, for reference. Then ``wrk -t1 -c32 -d30s`` runs against
``jobs_single_user``; after 5 s the bench POSTs ``/admin/retrain`` and polls the job until it
succeeds. Meanwhile it samples the service's own request counter (``GET /metrics``) every 0.25 s,
so requests/s can be read for any stretch: before the retrain, while training, in the second
around the swap, after it. The job record gives the retrain's wall time and what the swap took
(load and verify, build, the assignment itself).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import httpx
import numpy as np

from bench.common import Context, Result, Row, say
from bench.http_load import TO_MS, WrkRun, lua_script, parse
from bench.server import Server

KEY = "bench-admin-key"
SINGLE = "/recommend/jobs_single_user/"
CONNECTIONS = 32
SAMPLE_EVERY = 0.25
_COUNTER = re.compile(r"^recommender_http_requests_total\{([^}]*)\}\s+(\S+)$", re.MULTILINE)
_LABEL = re.compile(r'(\w+)="([^"]*)"')
_MAX = re.compile(r"^\s*Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s|m)\s", re.MULTILINE)


@dataclass(frozen=True)
class Sample:
    """The single-user route's answers counted by the service at wall time ``at``."""

    at: float
    ok: float
    failed: float


class Sampler:
    """Scrapes ``/metrics`` every :data:`SAMPLE_EVERY` seconds from a thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=5.0) as client:
            tick = time.time()
            while not self._stop.is_set():
                self.samples.append(_scrape(client))
                tick += SAMPLE_EVERY
                self._stop.wait(max(0.0, tick - time.time()))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _scrape(client: httpx.Client) -> Sample:
    text = client.get("/metrics").text
    at = time.time()
    ok = failed = 0.0
    for labels, value in _COUNTER.findall(text):
        found = dict(_LABEL.findall(labels))
        if found.get("route") != SINGLE:
            continue
        if found.get("status", "").startswith("2"):
            ok += float(value)
        else:
            failed += float(value)
    return Sample(at, ok, failed)


class Counts:
    """The cumulative count of answers at any moment, interpolated between samples."""

    def __init__(self, samples: list[Sample]) -> None:
        if len(samples) < 2 or samples[-1].ok == 0:
            raise RuntimeError(
                "GET /metrics has no count of the single-user route "
                f"(recommender_http_requests_total{{route={SINGLE!r}}})"
            )
        self.at = np.array([s.at for s in samples])
        self.ok = np.array([s.ok for s in samples])

    def rate(self, start: float, end: float) -> float:
        """Answers per second between two wall times."""
        counted = np.interp([start, end], self.at, self.ok)
        return float(counted[1] - counted[0]) / (end - start)

    def slowest_second(self, start: float, end: float) -> tuple[float, float]:
        """The 1-s stretch with the fewest answers: (its start, its rate)."""
        starts = np.arange(start, end - 1.0, SAMPLE_EVERY)
        rates = [self.rate(s, s + 1.0) for s in starts]
        worst = int(np.argmin(rates))
        return float(starts[worst]), rates[worst]


def _wrk_command(url: str, script: str, seconds: int) -> list[str]:
    return [
        *("wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", script),
        url,
    ]


def _max_latency_ms(text: str) -> float:
    found = _MAX.search(text)
    return float(found.group(1)) * TO_MS[found.group(2)] if found else float("nan")


def _retrain(client: httpx.Client, timeout: float = 600.0) -> tuple[dict[str, Any], float, float]:
    """POST a retrain and poll it to the end: the job, and the wall times of POST and success."""
    posted = time.time()
    job_id = client.post("/admin/retrain").json()["id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/admin/retrain/{job_id}").json()
        if job["status"] == "failed":
            raise RuntimeError(f"retraining failed: {job['error']}")
        if job["status"] == "succeeded":
            return job, posted, time.time()
        time.sleep(0.1)
    raise TimeoutError(f"retraining job {job_id} did not finish in {timeout:.0f} s")


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def run(ctx: Context) -> Result:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    seconds, trigger = (20, 3.0) if ctx.quick else (30, 5.0)
    model_dir = ctx.workdir / "retrain-models"  # the retrain adds a bundle: keep others' intact
    shutil.copytree(ctx.model_dir, model_dir)
    env = {
        **ctx.service_env(),
        "RECOMMENDER_MODEL_DIR": str(model_dir),
        "RECOMMENDER_ADMIN_API_KEY": KEY,
        "RECOMMENDER_EVENTS_PATH": str(ctx.workdir / "retrain-events.sqlite3"),
    }
    script = str(lua_script(ctx.workdir / "retrain-users.lua", "user_id", ctx.user_ids))

    with Server("main:app", env, ctx.workdir / "retrain.log") as server:
        server.wait_for(SINGLE, {"user_id": ctx.user_ids[0], "n": 10})
        url = server.url + SINGLE
        subprocess.run(_wrk_command(url, script, 2), capture_output=True, check=True)  # warm-up
        admin = httpx.Client(base_url=server.url, headers={"X-API-Key": KEY}, timeout=30.0)
        idle, idle_posted, idle_done = _retrain(admin)  # the reference: no requests meanwhile
        with Sampler(server.url) as sampler:
            started = time.time()
            wrk = subprocess.Popen(
                _wrk_command(url, script, seconds), stdout=subprocess.PIPE, text=True
            )
            time.sleep(trigger)
            job, posted, succeeded = _retrain(admin)
            output, _ = wrk.communicate(timeout=seconds + 60)
            time.sleep(2 * SAMPLE_EVERY)  # a last sample after wrk's end
        admin.close()

    load: WrkRun = parse(output)
    counts = Counts(sampler.samples)
    timings = job["timings"]
    swapped = _epoch(job["finished_at"])
    activating = swapped - timings["load"] - timings["serve"]
    ended = started + seconds
    stretches = {
        "steady": (started + 1.0, posted),
        "training": (posted, min(activating, ended - 0.5)),
        "swap_second": (swapped - 0.5, swapped + 0.5),
        "after": (swapped + 0.5, ended - 0.5),
    }
    rates = {
        name: counts.rate(a, b) if started < a < b <= ended else None
        for name, (a, b) in stretches.items()
    }
    worst_at, worst = counts.slowest_second(started + 1.0, ended - 0.5)
    steady = rates["steady"] or float("nan")
    failed = sampler.samples[-1].failed - sampler.samples[0].failed
    max_ms = _max_latency_ms(output)
    wall = succeeded - posted
    idle_wall, idle_timings = idle_done - idle_posted, idle["timings"]
    say(
        f"retrain: {load.requests:,} requests, {load.non_2xx} non-2xx; req/s {rates}; "
        f"retrain {wall:.1f} s, load+verify {timings['load'] * 1e3:.0f} ms"
    )

    def compared(name: str, measure: str) -> Row:
        rate = rates[name]
        if rate is None:
            return Row(
                measure, f"none: the swap came {swapped - ended:.1f} s after wrk ended", "", ""
            )
        return Row(
            measure,
            f"{rate:,.0f} req/s",
            f"steady: {steady:,.0f} req/s",
            f"{rate / steady:.2f} of steady",
        )

    setting = f"wrk -t1 -c{CONNECTIONS} -d{seconds}s"
    return Result(
        "retrain",
        rows=[
            Row(
                f"`jobs_single_user` ({setting}), retrain POSTed after {trigger:.0f} s",
                f"{load.requests:,} requests: {load.non_2xx} non-2xx, "
                f"{load.socket_errors} socket errors",
                f"the service counted {failed:.0f} non-2xx",
                "",
            ),
            Row(
                f"requests/s before the retrain (1 s → {trigger:.0f} s)",
                f"{steady:,.0f} req/s",
                "",
                "",
            ),
            compared("training", f"requests/s while training ({activating - posted:.1f} s in all)"),
            compared("swap_second", "requests/s in the second around the swap"),
            compared("after", "requests/s after the swap"),
            Row(
                "slowest 1-s stretch of the run",
                f"{worst:,.0f} req/s, {worst_at - started:.1f} s in "
                f"(swap at {swapped - started:.1f} s)",
                f"steady: {steady:,.0f} req/s",
                f"{worst / steady:.2f} of steady",
            ),
            Row(
                "latency over the whole run",
                f"p50 {load.p50_ms:.2f} ms, p99 {load.p99_ms:.2f} ms, max {max_ms:.1f} ms",
                "",
                "",
            ),
            Row(
                "retrain wall time, POST → succeeded (demo data)",
                f"{wall:.1f} s, of which the training process {timings['train']:.1f} s",
                f"with no load: {idle_wall:.1f} s",
                f"{wall / idle_wall:.1f}× (training yields the cores to requests)",
            ),
            Row(
                "swap pause: load + verify the bundle, build the recommender (in a thread; "
                "the old model answers meanwhile)",
                f"{timings['load'] * 1e3:.0f} ms + {timings['serve'] * 1e3:.0f} ms",
                f"with no load: {idle_timings['load'] * 1e3:.0f} ms "
                f"+ {idle_timings['serve'] * 1e3:.0f} ms",
                "",
            ),
            Row(
                "swap pause: the swap itself (one assignment; requests never wait on it)",
                f"{timings['swap'] * 1e6:.0f} µs",
                f"with no load: {idle_timings['swap'] * 1e6:.0f} µs",
                "",
            ),
        ],
        raw={
            "wrk": setting,
            "wrk_run": asdict(load),
            "max_latency_ms": max_ms,
            "job": job,
            "retrain_wall_seconds": wall,
            "idle_job": idle,
            "idle_retrain_wall_seconds": idle_wall,
            "requests_per_s": {**rates, "slowest_second": worst},
            "times": {
                "wrk_started": started,
                "posted": posted,
                "activating": activating,
                "swapped": swapped,
                "succeeded": succeeded,
                "wrk_ended": ended,
            },
            "samples": [asdict(s) for s in sampler.samples],
        },
    )
