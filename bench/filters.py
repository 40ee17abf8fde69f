"""filters: the single-user endpoint with a filter on the jobs' city, and a deep page, against
no filter, under wrk in the same run (taking turns); and the same requests in-process."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import polars as pl

from bench.common import Context, Result, Row, median, say, timed
from bench.http_load import CONNECTIONS, LUA, WrkRun, measure
from bench.server import Server
from recommender.bundle.files import load_bundle
from recommender.ranking.rules import Rules
from recommender.recommender import Recommender

PATH = "/recommend/jobs_single_user/"
ROUNDS = 2
"""wrk runs of each request kind, in turns, the best kept (the machine is shared and noisy)."""
LOOPS = 3


def cities(data_dir: Path) -> tuple[str, float, str, float]:
    """The data's most common job city and one near the median, with their shares of the jobs."""
    jobs = data_dir / "jobs.jsonl"
    if not jobs.is_file():
        raise RuntimeError(f"filters: {jobs} is missing: the benchmark filters on the jobs' city")
    city = pl.read_ndjson(jobs).get_column("city", default=None)
    if city is None:
        raise RuntimeError(f"filters: the jobs of {jobs} name no city (demo data does)")
    counts = city.value_counts(sort=True, normalize=True)
    big, small = counts.row(0), counts.row(counts.height // 2)
    return big[0], big[1], small[0], small[1]


def script(path: Path, ids: list[int], extra: Mapping[str, Any]) -> Path:
    """A wrk script POSTing ``{"user_id": id, "n": 10, **extra}`` for each id in turn."""
    bodies = (json.dumps({"user_id": i, "n": 10, **extra}) for i in ids)
    path.write_text(LUA % ",\n".join(f"'{body}'" for body in bodies))
    return path


def run(ctx: Context) -> Result:
    big, big_share, small, small_share = cities(ctx.data_dir)
    kinds: dict[str, dict[str, Any]] = {
        "none": {},
        "big": {"filters": {"city": [big]}},
        "small": {"filters": {"city": [small]}},
        "page": {"offset": 90},
    }
    scripts = {
        k: script(ctx.workdir / f"filters-{k}.lua", ctx.user_ids, e) for k, e in kinds.items()
    }
    runs: dict[str, list[WrkRun]] = {k: [] for k in kinds}
    with Server("main:app", ctx.service_env(), ctx.workdir / "service.log") as service:
        service.wait_for(PATH, {"user_id": ctx.user_ids[0], "n": 10})
        for round_ in range(ROUNDS):
            order = list(kinds) if round_ % 2 == 0 else list(reversed(kinds))
            for kind in order:
                runs[kind].append(measure(ctx, service, PATH, scripts[kind]))
    best = {k: max(r, key=lambda run: run.requests_per_s) for k, r in runs.items()}
    inproc = _in_process(ctx, {k: e for k, e in kinds.items() if k != "page"}, big)

    seconds = 5 if ctx.quick else 15
    setting = f"wrk -t1 -c{CONNECTIONS} -d{seconds}s, best of {ROUNDS} in turns"
    plain = best["none"]

    def ratio(kind: str) -> str:
        return f"{best[kind].requests_per_s / plain.requests_per_s:.2f} of no filter"

    failures = ", ".join(f"{k} {r.non_2xx}/{r.socket_errors}" for k, r in best.items())
    return Result(
        "filters",
        rows=[
            Row(
                f"`jobs_single_user`, `city` {big} ({big_share:.0%} of jobs), "
                f"{len(ctx.user_ids)} users in turn ({setting})",
                best["big"].cell(),
                f"no filter: {plain.cell()}",
                ratio("big"),
            ),
            Row(
                f"the same, `city` {small} ({small_share:.0%} of jobs)",
                best["small"].cell(),
                f"no filter: {plain.cell()}",
                ratio("small"),
            ),
            Row(
                "the same, no filter, page 10 (`offset` 90)",
                best["page"].cell(),
                f"page 1: {plain.cell()}",
                f"{best['page'].requests_per_s / plain.requests_per_s:.2f} of page 1",
            ),
            Row(
                f"in-process `recommend`, {len(ctx.user_ids)} users (median of {LOOPS} loops)",
                f"`city` {big}: {inproc['big']:.0f} µs, {small}: {inproc['small']:.0f} µs",
                f"no filter: {inproc['none']:.0f} µs",
                f"{inproc['small'] / inproc['none']:.1f}× its time ({small})",
            ),
            Row(
                "first request naming `city` (codes the field once)",
                f"{inproc['first_ms']:.1f} ms",
                "",
                "",
            ),
            Row("non-2xx / socket errors", failures, "", ""),
        ],
        raw={k: [asdict(r) for r in rs] for k, rs in runs.items()}
        | {"in_process_us": inproc, "cities": {big: big_share, small: small_share}},
    )


def _in_process(
    ctx: Context, kinds: Mapping[str, Mapping[str, Any]], city: str
) -> dict[str, float]:
    """Microseconds per ``recommend`` call of each kind (median over loops of every user), and
    the milliseconds of the first call naming the ``city`` field."""
    recommender = Recommender(load_bundle(ctx.model_dir))
    first_ms = (
        timed(lambda: recommender.recommend(ctx.user_ids[0], 10, rules=_rules({"city": [city]})))
        * 1e3
    )
    per_call: dict[str, float] = {"first_ms": first_ms}
    for kind, extra in kinds.items():
        filters = extra.get("filters")

        def loop(filters: Mapping[str, list[str]] | None = filters) -> None:
            for user in ctx.user_ids:
                recommender.recommend(user, 10, rules=_rules(filters))

        loop()
        per_call[kind] = median(timed(loop) for _ in range(LOOPS)) / len(ctx.user_ids) * 1e6
    say(f"filters: in-process {per_call}")
    return per_call


def _rules(filters: Mapping[str, list[str]] | None) -> Rules:
    return Rules.at_now(filters=filters)
