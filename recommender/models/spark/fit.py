"""Spark's ALS (``pyspark.ml.recommendation.ALS``, implicit preferences) fitted on a matrix.

The matrix's rows and columns are the contiguous rows of :class:`~recommender.matrix.IdIndex`
(Spark's ALS needs 32-bit integer ids); the factors come back as numpy arrays in row order. The
settings mapping is :mod:`recommender.models.spark_als`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from recommender.models.als import ALSParams
from recommender.models.spark.mapping import spark_ratings
from recommender.models.spark.params import SparkParams
from recommender.models.spark.session import get_session

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from recommender.models.base import FloatArray

USER, ITEM, RATING = "user", "item", "rating"


def fit_matrix(
    matrix: sp.csr_matrix,
    params: ALSParams,
    spark: SparkParams,
    *,
    reg_param: float,
    seed: int,
) -> tuple[FloatArray, FloatArray]:
    """Fit Spark's ALS on ``matrix`` (users × jobs, implicit's values ``confidence_scale ·
    score``) and return (user factors, job factors) as float32 arrays in row order."""
    session = get_session(spark)
    coo = matrix.tocoo()
    table = pa.table(
        {
            USER: pa.array(coo.row.astype(np.int32)),
            ITEM: pa.array(coo.col.astype(np.int32)),
            RATING: pa.array(spark_ratings(coo.data, params.alpha)),
        }
    )
    ratings = session.createDataFrame(table).repartition(spark.blocks)
    return fit_ratings(ratings, matrix.shape, params, spark, reg_param=reg_param, seed=seed)


def fit_ratings(
    ratings: DataFrame,
    shape: tuple[int, int],
    params: ALSParams,
    spark: SparkParams,
    *,
    reg_param: float,
    seed: int,
) -> tuple[FloatArray, FloatArray]:
    """Fit Spark's ALS on ``ratings`` (columns ``user``, ``item``: rows; ``rating``: Spark's
    rating) and collect the factors of ``shape`` = (users, jobs) rows."""
    from pyspark.ml.recommendation import ALS

    als = ALS(
        rank=params.factors,
        maxIter=params.iterations,
        regParam=reg_param,
        alpha=params.alpha,
        implicitPrefs=True,
        nonnegative=False,
        userCol=USER,
        itemCol=ITEM,
        ratingCol=RATING,
        numUserBlocks=spark.blocks,
        numItemBlocks=spark.blocks,
        checkpointInterval=spark.checkpoint_interval,
        intermediateStorageLevel="MEMORY_AND_DISK",
        finalStorageLevel="MEMORY_AND_DISK",
        seed=seed,
    )
    model = als.fit(ratings)
    try:
        users = _collect(model.userFactors, shape[0], params.factors)
        items = _collect(model.itemFactors, shape[1], params.factors)
    finally:
        model.userFactors.unpersist()
        model.itemFactors.unpersist()
    return users, items


def _collect(factors: DataFrame, rows: int, rank: int) -> FloatArray:
    """A factor DataFrame (``id``, ``features``) as a (rows, rank) float32 array by id."""
    table = factors.toArrow()
    ids = table.column("id").to_numpy()
    features = table.column("features").combine_chunks()
    values = np.asarray(features.flatten(), dtype=np.float32).reshape(-1, rank)
    out = np.zeros((rows, rank), dtype=np.float32)
    out[ids] = values
    return out
