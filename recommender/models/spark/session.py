"""The one SparkSession of a process, configured from
:class:`~recommender.models.spark.params.SparkParams`.

Under ``spark-submit`` the master, resources and Hadoop settings come from the submission; run
directly, Spark starts in local mode (``local[2]`` unless a master is given) with its web UI off,
few shuffle partitions and this interpreter as its Python.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from recommender.errors import EngineUnavailableError
from recommender.models.spark.params import SparkParams

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[2]"
APP_NAME = "job-recommender"
INSTALL_HINT = "pip install -r requirements-spark.txt (pyspark) and a Java 17 runtime"


def require_pyspark() -> None:
    """Raise :class:`EngineUnavailableError` saying what to install if pyspark is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise EngineUnavailableError(
            f"the Spark engine needs pyspark, which is not installed: {INSTALL_HINT}"
        ) from exc


def get_session(params: SparkParams) -> SparkSession:
    """The process's SparkSession: the running one, or a new one configured from ``params``.

    A checkpoint directory is always set (ALS checkpoints its factors every
    ``checkpoint_interval`` iterations, which keeps long lineages short): ``params.checkpoint_dir``
    or a temporary local directory removed at exit.

    Raises
    ------
    EngineUnavailableError
        pyspark is not installed, or Spark cannot start (no Java, say).
    """
    require_pyspark()
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:  # configured already (by us, or by whoever embeds this code)
        _ensure_checkpoint_dir(active, params)
        return active
    builder = SparkSession.builder.appName(APP_NAME)
    try:
        submitted = SparkConf().contains("spark.master")  # spark-submit says where to run
    except Exception as exc:  # the JVM could not start
        raise EngineUnavailableError(f"Spark cannot start ({exc}): {INSTALL_HINT}") from exc
    master = params.master or (None if submitted else DEFAULT_MASTER)
    if master is not None:
        builder = builder.master(master)
    settings = {
        "spark.sql.shuffle.partitions": str(params.shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.showConsoleProgress": "false",
    }
    if master is not None and master.startswith("local"):
        settings |= {"spark.ui.enabled": "false", "spark.pyspark.python": sys.executable}
    for key, value in (settings | params.conf).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel(params.log_level)
    _ensure_checkpoint_dir(session, params)
    return session


def _ensure_checkpoint_dir(session: SparkSession, params: SparkParams) -> None:
    context = session.sparkContext
    if context.getCheckpointDir() is None:
        context.setCheckpointDir(params.checkpoint_dir or _temporary_dir())


def _temporary_dir() -> str:
    path = tempfile.mkdtemp(prefix="recommender-spark-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return Path(path).resolve().as_uri()
