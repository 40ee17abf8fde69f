"""``python -m bench [--data DIR] [--only NAME[,NAME]] [--quick]``: run, print, save figures."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bench import (
    audience,
    batch,
    content,
    evaluation,
    event_store,
    events,
    filters,
    fit,
    http_load,
    jobs,
    load,
    neural,
    quality,
    retrain,
    startup,
    workers,
)
from bench.common import RESULTS, Context, Result, say
from bench.report import machine, markdown

BENCHMARKS: dict[str, Callable[[Context], Result]] = {
    "load": load.run,
    "fit": fit.run,
    "http": http_load.run,
    "batch": batch.run,
    "startup": startup.run,
    "events": events.run,
    "event_store": event_store.run,
    "workers": workers.run,
    "retrain": retrain.run,
    "evaluation": evaluation.run,
    "quality": quality.run,
    "content": content.run,
    "jobs": jobs.run,
    "audience": audience.run,
    "filters": filters.run,
    "neural": neural.run,
}
DEFAULT_DATA = RESULTS / "data"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--data",
        type=Path,
        help=f"directory with activities.jsonl (default: {DEFAULT_DATA}, made if missing)",
    )
    parser.add_argument(
        "--only", help=f"comma-separated benchmarks to run, of: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="short wrk runs and smaller tuning grids, for a smoke test",
    )
    args = parser.parse_args(argv)
    asked = set(args.only.split(",")) if args.only else set(BENCHMARKS)
    unknown = sorted(asked - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    args.names = [name for name in BENCHMARKS if name in asked]
    return args


def demo_data(data: Path | None) -> Path:
    """``--data``, or the default directory, generated (seed 0, scale 1) if it has no data."""
    if data is not None:
        if not (data / "activities.jsonl").is_file():
            raise SystemExit(f"error: no activities.jsonl in {data}")
        return data
    if not (DEFAULT_DATA / "activities.jsonl").is_file():
        from recommender.data.demo import generate_demo_data

        say(f"generating demo data (seed 0, scale 1) in {DEFAULT_DATA} …")
        generate_demo_data(DEFAULT_DATA, seed=0, scale=1.0)
    return DEFAULT_DATA


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send what libraries print (DuckDB's progress bar) to stderr, keeping stdout for the table."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args_given = sys.argv[1:] if argv is None else list(argv)
    command = " ".join(["python -m bench", *map(shlex.quote, args_given)])
    info = machine()
    results: list[Result] = []
    with stdout_to_stderr(), tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        ctx = Context(data_dir=demo_data(args.data), quick=args.quick, workdir=Path(workdir))
        for name in args.names:
            say(f"{name} …")
            results.append(BENCHMARKS[name](ctx))
    RESULTS.mkdir(parents=True, exist_ok=True)
    latest = {
        "command": command,
        "machine": info,
        "data": str(ctx.data_dir),
        "quick": args.quick,
        "results": {r.name: {"rows": [vars(row) for row in r.rows], "raw": r.raw} for r in results},
    }
    (RESULTS / "latest.json").write_text(json.dumps(latest, indent=2) + "\n", encoding="utf-8")
    print(markdown(info, results, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
