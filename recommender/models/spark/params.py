"""Where and how Spark fits ``spark-als``: the settings of the engine and of its ALS."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SparkParams(BaseModel):
    """Where and how Spark trains ``spark-als`` (``train --engine spark``, ``--models spark-als``).

    Spark's ALS is fitted with ``rank = factors``, ``maxIter = iterations`` and ``alpha = alpha``
    of :class:`ALSParams`, on ratings ``r = confidence_scale · score − 1/alpha``, so that Spark's
    confidence ``1 + alpha · r`` equals implicit's ``alpha · confidence_scale · score``. Spark
    multiplies ``regParam`` by each user's and each job's number of ratings (ALS-WR); implicit's
    regularisation is not scaled. ``reg_param`` None maps it as ``regularization / (ratings per
    job)``, which gives a job of average activity implicit's regularisation (see
    :mod:`recommender.models.spark_als`).
    """

    model_config = ConfigDict(frozen=True)

    master: str | None = Field(
        default=None,
        description="Spark master URL; None: spark-submit's --master, else local[2]",
    )
    checkpoint_dir: str | None = Field(
        default=None,
        description="ALS checkpoint directory (a shared hdfs:// or s3a:// one on a cluster); "
        "None: a temporary local directory",
    )
    checkpoint_interval: int = Field(default=10, ge=1, description="ALS iterations per checkpoint")
    blocks: int = Field(default=4, ge=1, description="ALS user and item blocks (partitions)")
    shuffle_partitions: int = Field(default=4, ge=1, description="spark.sql.shuffle.partitions")
    reg_param: float | None = Field(
        default=None, ge=0.0, description="Spark's regParam; None: mapped from als.regularization"
    )
    log_level: Literal["ERROR", "WARN", "INFO"] = "WARN"
    conf: dict[str, str] = Field(
        default_factory=dict,
        description='more Spark settings, e.g. {"spark.driver.memory": "4g"}',
    )
