"""http: the single-user and similar-jobs endpoints under wrk, vs a bare FastAPI app."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.common import Context, Result, Row, say
from bench.server import Server

CONNECTIONS = 16
LUA = """-- POST a JSON body, rotating over known ids so that no single answer is cached.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {
%s
}
local i = 0
request = function()
  i = i %% #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
"""
TO_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


@dataclass(frozen=True)
class WrkRun:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int

    def cell(self) -> str:
        return (
            f"{self.requests_per_s:,.0f} req/s, p50 {self.p50_ms:.2f} ms, p99 {self.p99_ms:.2f} ms"
        )


def lua_script(path: Path, field: str, ids: list[int]) -> Path:
    """A wrk script POSTing ``{field: id, "n": 10}`` for each id in turn."""
    path.write_text(LUA % ",\n".join(f'\'{{"{field}":{i},"n":10}}\'' for i in ids))
    return path


def parse(text: str) -> WrkRun:
    """The figures of ``wrk --latency`` output."""

    def number(pattern: str, default: str | None = None) -> str:
        found = re.search(pattern, text, re.MULTILINE)
        if found is None:
            if default is None:
                raise ValueError(f"no {pattern!r} in wrk's output:\n{text}")
            return default
        return found.group(1)

    def latency(percent: int) -> float:
        found = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.MULTILINE)
        if found is None:
            raise ValueError(f"no {percent}% latency in wrk's output:\n{text}")
        return float(found.group(1)) * TO_MS[found.group(2)]

    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    return WrkRun(
        requests_per_s=float(number(r"^Requests/sec:\s+([\d.]+)")),
        p50_ms=latency(50),
        p99_ms=latency(99),
        requests=int(number(r"^\s*(\d+) requests in")),
        non_2xx=int(number(r"Non-2xx or 3xx responses: (\d+)", "0")),
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


def wrk(url: str, script: Path, seconds: int) -> WrkRun:
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(script)]
    done = subprocess.run([*command, url], capture_output=True, text=True, check=True)
    return parse(done.stdout)


def measure(ctx: Context, server: Server, path: str, script: Path) -> WrkRun:
    """A short warm-up, then the measured run."""
    seconds = 5 if ctx.quick else 15
    wrk(server.url + path, script, 1 if ctx.quick else 3)
    run = wrk(server.url + path, script, seconds)
    say(f"http: {path}: {run.cell()}")
    return run


def run(ctx: Context) -> Result:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    users = lua_script(ctx.workdir / "users.lua", "user_id", ctx.user_ids)
    jobs = lua_script(ctx.workdir / "jobs.lua", "job_id", ctx.job_ids)
    first_user = {"user_id": ctx.user_ids[0], "n": 10}

    with Server("bench.bare_app:app", ctx.service_env(), ctx.workdir / "bare.log") as bare:
        bare.wait_for("/async/", first_user)
        bare_async = measure(ctx, bare, "/async/", users)
        bare_def = measure(ctx, bare, "/def/", users)
    with Server("main:app", ctx.service_env(), ctx.workdir / "service.log") as service:
        service.wait_for("/recommend/jobs_single_user/", first_user)
        single = measure(ctx, service, "/recommend/jobs_single_user/", users)
        similar = measure(ctx, service, "/recommend/find_similar_jobs/", jobs)

    seconds = 5 if ctx.quick else 15
    setting = f"wrk -t1 -c{CONNECTIONS} -d{seconds}s"
    runs = {"single": single, "similar": similar, "bare_async": bare_async, "bare_def": bare_def}
    failures = ", ".join(f"{k} {r.non_2xx}/{r.socket_errors}" for k, r in runs.items())
    return Result(
        "http",
        rows=[
            Row(
                f"`jobs_single_user`, {len(ctx.user_ids)} users in turn ({setting})",
                single.cell(),
                f"bare `async def` + orjson: {bare_async.cell()}",
                f"{single.requests_per_s / bare_async.requests_per_s:.2f} of bare async",
            ),
            Row(
                "`jobs_single_user` vs a plain `def` endpoint",
                single.cell(),
                f"bare `def` + response model: {bare_def.cell()}",
                f"{single.requests_per_s / bare_def.requests_per_s:.2f} of bare def",
            ),
            Row(
                f"`find_similar_jobs`, {len(ctx.job_ids)} jobs in turn ({setting})",
                similar.cell(),
                f"bare `async def` + orjson: {bare_async.cell()}",
                f"{similar.requests_per_s / bare_async.requests_per_s:.2f} of bare async",
            ),
            Row("non-2xx / socket errors", failures, "", ""),
        ],
        raw={k: asdict(r) for k, r in runs.items()} | {"wrk": setting},
    )
