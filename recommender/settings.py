"""One typed settings object, read from ``RECOMMENDER_*`` environment variables and ``.env``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from recommender.content.params import ContentParams
from recommender.data.funnel import ScoringRule
from recommender.data.remote import is_url, local_cache_for
from recommender.errors import SettingsFileError
from recommender.models.als import ALSParams
from recommender.models.base import Device
from recommender.models.blend import BlendParams
from recommender.models.bpr import BPRParams
from recommender.models.ease import EASEParams
from recommender.models.itemknn import ItemKNNParams
from recommender.models.neural.params import NeuralParams
from recommender.models.registry import MODEL_NAMES
from recommender.models.rp3beta import RP3BetaParams
from recommender.models.spark.params import SparkParams
from recommender.models.userknn import UserKNNParams

ExcludeSeen = Literal["redirected", "all", "none"]
LogFormat = Literal["text", "json"]

AUTO = "auto"
"""``RECOMMENDER_MODEL=auto`` (the default): ``train`` selects the model on a validation split."""
NOT_SELECTABLE = ("spark-als", "blend")
"""Models selection never tries as candidates: Spark's ALS (its own engine) and the blend, which
selection builds itself from the candidates."""


EVENTS_FILE = "events.sqlite3"


class SelectionParams(BaseModel):
    """How ``train`` selects the model to serve when ``model`` is ``auto``.

    Each candidate is tuned on a validation split carved from the training log (at most
    ``budget`` trials, or its entry in ``budgets``), a blend of the best two or three is weighed
    on the same split, and the best by ``metric``@``k`` is fitted on everything. Logs larger than
    ``sample_events`` are selected on a seeded sample of their users; logs over
    ``max_log_bytes`` are not selected on at all (``fallback`` is trained, with a log line).
    """

    model_config = ConfigDict(frozen=True)

    candidates: tuple[str, ...] = ("als", "ease", "rp3beta", "itemknn-bm25")
    budget: int = Field(default=6, ge=1, le=200, description="trials per candidate")
    budgets: dict[str, int] = Field(
        default_factory=lambda: {"als": 16, "ease": 4, "rp3beta": 8},
        description="trials of particular candidates, overriding budget",
    )
    search: Literal["coordinate", "random", "grid"] = Field(
        default="coordinate",
        description="coordinate: hill-climb one parameter at a time; random or grid: sample the "
        "space (see evaluation/tuning.py)",
    )
    metric: Literal["precision", "recall", "map", "ndcg", "hit_rate"] = "ndcg"
    k: int = Field(default=10, ge=1, le=100)
    validation: Literal["time", "last"] = Field(
        default="time",
        description="time: validate on the last events (a global cut); last: each user's last job",
    )
    fraction: float = Field(default=0.2, gt=0.0, lt=1.0, description="share of events validated")
    blend: bool = Field(default=True, description="weigh a blend of the best 2-3 candidates too")
    blend_gain: float = Field(
        default=0.01,
        ge=0.0,
        description="a blend wins only when it beats the best single model by this share",
    )
    sample_events: int = Field(
        default=1_000_000, ge=1000, description="select on a sample of users above this"
    )
    max_log_bytes: int = Field(
        default=1_000_000_000, ge=0, description="skip selection for a larger log (0: never skip)"
    )
    fallback: str = Field(default="als", description="the model trained when selection cannot run")
    ease_max_items: int = Field(
        default=10_000,
        ge=1,
        description="EASE is a candidate only for logs of at most this many jobs: each trial "
        "solves a dense jobs × jobs system (20 bytes per jobs² at peak)",
    )

    @field_validator("candidates")
    @classmethod
    def _known_candidates(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known = [m for m in MODEL_NAMES if m not in NOT_SELECTABLE]
        unknown = [m for m in value if m not in known]
        if not value or unknown:
            raise ValueError(
                f"candidate(s) {', '.join(map(repr, unknown)) or '(none)'} cannot be selected; "
                f"choose from {', '.join(known)}"
            )
        return value

    @field_validator("fallback")
    @classmethod
    def _known_fallback(cls, value: str) -> str:
        if value not in MODEL_NAMES or value == "blend":
            raise ValueError(f"unknown fallback model {value!r}; known: {', '.join(MODEL_NAMES)}")
        return value

    def trials_of(self, model: str) -> int:
        """The trial budget of ``model``."""
        return self.budgets.get(model, self.budget)


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
    model: str = Field(
        default=AUTO,
        description=f"the model to train: {AUTO!r} selects one on a validation split "
        f"(see selection), or one of {MODEL_NAMES}",
    )
    selection: SelectionParams = SelectionParams()
    als: ALSParams = ALSParams()
    bpr: BPRParams = BPRParams()
    itemknn: ItemKNNParams = ItemKNNParams()
    userknn: UserKNNParams = UserKNNParams()
    ease: EASEParams = EASEParams()
    rp3beta: RP3BetaParams = RP3BetaParams()
    spark: SparkParams = SparkParams()
    blend: BlendParams = BlendParams()
    content: ContentParams = ContentParams()
    neural: NeuralParams = NeuralParams()
    device: Device = Field(
        default="cpu",
        description="where training runs: cpu, or cuda (a GPU) for the neural model and ALS",
    )
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
    events_key: SecretStr | None = Field(
        default=None,
        description="the X-Events-Key POST /events requires; None: anyone may post events",
    )
    jobs_key: SecretStr | None = Field(
        default=None,
        description="the X-Jobs-Key that POST/PATCH/DELETE /jobs require; None: they require "
        "the admin key (X-API-Key) instead, unless jobs_open",
    )
    jobs_open: bool = Field(
        default=False,
        description="anyone may post, change and take down jobs (no key): for a service only the "
        "job board's own back end can reach",
    )
    fresh_cache_mib: int = Field(
        default=128,
        ge=1,
        description="memory for users' events newer than the model; past it the least recently "
        "used users are dropped and read back from the event store when asked for",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description='origins allowed by CORS, e.g. ["https://jobs.example"]; empty: CORS off',
    )
    max_body_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, description="larger request bodies get 413"
    )
    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="a connection that has not sent a whole request head in this long is closed",
    )
    max_connections: int = Field(
        default=0,
        ge=0,
        description="open connections per worker; past it the one waiting longest for its request "
        "head is closed (0: the open-file limit less 64)",
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
    def fresh_bytes(self) -> int:
        """``fresh_cache_mib`` in bytes."""
        return self.fresh_cache_mib * 2**20

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
        if value != AUTO and value not in MODEL_NAMES:
            raise ValueError(f"unknown model {value!r}; known: {AUTO}, {', '.join(MODEL_NAMES)}")
        return value

    @field_validator("blend")
    @classmethod
    def _known_components(cls, value: BlendParams) -> BlendParams:
        unknown = [name for name in value.components if name not in MODEL_NAMES]
        if unknown:
            raise ValueError(
                f"unknown blend component(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(MODEL_NAMES)}"
            )
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
