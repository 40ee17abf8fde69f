"""startup: from starting uvicorn (bundle present) to the first answers, vs the bare app."""

from __future__ import annotations

from bench.common import Context, Result, Row, median, say, timed
from bench.server import Server
from recommender.bundle.files import load_bundle

RUNS = 3
SINGLE = "/recommend/jobs_single_user/"


def run(ctx: Context) -> Result:
    env = ctx.service_env()
    body = {"user_id": ctx.user_ids[0], "n": 10}
    health: list[float] = []
    first: list[float] = []
    bare_health: list[float] = []
    bare_first: list[float] = []
    for _ in range(RUNS):
        with Server("main:app", env, ctx.workdir / "service.log") as service:
            health.append(service.wait_for("/health"))
            first.append(service.wait_for(SINGLE, body))
        with Server("bench.bare_app:app", env, ctx.workdir / "bare.log") as bare:
            bare_health.append(bare.wait_for("/health"))
            bare_first.append(bare.wait_for("/async/", body))
    loads = [timed(lambda: load_bundle(ctx.model_dir)) for _ in range(RUNS)]
    up, answer, bare_up, bare_answer = map(median, (health, first, bare_health, bare_first))
    load = median(loads)
    say(f"startup: /health {up:.2f} s, first recommendation {answer:.2f} s")
    return Result(
        "startup",
        rows=[
            Row(
                f"start → first 200 from `/health` (median of {RUNS})",
                f"{up:.2f} s",
                f"bare app: {bare_up:.2f} s",
                f"{up / bare_up:.1f}× the bare app",
            ),
            Row(
                "start → first 200 from `jobs_single_user`",
                f"{answer:.2f} s",
                f"bare app `/async/`: {bare_answer:.2f} s",
                f"{answer / bare_answer:.1f}× the bare app",
            ),
            Row(
                f"in-process `load_bundle` (median of {RUNS})",
                f"{load * 1e3:.0f} ms",
                "",
                f"{load / up:.0%} of the service's start",
            ),
        ],
        raw={
            "health_seconds": health,
            "first_recommendation_seconds": first,
            "bare_health_seconds": bare_health,
            "bare_first_seconds": bare_first,
            "load_bundle_seconds": loads,
        },
    )
