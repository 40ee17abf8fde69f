"""A model directory: its bundles (one directory per version) and the ``CURRENT`` pointer.

``CURRENT`` names the version in use, on one line, and is replaced atomically; without it the
newest bundle is current. Versions sort by the time they were written.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

from recommender.errors import BundleCorruptError, BundleNotFoundError

MANIFEST = "manifest.json"
CURRENT = "CURRENT"
VERSION_RE = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{8}$")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def new_version(now: datetime | None = None) -> str:
    """A sortable, unique bundle name: UTC time to the microsecond plus 8 random hex digits."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


def set_current(model_dir: Path, version: str) -> None:
    """Point ``CURRENT`` at ``version`` atomically (write a temporary file, then rename it)."""
    model_dir = Path(model_dir)
    if not (model_dir / version / MANIFEST).is_file():
        raise BundleNotFoundError(f"no bundle {version!r} in {model_dir}")
    tmp = model_dir / f".{CURRENT}.{uuid.uuid4().hex[:8]}"
    tmp.write_text(version + "\n", encoding="utf-8")
    tmp.replace(model_dir / CURRENT)
    fsync_dir(model_dir)


def list_bundles(model_dir: Path) -> list[str]:
    """The complete bundles in ``model_dir``, oldest first."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return []
    return sorted(
        p.name for p in model_dir.iterdir() if VERSION_RE.match(p.name) and (p / MANIFEST).exists()
    )


def current_version(model_dir: Path) -> str:
    """The version ``CURRENT`` names, or else the newest bundle."""
    model_dir = Path(model_dir)
    pointer = model_dir / CURRENT
    if pointer.is_file():
        version = pointer.read_text(encoding="utf-8").strip()
        if not VERSION_RE.match(version):
            raise BundleCorruptError(f"{pointer} names {version!r}, which is not a bundle version")
        return version
    bundles = list_bundles(model_dir)
    if not bundles:
        raise BundleNotFoundError(
            f"no model bundle in {model_dir}; run `python -m recommender train`"
        )
    return bundles[-1]
