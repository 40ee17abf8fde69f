"""``train --engine spark``: the options only the Spark engine reads, and its run."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from recommender.cli.evaluation_commands import column_mapping
from recommender.models.base import Progress
from recommender.settings import Settings

if TYPE_CHECKING:
    from recommender.training.run import TrainResult


def check_engine_options(args: argparse.Namespace) -> None:
    """Refuse ``--master`` without ``--engine spark`` (a column mapping applies to both)."""
    if getattr(args, "engine", "implicit") == "spark":
        return
    if getattr(args, "master", None) is not None:
        raise SystemExit("error: --master applies to --engine spark")


def train_on_spark(args: argparse.Namespace, settings: Settings, progress: Progress) -> TrainResult:
    """Train ``spark-als`` with Spark on ``--data`` (default: the data directory setting)."""
    from recommender.models.spark.session import require_pyspark

    require_pyspark()  # before anything else, with what to install
    from recommender.spark.train import train_spark

    if args.master is not None:
        spark = settings.spark.model_copy(update={"master": args.master})
        settings = settings.model_copy(update={"spark": spark})
    data = args.data or settings.data_store or str(settings.data_dir)
    return train_spark(
        settings,
        data,
        model_dir=settings.model_dir,
        mapping=column_mapping(args),
        window=args.window,
        skip_invalid=args.skip_invalid,
        progress=progress,
    )
