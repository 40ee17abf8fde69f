"""Deleting old bundles: keep the newest N, never the one ``CURRENT`` names nor one being served."""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from recommender.bundle.directory import CURRENT, current_version, list_bundles
from recommender.bundle.store import ModelStore
from recommender.errors import BundleError, StorageError

log = logging.getLogger(__name__)

STALE_SECONDS = 3600.0
"""A writer's temporary bundle or pointer this old belongs to a writer that crashed."""
_DELETING = ".deleting-"


def prune_bundles(model_dir: Path, keep: int, protect: Iterable[str | None] = ()) -> list[str]:
    """Delete all but the newest ``keep`` bundles of ``model_dir``; return the deleted versions.

    Parameters
    ----------
    keep:
        How many of the newest bundles stay (at least 1).
    protect:
        Versions never deleted even when older (say, the one being served); the bundle ``CURRENT``
        names is always protected. Protected bundles do not count towards ``keep``.

    A bundle is renamed out of the way before it is deleted, so a reader never sees half of one.
    Leftovers of crashed writers (``.tmp-*`` bundles and ``.CURRENT.*`` pointers older than
    :data:`STALE_SECONDS`, and interrupted deletions) go too. Failures are logged, never raised:
    pruning must not fail the training or the swap it follows.
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    model_dir = Path(model_dir)
    kept = {version for version in protect if version is not None}
    with contextlib.suppress(BundleError):  # no readable CURRENT: nothing more to protect
        kept.add(current_version(model_dir))
    deleted: list[str] = []
    for version in list_bundles(model_dir)[:-keep]:
        if version in kept:
            continue
        doomed = model_dir / f"{_DELETING}{version}"
        try:
            (model_dir / version).rename(doomed)
        except OSError as exc:
            log.warning("could not delete bundle %s: %s", version, exc)
            continue
        shutil.rmtree(doomed, ignore_errors=True)
        deleted.append(version)
    if deleted:
        log.info("deleted %d old bundle(s) from %s: %s", len(deleted), model_dir, deleted)
    _clean_leftovers(model_dir)
    return deleted


def _clean_leftovers(model_dir: Path) -> None:
    if not model_dir.is_dir():
        return
    now = time.time()
    for path in model_dir.iterdir():
        try:
            if path.name.startswith(_DELETING):
                shutil.rmtree(path, ignore_errors=True)
            elif now - path.stat().st_mtime < STALE_SECONDS:
                continue  # perhaps a writer at work right now
            elif path.name.startswith(".tmp-") and path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
                log.info("deleted %s, left by a writer that stopped", path)
            elif path.name.startswith(f".{CURRENT}.") and path.is_file():
                path.unlink()
        except OSError as exc:  # gone meanwhile, or not ours to delete
            log.debug("leaving %s: %s", path, exc)


def prune_store(store: ModelStore, keep: int, protect: Iterable[str | None] = ()) -> list[str]:
    """Delete all but the newest ``keep`` bundles of an object store (``CURRENT``'s and the
    ``protect`` ones stay); return the deleted versions. Failures are logged, never raised."""
    try:
        kept = {v for v in protect if v is not None} | {store.current_version()}
        old = [v for v in store.versions()[:-keep] if v not in kept]
        for version in old:
            store.delete(version)
    except StorageError as exc:
        log.warning("pruning %s failed: %s", store.url, exc)
        return []
    if old:
        log.info("deleted %d old bundle(s) from %s", len(old), store.url)
    return old
