"""``python -m recommender``: thin commands over the same functions the API and the tests call."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from recommender.errors import RecommenderError
from recommender.settings import get_settings

log = logging.getLogger("recommender")


def _train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from recommender.service import train_directory

    settings = get_settings()
    data_dir = Path(args.data or settings.data_dir)
    model_dir = Path(args.out or settings.model_dir)
    with tqdm(total=settings.als.iterations, desc="ALS", unit="it", disable=args.quiet) as bar:

        def progress(done: int, loss: float | None) -> None:
            bar.update(done - bar.n)
            if loss is not None:
                bar.set_postfix(loss=f"{loss:.5f}")

        result = train_directory(
            settings,
            data_dir=data_dir,
            model_dir=model_dir,
            skip_invalid=args.skip_invalid,
            progress=progress,
        )
    for report in result.reports:
        print(report.summary())
    counts = result.trained.info["counts"]
    print(
        f"trained {result.trained.model.kind} on {counts['users']} users × {counts['jobs']} jobs "
        f"({counts['interactions']} pairs) in {result.seconds:.1f} s → {result.bundle_dir}"
    )
    return 0


def _generate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from recommender.data.demo import generate_demo_data

    with tqdm(desc="activity lines", unit=" lines", disable=args.quiet) as bar:

        def progress(lines: int) -> None:
            bar.update(lines - bar.n)

        summary = generate_demo_data(
            Path(args.out), seed=args.seed, scale=args.scale, progress=progress
        )
    print(
        f"wrote {summary.activity_lines} activity lines ({summary.impressions} impressions, "
        f"{summary.redirects} redirects), {summary.jobs} jobs and {summary.users} users "
        f"({summary.active_users} active) to {args.out}"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m recommender``."""
    parser = argparse.ArgumentParser(prog="python -m recommender", description=__doc__)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a model on a data directory and write a bundle")
    train.add_argument(
        "--data", type=Path, help="directory with activities.jsonl (default: setting)"
    )
    train.add_argument("--out", type=Path, help="model directory to write the bundle to")
    train.add_argument(
        "--skip-invalid",
        action="store_true",
        help="skip invalid lines (counted) instead of failing",
    )
    train.set_defaults(func=_train)

    demo = sub.add_parser("generate-demo-data", help="write realistic synthetic data")
    demo.add_argument("--out", type=Path, default=Path("dataset"), help="output directory")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--scale", type=float, default=1.0, help="size multiplier (default 1.0)")
    demo.set_defaults(func=_generate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; domain errors become a one-line message and exit code 1."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("implicit").setLevel(logging.WARNING)  # it logs every iteration's loss
    try:
        code: int = args.func(args)
    except RecommenderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return code
