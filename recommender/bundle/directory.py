"""A model directory: its bundles (one directory per version) and the ``CURRENT`` pointer.

``CURRENT`` names the version in use, on one line, and is replaced atomically; without it the
newest bundle is current. Versions sort by the time they were written.

What the directory holds is not trusted: a ``CURRENT`` that is not a regular file (a directory, a
FIFO, a symbolic link out of the model directory) is refused, both when read and when it would
be replaced, and is read only as far as a version can reach; a bundle directory that is a
symbolic link out of the model directory, and a manifest entry that is not a plain file name
of its bundle (``../../etc/passwd``), are refused too (:func:`member_path`).
"""

from __future__ import annotations

import os
import re
import stat
import uuid
from datetime import UTC, datetime
from pathlib import Path

from recommender.data.input_file import file_kind
from recommender.errors import BundleCorruptError, BundleNotFoundError

MANIFEST = "manifest.json"
CURRENT = "CURRENT"
VERSION_RE = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{8}$")
POINTER_BYTES = 64
"""The most of ``CURRENT`` ever read: a version and its newline fit with room to spare."""


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
    _check_pointer(model_dir, "replacing")
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
    if _check_pointer(model_dir, "reading"):
        version = _read_pointer(pointer)
        if not VERSION_RE.match(version):
            raise BundleCorruptError(f"{pointer} names {version!r}, which is not a bundle version")
        return version
    bundles = list_bundles(model_dir)
    if not bundles:
        raise BundleNotFoundError(
            f"no model bundle in {model_dir}; run `python -m recommender train`"
        )
    return bundles[-1]


def _check_pointer(model_dir: Path, doing: str) -> bool:
    """Whether ``CURRENT`` exists; :class:`BundleCorruptError` if it is anything but a regular
    file (or a symbolic link to one in ``model_dir``)."""
    pointer = model_dir / CURRENT
    try:
        mode = pointer.lstat().st_mode
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise BundleCorruptError(f"{pointer} cannot be examined: {exc.strerror}") from exc
    if stat.S_ISLNK(mode):
        target = pointer.resolve()
        if target.parent != model_dir.resolve() or not target.is_file():
            raise BundleCorruptError(
                f"{pointer} is a symbolic link to {target}, not a file of {model_dir}: "
                f"refusing it ({doing} CURRENT); replace it with a regular file"
            )
        return True
    if not stat.S_ISREG(mode):
        raise BundleCorruptError(
            f"{pointer} is {file_kind(mode)}, not a regular file: refusing it ({doing} CURRENT); "
            "remove it, then point CURRENT at a bundle again"
        )
    return True


def _read_pointer(pointer: Path) -> str:
    """``CURRENT``'s text, stripped, read no further than :data:`POINTER_BYTES`."""
    try:
        with pointer.open("rb") as handle:
            raw = handle.read(POINTER_BYTES + 1)
    except OSError as exc:
        raise BundleCorruptError(f"{pointer} cannot be read: {exc.strerror}") from exc
    if len(raw) > POINTER_BYTES:
        raise BundleCorruptError(
            f"{pointer} is longer than {POINTER_BYTES} bytes, so it names no bundle version "
            f"(it starts {raw[:24]!r})"
        )
    return raw.decode("utf-8", "replace").strip()


def bundle_path(model_dir: Path, version: str) -> Path:
    """The directory of bundle ``version``; :class:`BundleCorruptError` if it is a symbolic
    link out of ``model_dir`` (it would serve files from anywhere)."""
    bundle_dir = Path(model_dir) / version
    if bundle_dir.is_symlink() and bundle_dir.resolve().parent != Path(model_dir).resolve():
        raise BundleCorruptError(
            f"bundle {bundle_dir} is a symbolic link to {bundle_dir.resolve()}, outside "
            f"{model_dir}: refusing it"
        )
    return bundle_dir


def member_path(bundle_dir: Path, name: object) -> Path:
    """The file ``name`` of a bundle's manifest, in ``bundle_dir`` (see :func:`check_member`)."""
    check_member(name, f"{bundle_dir}/{MANIFEST}")
    return bundle_dir / str(name)


def check_member(name: object, manifest: str) -> None:
    """:class:`BundleCorruptError` unless ``name``, listed by ``manifest``, is a plain file name
    (not a path such as ``../../etc/passwd``, nor a hidden name)."""
    if (
        not isinstance(name, str)
        or not name
        or name.startswith(".")
        or "/" in name
        or "\\" in name
        or "\0" in name
    ):
        raise BundleCorruptError(
            f"{manifest} lists {name!r}, which is not a file name of the bundle"
        )
