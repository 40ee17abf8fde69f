"""``python -m recommender``: thin commands over the same functions the API and the tests call."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from recommender.cli import data_commands, evaluation_commands, service_commands
from recommender.cli.types import duration, number
from recommender.errors import RecommenderError

log = logging.getLogger("recommender")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m recommender``."""
    parser = argparse.ArgumentParser(prog="python -m recommender", description=__doc__)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    parser.add_argument(
        "--env-file",
        type=Path,
        help="read RECOMMENDER_* settings from this file instead of .env (e.g. one `tune` wrote)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser(
        "train", help="train a model on a data directory or a log file and write a bundle"
    )
    train.add_argument(
        "--data",
        help="directory with activities.jsonl, local or s3://bucket/prefix (default: setting), "
        "or a CSV/TSV/Parquet/JSONL log file (see the column mapping); with --engine spark "
        "also an s3a:// or hdfs:// URL",
    )
    train.add_argument(
        "--out", help="model directory to write the bundle to, local or s3://bucket/prefix"
    )
    train.add_argument(
        "--skip-invalid",
        action="store_true",
        help="skip invalid lines (counted) instead of failing",
    )
    train.add_argument(
        "--window",
        type=duration,
        help="train on the last stretch of activity only, e.g. 90d, 12h or 2w (default: setting)",
    )
    train.add_argument(
        "--keep",
        type=number(int, 1),
        help="then delete all but the newest KEEP bundles; CURRENT and the bundle it replaced "
        "always stay (default: setting keep_bundles, 5)",
    )
    train.add_argument(
        "--model",
        help="train this model with its settings, without selection (default: setting model; "
        "'auto' selects one on a validation split of the log)",
    )
    train.add_argument(
        "--engine",
        choices=("implicit", "spark"),
        default="implicit",
        help="implicit: read, score and fit here (default); spark: read, score and fit ALS with "
        "Spark (needs requirements-spark.txt), writing the same bundle",
    )
    train.add_argument(
        "--master",
        help="Spark master URL for --engine spark, e.g. local[4] or yarn "
        "(default: spark-submit's, else local[2])",
    )
    evaluation_commands.add_mapping_options(train)
    train.set_defaults(func=service_commands.train)

    demo = sub.add_parser("generate-demo-data", help="write realistic synthetic data")
    demo.add_argument("--out", type=Path, default=Path("dataset"), help="output directory")
    demo.add_argument("--seed", type=number(int, 0), default=0, help="random seed (default 0)")
    demo.add_argument(
        "--scale", type=number(float, 0, open_low=True), default=1.0, help="size (default 1.0)"
    )
    demo.set_defaults(func=service_commands.generate_demo_data)

    prepare = sub.add_parser(
        "prepare", help="generate demo data if the data directory has none, train if no model"
    )
    prepare.set_defaults(func=service_commands.prepare)
    evaluation_commands.add_commands(sub)
    data_commands.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; domain errors become a one-line message and exit code 1."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("implicit").setLevel(logging.WARNING)  # it logs every iteration's loss
    logging.getLogger("py4j").setLevel(logging.WARNING)  # Spark's gateway logs its connections
    try:
        code: int = args.func(args)
    except RecommenderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # the system refused a file (permissions, a full disk): one line too
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except ValidationError as exc:  # a RECOMMENDER_* variable or .env line out of bounds
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        print(f"error: invalid settings: {problems}", file=sys.stderr)
        return 2
    return code
