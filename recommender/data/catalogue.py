"""The catalogue: every job listed in ``jobs.jsonl`` and every profile in ``users.jsonl``.

The interaction matrix knows only the jobs and users with activity; the catalogue knows every job
and user the job board listed, with their attributes (a job's title, description, employer,
posting and expiry times, and its other fields as a JSON object in ``attributes``; a user's
profile fields), whether or not they have any activity yet. Rows are in id order and keyed
through an :class:`~recommender.matrix.IdIndex` like the matrix's, so a model can line the two up
with :meth:`IdIndex.rows` and an explicit ``missing=`` mode.

Training streams the checked listings into Parquet files
(:func:`~recommender.data.readers.copy_jobs`, ``copy_users``) and builds it on them; a bundle
keeps those two files, read only when asked for (a service answering from the matrix never pays
for the text).
"""

from __future__ import annotations

import shutil
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from recommender.matrix import IdIndex

if TYPE_CHECKING:
    import polars as pl

NEVER = np.iinfo(np.int64).max
"""``expires_at`` of a job that never expires."""
NO_EMPLOYER = -1
"""``employer`` code of a job whose employer is unknown (never capped)."""

JOBS_PARQUET = "catalogue.jobs.parquet"
USERS_PARQUET = "catalogue.users.parquet"
"""The catalogue's files in a bundle."""
JOB_KEY = "job_id"
USER_KEY = "user_id"
ATTRIBUTES = "attributes"
"""The column holding a listing's fields outside the schema, as a JSON object text."""
UNFILTERED = (JOB_KEY, "description", ATTRIBUTES)
"""Job columns no filter names: the key, the free text body, and the attributes' JSON text (its
keys are fields of their own)."""


