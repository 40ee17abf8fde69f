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

    def _where(self) -> tuple[Any, str] | None:
        if self.location is None:
            return None
        if is_url(self.location):
            fs, root = filesystem(self.location)
            return fs, f"{root}/{self.name}"
        return None

    def read(self) -> bytes | None:
        """The last checkpoint's bytes, or None when there is none."""
        if self.location is None:
            return None
        remote = self._where()
        try:
            if remote is not None:
                fs, path = remote
                if not fs.exists(path):
                    return None
                data: bytes = fs.cat_file(path)
                return data
            path_local = Path(self.location) / self.name
            return path_local.read_bytes() if path_local.is_file() else None
        except OSError as exc:
            raise StorageError(f"{self.location}: cannot read the checkpoint ({exc})") from exc

    def write(self, data: bytes) -> None:
        """Replace the checkpoint with ``data`` (whole or not at all, locally)."""
        if self.location is None:
            return
        remote = self._where()
        try:
            if remote is not None:
                fs, path = remote
                fs.pipe_file(path, data)
                return
            directory = Path(self.location)
            directory.mkdir(parents=True, exist_ok=True)
            partial = directory / f".{self.name}.partial"
            with partial.open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            partial.replace(directory / self.name)
        except OSError as exc:
            raise StorageError(f"{self.location}: cannot write the checkpoint ({exc})") from exc

    def remove(self) -> None:
        """Forget the checkpoint (the run finished)."""
        if self.location is None:
            return
        remote = self._where()
        try:
            if remote is not None:
                fs, path = remote
                if fs.exists(path):
                    fs.rm_file(path)
                return
            (Path(self.location) / self.name).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"{self.location}: cannot remove the checkpoint ({exc})") from exc
