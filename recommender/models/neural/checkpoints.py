"""Where a neural training run keeps its checkpoint: a local directory or an ``s3://`` URL.

One file per run's identity (``neural-<fingerprint>.ckpt``: the data, the settings and the
seed): written after each epoch (locally to a temporary name, then renamed, so that a crash
leaves the previous one whole), read when the same run starts again, and removed once the
run has finished.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recommender.data.remote import filesystem, is_url
from recommender.errors import StorageError


def fingerprint(matrix: sp.csr_matrix, arrays: list[NDArray[Any]], settings: Any) -> str:
    """A digest of the training matrix, the other inputs and the settings (JSON)."""
    digest = hashlib.blake2b(digest_size=12)
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for part in (matrix.indptr, matrix.indices, matrix.data, *arrays):
        array = np.ascontiguousarray(part)
        digest.update(str((array.dtype.str, array.shape)).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


class Checkpoints:
    """The checkpoint of one training run in ``location`` (None: none is kept)."""

    def __init__(self, location: str | None, key: str) -> None:
        self.location = location
        self.name = f"neural-{key}.ckpt"

    @contextmanager
    def _storage(self, doing: str) -> Iterator[tuple[Any, str] | Path]:
        """The checkpoint's place, (filesystem, path) in object storage or a local path, with
        any OSError while ``doing`` turned into a :class:`StorageError`."""
        assert self.location is not None
        try:
            if is_url(self.location):
                fs, root = filesystem(self.location)
                yield fs, f"{root}/{self.name}"
            else:
                yield Path(self.location) / self.name
        except OSError as exc:
            raise StorageError(f"{self.location}: cannot {doing} the checkpoint ({exc})") from exc

    def read(self) -> bytes | None:
        """The last checkpoint's bytes, or None when there is none."""
        if self.location is None:
            return None
        with self._storage("read") as where:
            if isinstance(where, Path):
                return where.read_bytes() if where.is_file() else None
            fs, path = where
            return bytes(fs.cat_file(path)) if fs.exists(path) else None

    def write(self, data: bytes) -> None:
        """Replace the checkpoint with ``data`` (whole or not at all, locally)."""
        if self.location is None:
            return
        with self._storage("write") as where:
            if not isinstance(where, Path):
                fs, path = where
                fs.pipe_file(path, data)
                return
            where.parent.mkdir(parents=True, exist_ok=True)
            partial = where.with_name(f".{self.name}.partial")
            with partial.open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            partial.replace(where)

    def remove(self) -> None:
        """Forget the checkpoint (the run finished)."""
        if self.location is None:
            return
        with self._storage("remove") as where:
            if isinstance(where, Path):
                where.unlink(missing_ok=True)
                return
            fs, path = where
            if fs.exists(path):
                fs.rm_file(path)
