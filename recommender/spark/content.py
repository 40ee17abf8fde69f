"""Word vectors fitted by Spark MLlib (``pyspark.ml.feature.Word2Vec``), as the original pipeline
did, for ``train --engine spark``.

Only the word vectors come from Spark: the sentences (job text, users' profile documents), the
SIF weights, the job vectors and the profile map are built by :mod:`recommender.content.word2vec`
exactly as for local training, so a Spark bundle's content is read and served like any other.
Spark's Word2Vec is skip-gram with hierarchical softmax; it has no CBOW (``skip_gram=False`` is
logged and fitted as skip-gram) and no corpus counts, which are counted here from the sentences.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

from recommender.content.params import ContentParams
from recommender.content.word2vec import WordVectorFitter, WordVectors

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


def spark_word_vectors(spark: SparkSession) -> WordVectorFitter:
    """A fitter of word vectors on ``spark`` (one partition and the seed: reproducible)."""

    def fit(sentences: list[list[str]], params: ContentParams, seed: int) -> WordVectors:
        from pyspark.ml.feature import Word2Vec  # noqa: PLC0415 - the Spark engine only

        if not params.skip_gram:
            log.warning("content: Spark's Word2Vec has no CBOW; fitting skip-gram")
        frame = spark.createDataFrame([(s,) for s in sentences], "text array<string>")
        model = Word2Vec(
            vectorSize=params.dimensions,
            minCount=params.min_count,
            windowSize=params.window,
            maxIter=params.epochs,
            numPartitions=1,
            seed=seed,
            inputCol="text",
            outputCol="vector",
        ).fit(frame)
        rows = model.getVectors().collect()
        keys = np.asarray([row["word"] for row in rows], dtype=str)
        vectors = np.zeros((len(rows), params.dimensions), dtype=np.float32)
        for k, row in enumerate(rows):
            vectors[k] = row["vector"].toArray()
        counted = Counter(token for sentence in sentences for token in sentence)
        counts = np.array([counted[word] for word in keys.tolist()], dtype=np.int64)
        return keys, vectors, counts

    return fit
