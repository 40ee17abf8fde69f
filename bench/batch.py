"""batch: 1,000 users in one request, over HTTP and in-process, vs 1,000 single-user calls."""

from __future__ import annotations

import httpx
import orjson

from bench.common import Context, Result, Row, median, p95, say, timed
from bench.server import Server
from recommender.bundle.files import load_bundle
from recommender.recommender import Recommender

PATH = "/recommend/jobs_multiple_users/"
WARMUP = 3
REQUESTS = 30
LOOPS = 5


def run(ctx: Context) -> Result:
    ids = ctx.user_ids
    body = orjson.dumps({"user_ids": ids, "n": 10})
    recommender = Recommender(load_bundle(ctx.model_dir))
    headers = {"Content-Type": "application/json"}
    with (
        Server("main:app", ctx.service_env(), ctx.workdir / "service.log") as service,
        httpx.Client(base_url=service.url, headers=headers, timeout=60.0) as client,
    ):
        service.wait_for()

        def post() -> httpx.Response:
            return client.post(PATH, content=body).raise_for_status()

        def many() -> None:
            recommender.recommend_many(ids, 10)

        for _ in range(WARMUP):
            if len(post().json()) != len(ids):
                raise AssertionError("the batch answer does not hold one list per user")
            many()
        # In turns, so that both see the same moments of a noisy machine.
        http_ms: list[float] = []
        many_ms: list[float] = []
        for _ in range(REQUESTS):
            http_ms.append(timed(post) * 1e3)
            many_ms.append(timed(many) * 1e3)
    loop_ms = [
        timed(lambda: [recommender.recommend(u, 10) for u in ids]) * 1e3 for _ in range(LOOPS)
    ]
    http, inproc, loop = median(http_ms), median(many_ms), median(loop_ms)
    say(f"batch: HTTP {http:.1f} ms, in-process {inproc:.1f} ms, loop {loop:.1f} ms")
    return Result(
        "batch",
        rows=[
            Row(
                f"`jobs_multiple_users`, {len(ids)} users, n=10 ({REQUESTS} requests in a row)",
                f"median {http:.1f} ms, p95 {p95(http_ms):.1f} ms",
                f"in-process `recommend_many`: median {inproc:.1f} ms, p95 {p95(many_ms):.1f} ms",
                f"server adds {http - inproc:.1f} ms ({http / inproc:.2f}× in-process)",
            ),
            Row(
                f"in-process, {len(ids)} users in one call",
                f"`recommend_many`: {inproc:.1f} ms",
                f"{len(ids)} × `recommend`: {loop:.1f} ms (median of {LOOPS})",
                f"{loop / inproc:.1f}× faster batched",
            ),
        ],
        raw={"http_ms": http_ms, "recommend_many_ms": many_ms, "recommend_loop_ms": loop_ms},
    )