class Catalogue:
    """Jobs and user profiles with their attributes, one row per id, sorted by id.

    Parameters
    ----------
    jobs, users:
        Frames with a ``job_id`` / ``user_id`` column and any attribute columns (as
        :func:`~recommender.data.readers.read_jobs` and ``read_users`` return them), or the
        Parquet files a bundle holds them in (read on first use), or None for none.
    """

    def __init__(
        self,
        jobs: pl.DataFrame | Path | None = None,
        users: pl.DataFrame | Path | None = None,
    ) -> None:
        self._sources = {JOB_KEY: jobs, USER_KEY: users}

    def _frame(self, key: str) -> pl.DataFrame:
        # a service loading a bundle imports no polars until something reads the catalogue
        import polars as pl  # noqa: PLC0415

        source = self._sources[key]
        if source is None:
            return pl.DataFrame(schema={key: pl.Int64()})
        frame = pl.read_parquet(source) if isinstance(source, Path) else source
        return frame.sort(key)

    @cached_property
    def jobs(self) -> pl.DataFrame:
        """Every listed job: ``job_id`` and its attributes, sorted by ``job_id``."""
        return self._frame(JOB_KEY)

    @cached_property
    def users(self) -> pl.DataFrame:
        """Every user profile: ``user_id`` and its fields, sorted by ``user_id``."""
        return self._frame(USER_KEY)

    @cached_property
    def job_index(self) -> IdIndex:
        """The listed jobs' ids; row ``k`` is row ``k`` of :attr:`jobs`."""
        return IdIndex.from_sorted_unique(self.jobs[JOB_KEY].to_numpy())

    @cached_property
    def user_index(self) -> IdIndex:
        """The profiles' ids; row ``k`` is row ``k`` of :attr:`users`."""
        return IdIndex.from_sorted_unique(self.users[USER_KEY].to_numpy())

    def with_jobs(self, jobs: pl.DataFrame) -> Catalogue:
        """This catalogue with ``jobs`` as its jobs frame (the same profiles)."""
        return Catalogue(jobs, self._sources[USER_KEY])

    def has_jobs(self) -> bool:
        """Whether any job is listed (``jobs.jsonl`` was given)."""
        return self._sources[JOB_KEY] is not None

    def has_users(self) -> bool:
        """Whether any profile is listed (``users.jsonl`` was given)."""
        return self._sources[USER_KEY] is not None

    def user_count(self) -> int | None:
        """How many profiles are listed (None without ``users.jsonl``), without reading them."""
        import polars as pl  # noqa: PLC0415 - as in _frame

        source = self._sources[USER_KEY]
        if source is None:
            return None
        if isinstance(source, Path):
            return int(pl.scan_parquet(source).select(pl.len()).collect().item())
        return source.height

    def job_rules(self, job_ids: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
        """For ``job_ids`` (a model's columns): each job's expiry (epoch µs, :data:`NEVER` if
        none or unlisted) and employer code (employers numbered in sorted order from 0,
        :data:`NO_EMPLOYER` if none or unlisted): what the job rules need at serve time."""
        if not self.has_jobs() or "expires_at" not in self.jobs.columns:
            n = job_ids.shape[0]
            return np.full(n, NEVER, dtype=np.int64), np.full(n, NO_EMPLOYER, dtype=np.int32)
        import polars as pl  # noqa: PLC0415 - as in _frame

        employer = pl.col("employer").cast(pl.Utf8)
        meta = self.jobs.select(
            JOB_KEY,
            pl.col("expires_at").dt.epoch("us").alias("expires_at"),
            (employer.rank("dense") - 1).cast(pl.Int32).alias("employer"),
        )
        joined = pl.DataFrame({JOB_KEY: job_ids}).join(meta, on=JOB_KEY, how="left")
        return (
            joined["expires_at"].fill_null(NEVER).to_numpy().astype(np.int64),
            joined["employer"].fill_null(NO_EMPLOYER).to_numpy().astype(np.int32),
        )

    @cached_property
    def job_fields(self) -> tuple[str, ...]:
        """The jobs' string fields, sorted: the string columns (``title``, ``employer``, ...)
        and the keys of ``attributes`` whose value is a string in some job (``city``,
        ``sector``, ...); not those in :data:`UNFILTERED`. What a filter may name."""
        import polars as pl  # noqa: PLC0415 - as in _frame

        if not self.has_jobs():
            return ()
        schema = self.jobs.schema
        names = {name for name, dtype in schema.items() if dtype == pl.String}
        names |= {name for name, dtype in self._attribute_types.items() if dtype == pl.String}
        return tuple(sorted(names - set(UNFILTERED)))

    @cached_property
    def _attribute_types(self) -> dict[str, pl.DataType]:
        """Each key of the jobs' ``attributes`` and the type its values share (a key whose
        values are numbers in some jobs and strings in others is a string key)."""
        if ATTRIBUTES not in self.jobs.columns:
            return {}
        decoded = self.jobs[ATTRIBUTES].str.json_decode(infer_schema_length=None)
        return dict(decoded.struct.unnest().schema) if decoded.dtype.is_nested() else {}

    def job_values(
        self, field: str, job_ids: NDArray[np.int64]
    ) -> tuple[NDArray[np.int32], list[str]]:
        """For ``job_ids`` (a model's columns): each job's value of the string ``field`` (one
        of :attr:`job_fields`) as a code, and the values in code order (sorted). The code is -1
        where the job has no value or is not listed.

        Raises
        ------
        KeyError
            ``field`` is not one of :attr:`job_fields`.
        """
        import polars as pl  # noqa: PLC0415 - as in _frame

        if field not in self.job_fields:
            raise KeyError(field)
        if field in self.jobs.columns:
            column = self.jobs[field]
        else:
            dtype = pl.Struct(self._attribute_types)
            column = self.jobs[ATTRIBUTES].str.json_decode(dtype).struct.field(field)
        values = column.drop_nulls().unique().sort()
        listed = (column.rank("dense") - 1).fill_null(-1).to_numpy().astype(np.int32)
        rows, known = self.job_index.lookup(job_ids)
        codes = np.full(job_ids.shape[0], -1, dtype=np.int32)
        codes[known] = listed[rows[known]]
        return codes, values.to_list()

    def profile(self, user_id: int) -> dict[str, Any] | None:
        """The user's profile fields, looked up by id; None if none is listed."""
        if not self.has_users():
            return None
        row = self.user_index.row(user_id)
        if row is None:
            return None
        found: dict[str, Any] = self.users.row(row, named=True)
        return found

    def unlisted(self, job_ids: NDArray[np.int64]) -> int | None:
        """How many of ``job_ids`` (the jobs with activity) are not listed (None without a list)."""
        if not self.has_jobs():
            return None
        return int((~self.job_index.contains(job_ids)).sum())

    def write(self, directory: Path) -> dict[str, Path]:
        """Write the listed frames as Parquet files in ``directory``; the files written, by the
        name a bundle gives them."""
        written: dict[str, Path] = {}
        for name, key, file in (
            ("jobs", JOB_KEY, JOBS_PARQUET),
            ("users", USER_KEY, USERS_PARQUET),
        ):
            source = self._sources[key]
            if source is None:
                continue
            path = directory / file
            if isinstance(source, Path):  # written sorted when read: copied, never loaded
                shutil.copyfile(source, path)
            else:
                source.sort(key).write_parquet(path, statistics=False)
            written[name] = path
        return written
