"""Reloading ``jobs.jsonl`` at serve time: its new and changed jobs become postings.

A job board that appends to (or edits) ``jobs.jsonl`` rather than calling ``POST /jobs`` asks for
a reload (``POST /admin/jobs/reload``): the file is checked as training checks it, and every job
the served catalogue lacks or holds otherwise is stored as a posting and laid over the model, as
``POST /jobs`` does (so it survives a restart and reaches the other instances on the store).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from recommender.data.schema import JOBS_FILE
from recommender.errors import EventStoreError, InvalidDataError, JobsFileError
from recommender.lifecycle.switch import ModelSwitch


@dataclass(frozen=True)
class Reloaded:
    """What a reload read, and how many of those jobs were new or changed (and posted)."""

    read: int
    posted: int


def reload_jobs(data_dir: Path, switch: ModelSwitch) -> Reloaded:
    """Post the jobs of ``data_dir/jobs.jsonl`` that the served catalogue lacks or holds
    otherwise.

    Raises
    ------
    JobsFileError
        There is no ``jobs.jsonl`` in ``data_dir``, or a line breaks the schema (named by file
        and line); nothing is posted.
    EventStoreError
        The store failed, or there is none.
    """
    import polars as pl  # noqa: PLC0415 - read on a reload, never to answer a request

    from recommender.data.listings import changed  # noqa: PLC0415 - as polars
    from recommender.data.readers import copy_jobs  # noqa: PLC0415 - as polars

    path = Path(data_dir) / JOBS_FILE
    if not path.is_file():
        raise JobsFileError(f"no {JOBS_FILE} to reload in the data directory")
    with tempfile.TemporaryDirectory(prefix="recommender-reload-") as scratch:
        out = Path(scratch) / "jobs.parquet"
        try:
            copy_jobs(path, out)
        except InvalidDataError as exc:
            raise JobsFileError(f"{JOBS_FILE} cannot be reloaded: {exc}") from exc
        listed = pl.read_parquet(out)
    catalogue = switch.holder.get().trained.catalogue
    served = catalogue.jobs if catalogue is not None and catalogue.has_jobs() else pl.DataFrame()
    records = changed(listed, served)
    if records:
        if switch.events is None:
            raise EventStoreError("no event store to keep the jobs in")
        switch.events.put_listings(records)
        switch.take_listings()
    return Reloaded(read=listed.height, posted=len(records))
