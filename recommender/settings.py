"""One typed settings object, read from ``RECOMMENDER_*`` environment variables and ``.env``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from recommender.errors import SettingsFileError
from recommender.storage import is_url, local_cache_for

ExcludeSeen = Literal["redirected", "all", "none"]
LogFormat = Literal["text", "json"]


KNNMeasure = Literal["cosine", "tfidf", "bm25"]

MODEL_NAMES: tuple[str, ...] = (
    "als",
    "bpr",
    "popular",
    "itemknn",
    "itemknn-tfidf",
    "itemknn-bm25",
    "userknn",
    "spark-als",
)
"""The models :func:`recommender.models.create_model` builds (``itemknn-*`` pick a measure;
``spark-als`` fits Spark's ALS and needs the optional pyspark)."""


EVENTS_FILE = "events.sqlite3"


class ScoringRule(BaseModel):
    """How a (user, job) funnel of impressions and redirects becomes one implicit score.

    With i = min(impressions, clip) and r = min(redirects, clip)::

        score = redirect_weight·r + impression_weight·i − unanswered_penalty·max(0, i − r)
        score = max(score, redirect_floor)    if redirects > 0
        score = max(score, impression_floor)  elif impressions > 0

    The defaults give the original service's rule: 2·r + i − max(0, i − r), floors 2 and 1.
    """

    model_config = ConfigDict(frozen=True)

    clip: int = Field(default=10, ge=1)
    redirect_weight: int = Field(default=2, ge=0)
    impression_weight: int = Field(default=1, ge=0)
    unanswered_penalty: int = Field(default=1, ge=0)
    redirect_floor: int = Field(default=2, ge=0)
    impression_floor: int = Field(default=1, ge=0)


class ALSParams(BaseModel):
    """Hyper-parameters of implicit's AlternatingLeastSquares.

    implicit weighs an observed pair with confidence ``alpha · value``; we feed it
    ``value = confidence_scale · score``. The original service fitted 2·score with alpha 1.
    """

    model_config = ConfigDict(frozen=True)

    factors: int = Field(default=64, ge=1, le=1024)
    regularization: float = Field(default=0.05, ge=0.0)
    iterations: int = Field(default=15, ge=1, le=500)
    alpha: float = Field(default=1.0, gt=0.0)
    confidence_scale: float = Field(default=2.0, gt=0.0)


class BPRParams(BaseModel):
    """Hyper-parameters of implicit's BayesianPersonalizedRanking (SGD on sampled item pairs).

    BPR reads the matrix as binary: any stored entry is a positive, whatever its confidence.
    """

    model_config = ConfigDict(frozen=True)

    factors: int = Field(default=64, ge=1, le=1024)
    learning_rate: float = Field(default=0.01, gt=0.0)
    regularization: float = Field(default=0.01, ge=0.0)
    iterations: int = Field(default=100, ge=1, le=10_000)


class ItemKNNParams(BaseModel):
    """Hyper-parameters of implicit's item-item nearest-neighbour recommenders.

    ``measure`` picks CosineRecommender, TFIDFRecommender or BM25Recommender; ``neighbours`` is
    implicit's ``K``, the similarities kept per job (the job itself among them);
    ``bm25_k1`` and ``bm25_b`` are BM25's ``K1`` and ``B`` (unused by the other measures).
    """

    model_config = ConfigDict(frozen=True)

    measure: KNNMeasure = "cosine"
    neighbours: int = Field(default=100, ge=1, le=10_000)
    bm25_k1: float = Field(default=1.2, ge=0.0)
    bm25_b: float = Field(default=0.75, ge=0.0, le=1.0)


class UserKNNParams(BaseModel):
    """Hyper-parameters of user-user collaborative filtering: how many similar users to ask."""

    model_config = ConfigDict(frozen=True)

    neighbours: int = Field(default=50, ge=1, le=10_000)


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


class Settings(BaseSettings):
    """Everything the service and the CLI can be configured with.

    Each field is read from ``RECOMMENDER_<NAME>`` (nested ones as ``RECOMMENDER_ALS__FACTORS``)
    or ``.env``.
    """

    model_config = SettingsConfigDict(
        env_prefix="RECOMMENDER_",
        env_file=".env",
        env_nested_delimiter="__",
        extra="ignore",
    )

    data_dir: Path = Path("dataset")
    model_dir: Path = Path("models")
    seed: int = Field(default=42, ge=0, le=2**32 - 1)
    scoring: ScoringRule = ScoringRule()
    model: str = Field(default="als", description=f"the model to train, one of {MODEL_NAMES}")
    als: ALSParams = ALSParams()
    bpr: BPRParams = BPRParams()
    itemknn: ItemKNNParams = ItemKNNParams()
    userknn: UserKNNParams = UserKNNParams()
    spark: SparkParams = SparkParams()
    train_threads: int = Field(
        default=0, ge=0, description="implicit's num_threads for fit; 0 means one per core"
    )
    default_exclude_seen: ExcludeSeen = "redirected"
    precompute_top: int = Field(
        default=100,
        ge=0,
        le=1000,
        description="rank this many jobs per user after training (0: rank every request live)",
    )
    precompute_max_cells: int = Field(
        default=2_000_000_000,
        ge=0,
        description="rank ahead only while rows × jobs stays under this many scores (the users' "
        "lists and the jobs' lists each); larger catalogues are ranked per request",
    )
    train_if_missing: bool = Field(
        default=True, description="train at start-up when the model directory has no bundle"
    )
    events_path: Path | None = Field(
        default=None,
        description="the SQLite event store; None means events.sqlite3 in data_dir (in the "
        "working directory when data_dir is an s3:// URL)",
    )

    window_days: int | None = Field(
        default=None,
        ge=1,
        description="train on the activity of the last this many days only (None: all of it)",
    )
    keep_bundles: int = Field(
        default=5, ge=2, description="bundles kept in model_dir; older ones are deleted"
    )
    watch_interval_seconds: float = Field(
        default=2.0,
        ge=0.0,
        description="how often the service checks model_dir's CURRENT pointer (0: never)",
    )
    admin_api_key: SecretStr | None = Field(
        default=None,
        description="the X-API-Key the /admin endpoints require; None turns them off (403)",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description='origins allowed by CORS, e.g. ["https://jobs.example"]; empty: CORS off',
    )
    max_body_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, description="larger request bodies get 413"
    )
    log_format: LogFormat = Field(
        default="text", description="'json': one JSON object per log line, with a request id"
    )
    explain_top: int = Field(
        default=5, ge=1, le=50, description="past jobs listed per recommended job with explain"
    )

    cache_dir: Path = Field(
        default=Path(".cache"),
        description="where data and bundles fetched from object storage are kept locally",
    )
    data_store: str | None = Field(
        default=None,
        description="s3://bucket/prefix holding the input files (set by giving data_dir a URL)",
    )
    model_store: str | None = Field(
        default=None,
        description="s3://bucket/prefix bundles are published to and loaded from "
        "(set by giving model_dir a URL); model_dir is then its local cache",
    )

    @model_validator(mode="before")
    @classmethod
    def _urls_to_stores(cls, data: Any) -> Any:
        """``data_dir``/``model_dir`` given as URLs become stores, with local caches as dirs."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for field, store in (("data_dir", "data_store"), ("model_dir", "model_store")):
            value = data.get(field)
            if isinstance(value, str) and is_url(value):
                cache = Path(str(data.get("cache_dir") or ".cache"))
                data[store] = value.rstrip("/")
                data[field] = local_cache_for(value, cache)
        return data

    @property
    def events_file(self) -> Path:
        """Where the event store lives: ``events_path``, or ``data_dir/events.sqlite3``."""
        if self.events_path is not None:
            return self.events_path
        if self.data_store is not None:  # never in the cache of fetched files: it may be cleared
            return Path(EVENTS_FILE)
        return self.data_dir / EVENTS_FILE

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        if value not in MODEL_NAMES:
            raise ValueError(f"unknown model {value!r}; known: {', '.join(MODEL_NAMES)}")
        return value


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()


def settings_from(env_file: Path | None) -> Settings:
    """Settings from the environment and ``env_file`` (``.env`` when None), for the CLI."""
    if env_file is None:
        return get_settings()
    if not Path(env_file).is_file():
        raise SettingsFileError(f"settings file {env_file} does not exist")
    return Settings(_env_file=env_file)
