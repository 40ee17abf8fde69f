"""Input files in object storage (``s3://bucket/prefix``), through fsspec: URLs, local caches,
and :func:`fetch_inputs`, which copies a data prefix's input files into a local cache, skipping
the ones already there unchanged (same size and ETag or modification time).

Credentials and the endpoint come from the standard AWS environment, as boto does. ``s3fs`` is
needed only when a location is a URL.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from recommender.errors import StorageError

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def is_url(location: str | Path) -> bool:
    """Whether ``location`` is a URL (``s3://…``), not a local path (``file://`` is local)."""
    text = str(location)
    return bool(_URL.match(text)) and not text.lower().startswith("file://")


def local_cache_for(url: str, cache_dir: Path) -> Path:
    """Where a URL's files are kept locally: ``cache_dir/<scheme>/<bucket>/<prefix>``."""
    scheme, _, rest = url.partition("://")
    parts = [p for p in rest.split("/") if p not in ("", ".", "..")]
    return Path(cache_dir, scheme.lower(), *parts)


def filesystem(url: str) -> tuple[Any, str]:
    try:
        import fsspec  # noqa: PLC0415 - only a location that is a URL needs it
    except ImportError as exc:  # pragma: no cover - fsspec comes with the runtime requirements
        raise StorageError(f"{url}: object storage needs fsspec and s3fs installed") from exc
    try:
        fs, root = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise StorageError(f"{url}: no filesystem for this URL ({exc})") from exc
    return fs, str(root).rstrip("/")


def fetch_inputs(url: str, names: list[str], cache_dir: Path) -> Path:
    """Copy the files ``names`` under ``url`` that exist into a local cache directory.

    A file already cached with the same size and ETag (or modification time) is not downloaded
    again. Returns the local directory.

    Raises
    ------
    StorageError
        The store cannot be read.
    """
    fs, root = filesystem(url)
    local = local_cache_for(url, cache_dir)
    local.mkdir(parents=True, exist_ok=True)
    fs.invalidate_cache(root)
    for name in names:
        remote = f"{root}/{name}"
        try:
            info = fs.info(remote)
        except FileNotFoundError:
            (local / name).unlink(missing_ok=True)
            continue
        except Exception as exc:
            raise StorageError(f"{url}/{name}: cannot be read: {exc}") from exc
        stamp = json.dumps(
            [info.get("size"), info.get("ETag") or info.get("etag"), str(info.get("LastModified"))]
        )
        marker = local / f".{name}.source"
        target = local / name
        if target.is_file() and marker.is_file() and marker.read_text() == stamp:
            continue
        tmp = local / f".{name}.{uuid.uuid4().hex[:8]}"
        try:
            fs.get_file(remote, str(tmp))
            tmp.replace(target)
        except Exception as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"{url}/{name}: download failed: {exc}") from exc
        marker.write_text(stamp)
    return local
