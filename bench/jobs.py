"""jobs: posting jobs to the real service, and what 10,000 posted jobs cost its answers.

The service trained on the bench data serves; 1,000 jobs are posted one a request, then 9,000 in
requests of 100 (each answered only once committed and laid over the model). The single-user and
similar-jobs endpoints are measured with wrk before and after, on the same server: while jobs
posted since training exist, users' lists are scored at request time (the lists ranked after
training know none of them), which is the cost measured here.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from bench.common import Context, Result, Row, say
from bench.http_load import lua_script, measure
from bench.server import Server

SINGLE, BATCHED, BATCH = 1_000, 9_000, 100
FIRST_ID = 900_000_000


def _postings(ctx: Context, count: int) -> list[dict[str, Any]]:
    """New jobs with the texts and fields of the listed ones, under new ids."""
    lines = (ctx.data_dir / "jobs.jsonl").read_text().splitlines()
    listed = [json.loads(line) for line in lines[: min(len(lines), 5_000)]]
    return [
        {**listed[i % len(listed)], "job_id": FIRST_ID + i, "expires_at": None}
        for i in range(count)
    ]


def run(ctx: Context) -> Result:
    single, batched = (100, 900) if ctx.quick else (SINGLE, BATCHED)
    jobs = _postings(ctx, single + batched)
    users = lua_script(ctx.workdir / "jobs-users.lua", "user_id", ctx.user_ids)
    similar = lua_script(ctx.workdir / "jobs-similar.lua", "job_id", ctx.job_ids)
    env = {
        **ctx.service_env(),
        "RECOMMENDER_JOBS_OPEN": "true",
        "RECOMMENDER_EVENTS_PATH": str(ctx.workdir / "jobs-events.sqlite3"),
        "RECOMMENDER_WATCH_INTERVAL_SECONDS": "0",
    }
    (ctx.workdir / "jobs-events.sqlite3").unlink(missing_ok=True)
    with Server("main:app", env, ctx.workdir / "jobs.log") as server:
        server.wait_for("/recommend/jobs_single_user/", {"user_id": ctx.user_ids[0], "n": 10})
        before = {
            "single": measure(ctx, server, "/recommend/jobs_single_user/", users),
            "similar": measure(ctx, server, "/recommend/find_similar_jobs/", similar),
        }
        with httpx.Client(base_url=server.url, timeout=120.0) as client:
            started = time.perf_counter()
            for job in jobs[:single]:
                client.post("/jobs", json={"jobs": [job]}).raise_for_status()
            one_each = time.perf_counter() - started
            started = time.perf_counter()
            for at in range(single, len(jobs), BATCH):
                client.post("/jobs", json={"jobs": jobs[at : at + BATCH]}).raise_for_status()
            in_batches = time.perf_counter() - started
            posted = client.post(
                "/recommend/find_similar_jobs/", json={"job_id": jobs[-1]["job_id"], "n": 10}
            ).json()
        say(f"jobs: {single} one a request in {one_each:.1f} s, {batched} in {in_batches:.1f} s")
        after = {
            "single": measure(ctx, server, "/recommend/jobs_single_user/", users),
            "similar": measure(ctx, server, "/recommend/find_similar_jobs/", similar),
        }
    rows = [
        Row(f"posting {single:,} jobs, one a request", f"{single / one_each:,.0f} jobs/s", "", ""),
        Row(
            f"posting {batched:,} jobs, {BATCH} a request",
            f"{batched / in_batches:,.0f} jobs/s",
            "",
            "",
        ),
        Row(
            "a posted job's similar jobs",
            f"source {posted['source']}, {len(posted['jobs'])} jobs",
            "",
            "",
        ),
    ]
    for name, label in (("single", "`jobs_single_user`"), ("similar", "`find_similar_jobs`")):
        b, a = before[name], after[name]
        rows.append(
            Row(
                f"{label} with {len(jobs):,} posted jobs (before → after)",
                f"{a.cell()}",
                f"{b.cell()}",
                f"{a.requests_per_s / b.requests_per_s:.2f}× throughput",
            )
        )
    raw = {
        "posted": len(jobs),
        "one_each_jobs_per_s": single / one_each,
        "batched_jobs_per_s": batched / in_batches,
        "before": {k: vars(v) for k, v in before.items()},
        "after": {k: vars(v) for k, v in after.items()},
    }
    return Result("jobs", rows, raw)
