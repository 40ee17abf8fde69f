"""workers: the single-user endpoint with 1 and 2 uvicorn worker processes, and their memory.

Bundles are memory-mapped, so the workers share one copy of the arrays in the page cache. For
each worker this reads ``/proc/<pid>/smaps``: its RSS and PSS, and how much of its RSS is the
bundle's files (shared). The memory memory-mapping saves is that shared part times the workers
beyond the first: without it each worker would hold a private copy.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.common import Context, Result, Row, say
from bench.http_load import CONNECTIONS, WrkRun, lua_script, wrk
from bench.server import Server

MIB = 1024 * 1024


@dataclass(frozen=True)
class WorkerMemory:
    pid: int
    rss_mib: float
    pss_mib: float
    bundle_rss_mib: float


def _workers(pid: int) -> list[int]:
    """uvicorn's worker processes under ``pid`` (not multiprocessing's resource tracker)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            command = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"resource_tracker" not in command:
                found.append(int(child))
    return found


def _memory(pid: int, bundle_dir: Path) -> WorkerMemory:
    rss = pss = bundle = 0
    in_bundle = False
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if not fields:
            continue
        if not fields[0].endswith(":"):  # a mapping's header: address perms offset dev inode path
            in_bundle = len(fields) >= 6 and fields[5].startswith(str(bundle_dir))
            continue
        if fields[0] == "Rss:":
            kib = int(fields[1])
            rss += kib
            if in_bundle:
                bundle += kib
        elif fields[0] == "Pss:":
            pss += int(fields[1])
    return WorkerMemory(pid, rss / 1024, pss / 1024, bundle / 1024)


def _serve(ctx: Context, workers: int, script: Path) -> tuple[WrkRun, list[WorkerMemory]]:
    args = ["--workers", str(workers)]
    with Server("main:app", ctx.service_env(), ctx.workdir / f"w{workers}.log", args) as server:
        first = {"user_id": ctx.user_ids[0], "n": 10}
        server.wait_for("/recommend/jobs_single_user/", first)
        time.sleep(1.0)  # every worker up, not only the first to answer
        url = server.url + "/recommend/jobs_single_user/"
        wrk(url, script, 2 if ctx.quick else 5)  # warm-up: every worker maps the bundle
        run = wrk(url, script, 5 if ctx.quick else 15)
        from recommender.bundle.directory import current_version

        bundle_dir = (ctx.model_dir / current_version(ctx.model_dir)).resolve()
        pids = _workers(server.pid) if workers > 1 else [server.pid]
        memory = [_memory(pid, bundle_dir) for pid in pids]
    say(f"workers: {workers}: {run.cell()}; RSS {[round(m.rss_mib) for m in memory]} MiB")
    return run, memory


def run(ctx: Context) -> Result:
    script = lua_script(ctx.workdir / "workers.lua", "user_id", ctx.user_ids)
    one, one_mem = _serve(ctx, 1, script)
    two, two_mem = _serve(ctx, 2, script)
    shared = max(m.bundle_rss_mib for m in two_mem)
    seconds = 5 if ctx.quick else 15
    setting = f"wrk -t1 -c{CONNECTIONS} -d{seconds}s"

    def memory(mems: list[WorkerMemory]) -> str:
        return "; ".join(
            f"RSS {m.rss_mib:,.0f} MiB (PSS {m.pss_mib:,.0f}, bundle {m.bundle_rss_mib:,.0f})"
            for m in mems
        )

    return Result(
        "workers",
        rows=[
            Row(
                f"`jobs_single_user`, 2 workers ({setting})",
                two.cell(),
                f"1 worker: {one.cell()}",
                f"{two.requests_per_s / one.requests_per_s:.2f}×",
            ),
            Row(
                "memory per worker, 2 workers", memory(two_mem), f"1 worker: {memory(one_mem)}", ""
            ),
            Row(
                "memory-mapping saves (bundle pages shared by the 2nd worker)",
                f"{shared:,.0f} MiB",
                "",
                "",
            ),
            Row(
                "non-2xx / socket errors",
                f"{one.non_2xx + two.non_2xx}/{one.socket_errors + two.socket_errors}",
                "",
                "",
            ),
        ],
        raw={
            "one": asdict(one),
            "two": asdict(two),
            "memory_one": [asdict(m) for m in one_mem],
            "memory_two": [asdict(m) for m in two_mem],
            "wrk": setting,
        },
    )
