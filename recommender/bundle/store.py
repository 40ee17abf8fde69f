"""Object storage (``s3://bucket/prefix``) for data and model bundles, through fsspec.

The service reads and trains on local files and serves memory-mapped local bundles; an object store
is the place they are published to and fetched from:

* :class:`ModelStore` mirrors a model directory (``<version>/`` bundles and ``CURRENT``) in a
  bucket. A bundle is uploaded file by file with its ``manifest.json`` last, and ``CURRENT`` after
  that, so a reader never sees half a bundle; fetching downloads into a temporary directory renamed
  into place, and :func:`recommender.bundle.files.load_bundle` then verifies every checksum as
  for any local bundle.

Credentials and the endpoint come from the standard AWS environment (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL``,
profiles, instance roles), as boto does. ``s3fs`` is needed only when a location is a URL.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

from recommender.bundle.directory import CURRENT, MANIFEST, POINTER_BYTES, VERSION_RE, check_member
from recommender.data.remote import filesystem
from recommender.errors import BundleNotFoundError, StorageError


class ModelStore:
    """A model directory in object storage.

    Parameters
    ----------
    url:
        ``s3://bucket/prefix`` (any fsspec URL); bundles are ``<url>/<version>/``.
    """

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._fs, self._root = filesystem(self.url)

    def _call(self, doing: str, action: Any, *args: Any, writing: bool = False) -> Any:
        """``action(*args)``; a backend error becomes :class:`StorageError`, and so does a missing
        file or bucket when ``writing`` (on a read, FileNotFoundError means "absent")."""
        try:
            return action(*args)
        except FileNotFoundError as exc:
            if writing:
                raise StorageError(f"{self.url}: {doing} failed: {exc}") from exc
            raise
        except Exception as exc:  # every backend error becomes one domain error
            raise StorageError(f"{self.url}: {doing} failed: {exc}") from exc

    def current_version(self) -> str | None:
        """The version ``CURRENT`` names, or None when there is no pointer yet."""
        pointer = f"{self._root}/{CURRENT}"
        try:  # never read whole: a pointer is one short line, whatever the object holds
            size = self._call("reading CURRENT", self._fs.info, pointer).get("size")
            if isinstance(size, int) and size > POINTER_BYTES:
                raise StorageError(
                    f"{self.url}/{CURRENT} is {size} bytes long, over {POINTER_BYTES}: it names no "
                    "bundle version"
                )
            raw = self._call("reading CURRENT", self._fs.cat_file, pointer)
        except FileNotFoundError:
            return None
        version = bytes(raw).decode("utf-8", "replace").strip()
        if not VERSION_RE.match(version):
            raise StorageError(f"{self.url}/{CURRENT} names {version!r}, not a bundle version")
        return version

    def versions(self) -> list[str]:
        """The bundles with a manifest (complete uploads), oldest first."""
        self._fs.invalidate_cache(self._root)
        try:
            entries = self._call("listing", self._fs.ls, self._root, False)
        except FileNotFoundError:
            return []
        names = sorted({str(e).rstrip("/").rsplit("/", 1)[-1] for e in entries})
        return [
            n
            for n in names
            if VERSION_RE.match(n) and self._fs.exists(f"{self._root}/{n}/{MANIFEST}")
        ]

    def fetch(self, version: str, model_dir: Path) -> Path:
        """Download bundle ``version`` into ``model_dir/<version>`` (kept if already there).

        Raises
        ------
        BundleNotFoundError
            The store has no complete bundle ``version``.
        """
        model_dir = Path(model_dir)
        final = model_dir / version
        if (final / MANIFEST).is_file():
            return final
        remote = f"{self._root}/{version}"
        try:
            manifest = json.loads(
                self._call("reading a manifest", self._fs.cat_file, f"{remote}/{MANIFEST}")
            )
        except FileNotFoundError as exc:
            raise BundleNotFoundError(f"no bundle {version!r} in {self.url}") from exc
        except json.JSONDecodeError as exc:
            raise StorageError(f"{self.url}/{version}/{MANIFEST} is not JSON: {exc}") from exc
        if not isinstance(manifest, dict):
            raise StorageError(f"{self.url}/{version}/{MANIFEST} does not hold a JSON object")
        files, catalogue = manifest.get("files") or {}, manifest.get("catalogue_files") or {}
        if not isinstance(files, dict) or not isinstance(catalogue, dict):
            raise StorageError(f"{self.url}/{version}/{MANIFEST} lists no files")
        listed = {**files, **catalogue}
        for name in listed:  # a name like ../../x would be written outside the bundle
            check_member(name, f"{self.url}/{version}/{MANIFEST}")
        model_dir.mkdir(parents=True, exist_ok=True)
        tmp = model_dir / f".fetch-{version}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            for name in [*listed, MANIFEST]:
                try:
                    self._call(
                        "downloading", self._fs.get_file, f"{remote}/{name}", str(tmp / name)
                    )
                except FileNotFoundError as exc:
                    raise StorageError(f"{self.url}/{version}/{name} is missing") from exc
            try:
                tmp.rename(final)
            except OSError:
                if not (final / MANIFEST).is_file():  # not another process fetching it too
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return final

    def publish(self, bundle_dir: Path, *, make_current: bool = True) -> str:
        """Upload a local bundle (its manifest last), then point ``CURRENT`` at it if asked."""
        bundle_dir = Path(bundle_dir)
        if not (bundle_dir / MANIFEST).is_file():
            raise BundleNotFoundError(f"no bundle to publish in {bundle_dir}")
        version = bundle_dir.name
        remote = f"{self._root}/{version}"
        files = sorted(p for p in bundle_dir.iterdir() if p.is_file() and p.name != MANIFEST)
        for path in [*files, bundle_dir / MANIFEST]:
            self._call(
                "uploading", self._fs.put_file, str(path), f"{remote}/{path.name}", writing=True
            )
        if make_current:
            self.set_current(version)
        return version

    def set_current(self, version: str) -> None:
        """Point ``CURRENT`` at ``version`` (one object write, atomic for readers)."""
        if not VERSION_RE.match(version):
            raise StorageError(f"{version!r} is not a bundle version")
        self._call(
            "writing CURRENT",
            self._fs.pipe_file,
            f"{self._root}/{CURRENT}",
            (version + "\n").encode(),
            writing=True,
        )

    def delete(self, version: str) -> None:
        """Remove bundle ``version`` (manifest first, so it stops being listed at once)."""
        remote = f"{self._root}/{version}"
        with contextlib.suppress(FileNotFoundError):
            self._call("deleting", self._fs.rm_file, f"{remote}/{MANIFEST}")
        with contextlib.suppress(FileNotFoundError):
            self._call("deleting", self._fs.rm, remote, True)
