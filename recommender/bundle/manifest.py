"""A bundle's provenance, typed: what ``manifest.json`` holds and ``GET /model`` shows.

Written in one place (:func:`recommender.bundle.files.write_bundle`), filled by the one training
pipeline (:mod:`recommender.training`), whichever engine fitted the model. Bundles written before
a field existed still load: every section that was added later has a default, and fields this
version does not know are kept as they are.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from recommender.content.params import ContentParams
from recommender.data.funnel import ScoringRule

FORMAT_VERSION = 1
UNSAVED = "unsaved"
"""The version of a model not written to disk."""


class ModelInfo(BaseModel):
    """Which model, with what hyper-parameters."""

    model_config = ConfigDict(extra="allow")

    kind: str
    params: dict[str, Any] = Field(default_factory=dict)
    confidence_scale: float | None = None
    """Every model is fitted on ``confidence_scale · score``, not only ALS."""


class Counts(BaseModel):
    """The size of what was trained on."""

    model_config = ConfigDict(extra="allow")

    users: int
    jobs: int
    interactions: int
    redirected_pairs: int


class DataInfo(BaseModel):
    """What the model was trained on. Only the fields a run sets are written."""

    model_config = ConfigDict(extra="allow")

    source: str | None = None
    """What was read: a log file, or the Spark engine's input (unset for a local data directory)."""
    mapping: dict[str, Any] | None = None
    """The column mapping the log was read with (None: its own columns)."""
    fingerprint: str | None = None
    activity_lines: int | None = None
    catalogue_jobs: int | None = None
    profile_users: int | None = None
    unlisted_jobs: int | None = None
    job_postings: int = 0
    """Job versions posted through the API (the event store's) laid over jobs.jsonl."""
    event_lines: int = 0
    events_through: int = 0
    """The id of the last stored event trained on: newer ones are folded in at serve time."""
    events_store: str | None = None
    """The identity of the event store ``events_through`` counts in (None: no store was read, or
    a bundle from before store identities)."""
    events_file: str | None = None
    """Where that store was read (its file), as the run saw it."""
    window_days: float | None = None
    window_start: str | None = None
    window_dropped_lines: int | None = None


class ContentInfo(BaseModel):
    """The content vectors a bundle holds (:mod:`recommender.content`) and how they were made."""

    model_config = ConfigDict(extra="allow")

    params: ContentParams
    words: int
    dimensions: int
    jobs_embedded: int
    """Job columns with a vector (a listed job with at least one known word)."""
    cold_jobs: int
    """Job columns with no activity: listed jobs only content can place."""
    user_documents: int
    train_seconds: float
    engine: str = "gensim"
    """What fitted the word vectors: ``gensim`` (local) or ``spark`` (``train --engine spark``)."""
    fields: list[str] = []
    """The job fields whose values joined the job vectors (``city``, ``sector``): none before
    fields were embedded."""


class Manifest(BaseModel):
    """Format, model, provenance and checksums of a bundle."""

    model_config = ConfigDict(extra="allow")

    format_version: int = FORMAT_VERSION
    version: str = UNSAVED
    """The bundle's directory name, or ``"unsaved"`` before it is written."""
    model: ModelInfo
    scoring: ScoringRule = ScoringRule()
    counts: Counts
    trained_at: str | None = None
    timings: dict[str, float] = Field(default_factory=dict)
    train_seconds: float | None = None
    data: DataInfo = DataInfo()
    engine: dict[str, Any] | None = None
    """The engine that fitted the model, when not this process (Spark: version, master)."""
    libraries: dict[str, str] = Field(default_factory=dict)
    files: dict[str, str] = Field(default_factory=dict)
    """Each array file of the bundle and its SHA-256."""
    selection: dict[str, Any] | None = None
    """How ``train`` chose the model (``RECOMMENDER_MODEL=auto``): every candidate's trials and
    validation scores, the blend weighed, the similar-jobs method and the winner; None when the
    model was pinned."""
    content: ContentInfo | None = None
    """The content vectors' provenance; None when the bundle holds none."""
    catalogue_files: dict[str, str] = Field(default_factory=dict)
    """The catalogue's Parquet files and their SHA-256, apart from :attr:`files`, whose every
    entry a service from before the catalogue loads as an array."""

    def describe(self) -> dict[str, Any]:
        """What ``GET /model`` shows: version, provenance, counts and hyper-parameters."""
        return {
            "version": self.version,
            "format_version": self.format_version,
            "model": self.model.kind,
            "trained_at": self.trained_at,
            "counts": self.counts.model_dump(),
            "hyperparameters": self.model.params,
            "scoring": self.scoring.model_dump(),
            "data": self.data_dict(),
            "timings": self.timings,
            "libraries": self.libraries,
            "selection": self.selection,
            "content": None if self.content is None else self.content.model_dump(mode="json"),
        }

    def data_dict(self) -> dict[str, Any]:
        """The data section as written: the fields the run set."""
        return self.data.model_dump(mode="json", exclude_unset=True)

    def to_json(self) -> dict[str, Any]:
        """The manifest as ``manifest.json`` holds it (the data section as :meth:`data_dict`)."""
        out = self.model_dump(mode="json", exclude={"data"}, exclude_none=False)
        if self.engine is None:
            del out["engine"]
        out["data"] = self.data_dict()
        return out
