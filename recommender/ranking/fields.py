"""What filters read: each job column's value of a string field, as an integer code.

A request filters on the jobs' metadata (``{"city": ["Leeds"]}``) through
:class:`~recommender.ranking.stages.Filters`; the values come from the catalogue
(:meth:`~recommender.data.catalogue.Catalogue.job_values`), which reads them with polars. That
happens once per field, on the first request naming it: from then on a filter is a lookup of
integer codes, and the request path touches no frame.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from recommender.errors import UnknownFieldError

if TYPE_CHECKING:  # the catalogue's frames are read only when a filter asks
    from recommender.data.catalogue import Catalogue


@dataclass(frozen=True)
class FieldCodes:
    """One string field over a model's job columns.

    Attributes
    ----------
    codes:
        Each job column's value as a code from 1; 0 where the job has no value.
    index:
        Each value's code.
    """

    codes: NDArray[np.int32]
    index: Mapping[str, int]

    def allowed(self, values: Iterable[str]) -> NDArray[np.bool_]:
        """By code, whether it is one of ``values`` (exact match; a value no job has matches
        nothing, and a job with no value is never allowed)."""
        ok = np.zeros(len(self.index) + 1, dtype=np.bool_)
        ok[[self.index[v] for v in values if v in self.index]] = True
        return ok


class JobFields:
    """The string fields of a model's jobs, each coded once, when a filter first names it.

    Safe to share between the threads serving requests: a field is built under a lock, and
    read without one once built.

    Parameters
    ----------
    catalogue:
        The listed jobs; None for a model trained without them (no field is known).
    job_ids:
        The job id of each of the model's columns.
    """

    def __init__(self, catalogue: Catalogue | None, job_ids: NDArray[np.int64]) -> None:
        self._catalogue = catalogue
        self._job_ids = job_ids
        self._built: dict[str, FieldCodes] = {}
        self._lock = threading.Lock()

    def known(self) -> tuple[str, ...]:
        """The fields a filter may name, sorted."""
        if self._catalogue is None:
            return ()
        return self._catalogue.job_fields

    def codes(self, field: str) -> FieldCodes:
        """``field``'s codes over the job columns.

        Raises
        ------
        UnknownFieldError
            ``field`` is not one of :meth:`known`.
        """
        built = self._built.get(field)
        return built if built is not None else self._build(field)

    def _build(self, field: str) -> FieldCodes:
        with self._lock:
            built = self._built.get(field)
            if built is not None:
                return built
            known = self.known()
            if field not in known:
                raise UnknownFieldError(field, known)
            assert self._catalogue is not None  # known() is empty without one
            codes, values = self._catalogue.job_values(field, self._job_ids)
            built = FieldCodes(codes + 1, {value: code + 1 for code, value in enumerate(values)})
            self._built[field] = built
            return built
