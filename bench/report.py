"""The machine a run was on, and the Markdown table the README takes."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench.common import REPO, Result

LIBRARIES = ("numpy", "scipy", "implicit", "fastapi", "uvicorn")


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _ram_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 2**20
    return 0.0


def _wrk_version() -> str:
    try:
        done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return "not installed"
    return done.stdout.split(" [", 1)[0].removeprefix("wrk ").strip()


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


def _commit() -> str:
    """The commit measured, marked when the service's code has uncommitted changes."""
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    changed = _git("status", "--porcelain", "--", "recommender", "main.py")
    return f"{commit} + uncommitted changes" if changed else commit


def machine() -> dict[str, str]:
    """What the figures depend on: CPU, cores, RAM, Python and library versions, date."""
    return {
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "ram": f"{_ram_gib():.1f} GiB",
        "python": platform.python_version(),
        **{name: metadata.version(name) for name in LIBRARIES},
        "wrk": _wrk_version(),
        "commit": _commit(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def markdown(info: dict[str, str], results: list[Result], command: str) -> str:
    """A header naming the machine, then one table row per figure."""
    libraries = ", ".join(f"{name} {info[name]}" for name in LIBRARIES)
    lines = [
        f"Benchmarks: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM, "
        f"Python {info['python']}, {libraries}, wrk {info['wrk']}; {info['date']}, "
        f"commit {info['commit']}.",
        f"`{command}`; each ratio compares with a reference measured in the same run.",
        "",
        "| Benchmark | Measure | Ours | Reference | Ratio |",
        "| --- | --- | --- | --- | --- |",
    ]
    for result in results:
        for row in result.rows:
            cells = (result.name, row.measure, row.ours, row.reference, row.ratio)
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
