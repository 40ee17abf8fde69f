"""events: POST /events throughput (one event per request vs batches), and the latency of a
single-user request that recalculates a user against one served from the precomputed lists."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import Context, Result, Row, say
from bench.http_load import CONNECTIONS, LUA, WrkRun, lua_script, parse
from bench.server import Server

BATCHES = (1, 100, 1000)


def _events_script(path: Path, bodies: list[dict[str, Any]]) -> Path:
    path.write_text(LUA % ",\n".join("'" + json.dumps(b) + "'" for b in bodies))
    return path


def _wrk(url: str, script: Path, seconds: int, connections: int = CONNECTIONS) -> WrkRun:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    done = subprocess.run([*command, url], capture_output=True, text=True, check=True)
    return parse(done.stdout)


def _event_bodies(
    users: np.ndarray[Any, Any], jobs: np.ndarray[Any, Any], batch: int, count: int, seed: int
) -> list[dict[str, Any]]:
    """``count`` bodies of ``batch`` events each: users in turn, a random known job each,
    one redirect in four."""
    rng = np.random.default_rng(seed)
    bodies = []
    for b in range(count):
        picked = users[(np.arange(batch) + b * batch) % users.shape[0]]
        events = [
            {
                "user_id": int(u),
                "job_id": int(j),
                "type": "redirect" if r else "impression",
            }
            for u, j, r in zip(
                picked.tolist(),
                rng.choice(jobs, batch).tolist(),
                (rng.random(batch) < 0.25).tolist(),
                strict=True,
            )
        ]
        bodies.append({"events": events})
    return bodies


def run(ctx: Context) -> Result:
    from recommender.bundle.directory import current_version

    bundle = ctx.model_dir / current_version(ctx.model_dir)
    all_users = np.load(bundle / "user_ids.npy")
    jobs = np.load(bundle / "job_ids.npy")
    fresh_users = all_users[0::4][:1000]  # get new events, so their requests recalculate
    steady_users = all_users[2::4][:1000]  # none: their requests slice the precomputed lists
    new_users = np.arange(1000, dtype=np.int64) + int(all_users.max()) + 1  # unknown to the model
    seconds = 3 if ctx.quick else 10
    env = {**ctx.service_env(), "RECOMMENDER_EVENTS_PATH": str(ctx.workdir / "bench-events.db")}
    (ctx.workdir / "bench-events.db").unlink(missing_ok=True)

    ingest: dict[int, WrkRun] = {}
    latency: dict[str, WrkRun] = {}
    with Server("main:app", env, ctx.workdir / "events.log") as service:
        service.wait_for("/ready")
        for batch in BATCHES:
            count = max(10, 2000 // batch)
            users = np.concatenate([fresh_users, new_users])
            bodies = _event_bodies(users, jobs, batch, count, seed=batch)
            script = _events_script(ctx.workdir / f"events-{batch}.lua", bodies)
            ingest[batch] = run_ = _wrk(service.url + "/events/", script, seconds)
            say(f"events: batches of {batch}: {run_.requests_per_s * batch:,.0f} events/s")
        path = "/recommend/jobs_single_user/"
        for name, users in (
            ("recalculated", fresh_users),
            ("precomputed", steady_users),
            ("new user, recalculated", new_users),
        ):
            script = lua_script(ctx.workdir / "latency.lua", "user_id", users.tolist())
            _wrk(service.url + path, script, 1, connections=1)  # warm-up
            latency[name] = got = _wrk(service.url + path, script, seconds, connections=1)
            say(f"events: {name}: {got.cell()}")
        sources = {
            name: service_source(service.url, int(users[0]))
            for name, users in (
                ("recalculated", fresh_users),
                ("precomputed", steady_users),
                ("new user, recalculated", new_users),
            )
        }

    single = ingest[1].requests_per_s
    setting = f"wrk -t1 -c{CONNECTIONS} -d{seconds}s"
    rows = [
        Row(
            f"`POST /events`, {batch} event{'s' if batch > 1 else ''} per request ({setting})",
            f"{ingest[batch].requests_per_s * batch:,.0f} events/s "
            f"({ingest[batch].requests_per_s:,.0f} req/s, p50 {ingest[batch].p50_ms:.1f} ms)",
            f"1 per request: {single:,.0f} events/s",
            f"{ingest[batch].requests_per_s * batch / single:.1f}×",
        )
        for batch in BATCHES
    ]
    base = latency["precomputed"]
    rows += [
        Row(
            f"`jobs_single_user`, {name} (`source` {sources[name]!r}; wrk -c1 -d{seconds}s)",
            run_.cell(),
            f"precomputed: {base.cell()}",
            f"p50 {run_.p50_ms / base.p50_ms:.1f}× precomputed",
        )
        for name, run_ in latency.items()
        if name != "precomputed"
    ]
    failures = sum(r.non_2xx + r.socket_errors for r in [*ingest.values(), *latency.values()])
    rows.append(Row("non-2xx / socket errors", str(failures), "", ""))
    return Result(
        "events",
        rows=rows,
        raw={
            "ingest": {str(b): r.__dict__ for b, r in ingest.items()},
            "latency": {k: r.__dict__ for k, r in latency.items()},
            "sources": sources,
        },
    )


def service_source(url: str, user_id: int) -> str:
    """The ``source`` the service answers for one user (checks each path is the one measured)."""
    import httpx

    answer = httpx.post(
        url + "/recommend/jobs_single_user/", json={"user_id": user_id, "n": 10}, timeout=10
    )
    answer.raise_for_status()
    source: str = answer.json()["source"]
    return source
