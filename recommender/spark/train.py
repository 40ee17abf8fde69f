"""``train --engine spark``: read and score with Spark, fit Spark's ALS, write the same bundle.

The run, step by step:

1. read the inputs into Spark (:mod:`recommender.spark.inputs`) and drop what is older than the
   window;
2. score each (user, job) pair in Spark SQL (:mod:`recommender.spark.scoring`; equal to the local
   scorer) and collect the scored pairs to the driver, which needs them all for the bundle;
3. :func:`recommender.training.fit.fit_pairs` with the ``spark-als`` model: the same id maps (row k
   is the k-th smallest id, as :class:`~recommender.matrix.IdIndex` numbers them), seen jobs,
   popularity, funnel counts and precomputed top lists as local training, the factors fitted by
   Spark's ALS (:mod:`recommender.models.spark.fit`);
4. the catalogue (``jobs.jsonl``, which gives the job rules and the text that Spark MLlib's
   Word2Vec embeds; a local ``users.jsonl``'s profiles) and the provenance, then the end
   every training run shares, :func:`recommender.training.run.finish` (write and publish).

The event store (a local SQLite file of the service) is not read: the bundle records
``events_through`` 0, so a service folds every recorded event in on top of the model.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from recommender.bundle.manifest import DataInfo
from recommender.data.catalogue import Catalogue
from recommender.data.interactions import ColumnMapping
from recommender.data.jsonl import LoadReport
from recommender.data.readers import copy_users
from recommender.data.schema import USERS_FILE
from recommender.errors import EngineUnavailableError, InvalidDataError
from recommender.models.base import Progress
from recommender.models.spark.session import get_session
from recommender.models.spark_als import check_spark_params
from recommender.settings import AUTO, Settings
from recommender.spark.content import spark_word_vectors
from recommender.spark.inputs import SparkInputs, read_inputs
from recommender.spark.scoring import collect_pairs, score_pairs, within_window
from recommender.training.fit import fingerprint_files, fit_pairs
from recommender.training.run import TrainResult, finish

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

SPARK_MODELS = (AUTO, "als", "spark-als")
"""Settings' ``model`` values the Spark engine trains (all as ``spark-als``: it selects no
model, so ``auto`` means ALS with its settings)."""


def train_spark(
    settings: Settings,
    data: str | Path,
    *,
    model_dir: Path | None = None,
    mapping: ColumnMapping | None = None,
    window: timedelta | None = None,
    skip_invalid: bool = False,
    progress: Progress | None = None,
    make_current: bool = True,
) -> TrainResult:
    """Train ``spark-als`` with Spark on a data directory or log and write a bundle.

    Parameters
    ----------
    settings:
        ``als`` (mapped onto Spark's ALS), ``spark`` (master, checkpoints, ``reg_param``),
        ``scoring``, ``seed``, ``precompute_top``; ``model`` must be ``als`` or ``spark-als``.
    data:
        A directory with ``activities.jsonl`` (and optionally ``jobs.jsonl``), or a log file read
        with ``mapping``; a local path or a Hadoop URL (``s3a://``, ``hdfs://``).
    window:
        Train on the activity of this last stretch of time only (``settings.window_days`` when
        None); undated activity is kept.

    Raises
    ------
    EngineUnavailableError
        pyspark is missing or Spark cannot start, ``settings.model`` is not ALS, or ``settings.als``
        asks for what Spark's ALS cannot fit (a frequency-scaled regularisation).
    InvalidDataError
        Bad input, or nothing left to train on.
    """
    if settings.model not in SPARK_MODELS:
        raise EngineUnavailableError(
            f"the Spark engine trains ALS only, not {settings.model!r} "
            "(unset RECOMMENDER_MODEL or set it to als)"
        )
    check_spark_params(settings.als)  # before a session starts
    settings = settings.model_copy(update={"model": "spark-als"})
    if window is None and settings.window_days is not None:
        window = timedelta(days=settings.window_days)
    started = time.perf_counter()
    spark = get_session(settings.spark)
    session_ready = time.perf_counter()
    inputs = read_inputs(spark, str(data), mapping, skip_invalid=skip_invalid)
    events, window_info = _within(inputs.events, window, datetime.now(UTC))
    read = time.perf_counter()
    pairs = collect_pairs(score_pairs(events, settings.scoring))
    scored = time.perf_counter()
    if len(pairs) == 0:
        raise InvalidDataError("no (user, job) pair has a positive score: nothing to train on")
    jobs = _jobs_frame(inputs)
    with tempfile.TemporaryDirectory(prefix="recommender-spark-") as listings:
        # the profiles of a local users.jsonl, checked as local training checks them; the
        # bundle copies their Parquet file when it is written (in finish, inside this block)
        users, users_report = _users(inputs, Path(listings), skip_invalid)
        catalogue = Catalogue(jobs, users)
        trained = fit_pairs(
            pairs,
            settings,
            catalogue=catalogue,
            progress=progress,
            word_vectors=("spark", spark_word_vectors(spark)),
        )
        spark.catalog.clearCache()  # the validated inputs were cached for counting and scoring
        trained.manifest.data = DataInfo(
            source=str(data),
            fingerprint=fingerprint_files(inputs.local_files) if inputs.local_files else None,
            activity_lines=window_info.pop("lines"),
            catalogue_jobs=jobs.height if jobs is not None else None,
            profile_users=catalogue.user_count(),
            unlisted_jobs=catalogue.unlisted(trained.jobs.ids),
            event_lines=0,
            events_through=0,
            **window_info,
        )
        trained.manifest.engine = _engine_info(spark, session_ready - started)
        return finish(
            trained,
            settings,
            reports=(*inputs.reports, *users_report),
            started=started,
            timings={
                "session_seconds": round(session_ready - started, 4),
                "read_seconds": round(read - session_ready, 4),
                "score_seconds": round(scored - read, 4),
            },
            model_dir=model_dir,
            make_current=make_current,
        )


def _users(
    inputs: SparkInputs, directory: Path, skip_invalid: bool
) -> tuple[Path | None, tuple[LoadReport, ...]]:
    """A local ``users.jsonl`` beside the activities (the only kind the inputs list), checked
    into a Parquet file in ``directory``; None without one."""
    found = next((p for p in inputs.local_files if p.name == USERS_FILE), None)
    if found is None:
        return None, ()
    out = directory / "users.parquet"
    return out, (copy_users(found, out, skip_invalid=skip_invalid),)


def _within(
    events: DataFrame, window: timedelta | None, now: datetime
) -> tuple[DataFrame, dict[str, Any]]:
    """The events in the window, and what it kept (``lines``) and dropped."""
    total = events.count()
    if window is None:
        return events, {"lines": total, "window_days": None}
    start = now - window
    days = round(window / timedelta(days=1), 4)
    kept = within_window(events, window, now)
    lines = kept.count()
    if lines == 0:
        raise InvalidDataError(
            f"no activity in the last {days:g} days (since {start:%Y-%m-%d %H:%M}Z) to train on"
        )
    return kept, {
        "lines": lines,
        "window_days": days,
        "window_start": start.isoformat(timespec="seconds"),
        "window_dropped_lines": total - lines,
    }


def _jobs_frame(inputs: SparkInputs) -> pl.DataFrame | None:
    """``jobs.jsonl``'s columns on the driver, typed as the local reader types them."""
    if inputs.jobs is None:
        return None
    frame = pl.from_arrow(inputs.jobs.toArrow())
    assert isinstance(frame, pl.DataFrame)
    return frame.cast(
        {
            "job_id": pl.Int64,
            "title": pl.String,
            "description": pl.String,
            "employer": pl.String,
            "posted_at": pl.Datetime("us", "UTC"),
            "expires_at": pl.Datetime("us", "UTC"),
        }
    )


def _engine_info(spark: Any, session_seconds: float) -> dict[str, Any]:
    context = spark.sparkContext
    return {
        "name": "spark",
        "spark_version": spark.version,
        "master": context.master,
        "default_parallelism": context.defaultParallelism,
        "session_seconds": round(session_seconds, 4),
    }
