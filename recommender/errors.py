"""The service's exception hierarchy.

Every error the domain raises derives from :class:`RecommenderError`; the API maps each class to
an HTTP status in one place (``recommender/api/errors.py``) and the CLI turns any of them into a
one-line message and a non-zero exit code. Every message names the offending value::

    RecommenderError
    ├── InvalidDataError          a file or record breaks its schema (file, line, field, value)
    │   └── MissingDataError      a required input file is missing or empty
    ├── UnknownUserError          a user id the model has never seen (no fallback allowed)
    ├── UnknownJobError           a job id the model has never seen
    ├── UnknownFieldError         a filter names a job field the catalogue does not hold
    ├── ModelChangedError         a page was asked of the model that served page 1, now replaced
    ├── BundleError               a trained-model bundle cannot be used
    │   ├── BundleNotFoundError   there is no bundle in the model directory
    │   ├── BundleCorruptError    a file is missing or its checksum does not match
    │   └── BundleIncompatibleError  written by an unsupported format version or for another model
    ├── ModelNotReadyError        no model is loaded yet
    ├── EventStoreError           the event store cannot be opened, written or read
    ├── StorageError              object storage (s3://…) cannot be read or written
    ├── EngineUnavailableError    an optional training engine (Spark) is not installed
    ├── CatalogueTooLargeError    more jobs than a model's configured bound (EASE's max_items)
    ├── SettingsFileError         a settings file named on the command line is missing
    ├── EvaluationError           a split leaves nothing to evaluate
    ├── AdminDisabledError        no admin API key is configured: the admin endpoints are off
    ├── AuthenticationError       the X-API-Key header is missing or wrong
    ├── RetrainNotFoundError      no retraining job has that id
    ├── NoPreviousBundleError     there is no older bundle to roll back to
    └── ExplainUnsupportedError   the model in use cannot explain its recommendations
"""

from __future__ import annotations

from pathlib import Path


class RecommenderError(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidDataError(RecommenderError):
    """An input record breaks its schema.

    Parameters
    ----------
    message:
        What is wrong, in words.
    path:
        The file the record came from, if any.
    line:
        The 1-based line number in ``path``, if known.
    field:
        The offending field, if one is to blame.
    value:
        The offending value as it appeared in the input (shortened for the message).
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        field: str | None = None,
        value: object = None,
    ) -> None:
        self.reason = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        self.value = value
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path + (f":{self.line}" if self.line is not None else "")
        elif self.line is not None:
            where = f"line {self.line}"
        what = self.reason if self.field is None else f"field {self.field!r}: {self.reason}"
        if self.value is not None:
            shown = repr(self.value)
            if len(shown) > 80:
                shown = shown[:77] + "..."
            what += f" (got {shown})"
        return f"{where}: {what}" if where else what


class MissingDataError(InvalidDataError):
    """A required input file does not exist or holds no records."""


class UnknownUserError(RecommenderError):
    """A user id that the model was not trained on."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        super().__init__(f"unknown user_id {user_id}")


class UnknownJobError(RecommenderError):
    """A job id that the model was not trained on."""

    def __init__(self, job_id: int, reason: str = "no activity in the model") -> None:
        self.job_id = job_id
        super().__init__(f"unknown job_id {job_id}: {reason}")


class BundleError(RecommenderError):
    """A trained-model bundle cannot be loaded or written."""


class BundleNotFoundError(BundleError):
    """The model directory holds no bundle."""


class BundleCorruptError(BundleError):
    """A bundle file is missing, unreadable or fails its checksum."""


class BundleIncompatibleError(BundleError):
    """A bundle of an unsupported format version or model kind."""


class ModelNotReadyError(RecommenderError):
    """The service has no model loaded yet."""


class EventStoreError(RecommenderError):
    """The event store cannot be opened, written or read (the message names its location)."""


class SettingsFileError(RecommenderError):
    """A settings file named on the command line cannot be read."""


class EvaluationError(RecommenderError):
    """An evaluation that cannot give meaningful numbers (say, no warm test user)."""


class StorageError(RecommenderError):
    """Object storage (``s3://…``) cannot be reached, read or written; the message names the URL."""


class EngineUnavailableError(RecommenderError):
    """An optional training engine (``--engine spark``) is not installed or cannot start; the
    message says what to install."""


class CatalogueTooLargeError(RecommenderError):
    """The data holds more jobs than a model is configured to accept (its cost grows faster than
    the catalogue); the message names the count, the bound and the setting that raises it."""


class AdminDisabledError(RecommenderError):
    """An admin endpoint was called but no admin API key is configured."""


class AuthenticationError(RecommenderError):
    """The ``X-API-Key`` header is missing or does not match the configured key."""


class RetrainNotFoundError(RecommenderError):
    """No retraining job has the given id."""


class NoPreviousBundleError(RecommenderError):
    """A rollback was asked for, but no older valid bundle exists."""


class ExplainUnsupportedError(RecommenderError):
    """``explain`` was asked of a model that has no explanation (only ALS has one)."""


class InvalidJobError(RecommenderError):
    """A job posting that breaks the jobs.jsonl schema once a change is applied to it."""


class JobsFileError(RecommenderError):
    """``jobs.jsonl`` cannot be reloaded: it is missing, or a line breaks its schema (the
    server's file, not the request, is at fault)."""


class UnknownFieldError(RecommenderError):
    """A filter names a job field that the model's catalogue does not hold as a string field.

    Parameters
    ----------
    field:
        The field the filter named.
    known:
        The fields a filter may name; empty when the model has no job metadata at all.
    """

    def __init__(self, field: str, known: tuple[str, ...]) -> None:
        self.field = field
        self.known = known
        if known:
            reason = f"the jobs' string fields are {', '.join(known)}"
        else:
            reason = "this model has no job metadata (trained without jobs.jsonl string fields)"
        super().__init__(f"filters: unknown job field {field!r}: {reason}")


class ModelChangedError(RecommenderError):
    """A request names the model version its earlier pages came from, and the service now
    serves another: its pages would not continue that list."""

    def __init__(self, asked: str, serving: str) -> None:
        self.asked = asked
        self.serving = serving
        super().__init__(
            f"model_version {asked!r} is no longer served (now {serving!r}): the ranking "
            "changed, so start again from offset 0"
        )
