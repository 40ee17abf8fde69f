"""A trained model on disk: a versioned, checksummed directory, loaded whole or refused.

Layout of a model directory (see :mod:`recommender.bundle.directory` for ``CURRENT``)::

    models/
      CURRENT                       the version in use (one line); replaced atomically
      20261122T051500123456Z-3f9a1c2e/
        manifest.json               format, model kind and params, provenance, checksums
        user_ids.npy  job_ids.npy   the id maps (sorted ids; row k is the k-th id)
        model.<name>.npy            the model's own arrays (for ALS: user_factors, item_factors)
        interactions.{indptr,indices,data}.npy   users × jobs implicit scores (CSR)
        redirected.{indptr,indices}.npy          pairs with a redirect (CSR pattern)
        popularity.npy
        user_top.{cols,scores}.npy               each user's ranked jobs, if precomputed
        similar_top.{cols,scores}.npy            each job's similar jobs, if precomputed
        interactions.{impressions,redirects}.npy  each pair's clipped funnel counts, if any
        jobs.{expires_at,employer}.npy           job rules data (epoch µs, employer code), if any
        content.{words,word_vectors,word_weights,job_vectors}.npy   content vectors, if any (the
                                                 words a str array, stored without pickle), with
        content.{profile_words,profile_vectors,field_words,field_weight}.npy  where trained
        catalogue.{jobs,users}.parquet           every listed job and user profile, if any (listed
                                                 apart, under catalogue_files, so that a reader
                                                 from before the catalogue still loads the bundle)

A bundle is written under a temporary name and renamed into place, so a crash never leaves half a
bundle.
Arrays are plain ``.npy`` files (no pickle), so they can be memory-mapped and read by other tools;
the catalogue's text is Parquet, read only when asked for.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recommender.bundle.directory import (
    MANIFEST,
    bundle_path,
    current_version,
    fsync_dir,
    member_path,
    new_version,
    set_current,
)
from recommender.bundle.manifest import FORMAT_VERSION, Manifest
from recommender.bundle.trained import Funnel, TrainedModel
from recommender.content.vectors import ContentVectors
from recommender.data.catalogue import JOBS_PARQUET, USERS_PARQUET, Catalogue
from recommender.errors import (
    BundleCorruptError,
    BundleIncompatibleError,
)
from recommender.matrix import IdIndex
from recommender.models.registry import MODEL_KINDS
from recommender.ranking.rules import JobMeta
from recommender.ranking.topn import TopLists

_LIBRARIES = ("numpy", "scipy", "implicit", "polars", "duckdb")


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries that shape a trained model."""
    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _arrays_of(trained: TrainedModel) -> dict[str, NDArray[Any]]:
    arrays: dict[str, NDArray[Any]] = {
        "user_ids": trained.users.ids,
        "job_ids": trained.jobs.ids,
        "interactions.indptr": trained.interactions.indptr,
        "interactions.indices": trained.interactions.indices,
        "interactions.data": trained.interactions.data,
        "redirected.indptr": trained.redirected.indptr,
        "redirected.indices": trained.redirected.indices,
        "popularity": trained.popularity,
    }
    for name in ("user_top", "similar_top"):
        lists = getattr(trained, name)
        if lists is not None:
            arrays[f"{name}.cols"] = lists.cols
            arrays[f"{name}.scores"] = lists.scores
    if trained.funnel is not None:
        arrays["interactions.impressions"] = trained.funnel.impressions
        arrays["interactions.redirects"] = trained.funnel.redirects
    if trained.job_meta is not None:
        arrays["jobs.expires_at"] = trained.job_meta.expires_at
        arrays["jobs.employer"] = trained.job_meta.employer
    if trained.content is not None:
        for name, array in trained.content.arrays().items():
            arrays[f"content.{name}"] = array
    for name, array in trained.model.arrays().items():
        arrays[f"model.{name}"] = array
    return arrays


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def write_bundle(trained: TrainedModel, model_dir: Path, *, make_current: bool = True) -> Path:
    """Write ``trained`` as a new bundle in ``model_dir`` and (by default) point ``CURRENT`` at it.

    Returns the bundle's directory. The bundle appears under its final name only once complete.
    """
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    version = new_version()
    tmp = model_dir / f".tmp-{version}"
    tmp.mkdir()
    try:
        checksums: dict[str, str] = {}
        catalogue_checksums: dict[str, str] = {}
        for name, array in _arrays_of(trained).items():
            path = tmp / f"{name}.npy"
            with path.open("wb") as handle:
                np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
                handle.flush()
                os.fsync(handle.fileno())
            checksums[path.name] = _sha256(path)
        if trained.catalogue is not None:
            for path in trained.catalogue.write(tmp).values():
                catalogue_checksums[path.name] = _sha256(path)
        manifest = trained.manifest.model_copy(
            update={
                "format_version": FORMAT_VERSION,
                "version": version,
                "libraries": library_versions(),
                "files": checksums,
                "catalogue_files": catalogue_checksums,
            }
        )
        with (tmp / MANIFEST).open("w", encoding="utf-8") as handle:
            json.dump(manifest.to_json(), handle, indent=2, sort_keys=True, default=str)
            handle.flush()
            os.fsync(handle.fileno())
        final = model_dir / version
        tmp.rename(final)
        fsync_dir(model_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    trained.manifest = manifest.model_copy(update={"files": {}, "catalogue_files": {}})
    if trained.catalogue is not None:  # from now on read from the bundle, not the run's files
        trained.catalogue = _catalogue(catalogue_checksums, final)
    if make_current:
        set_current(model_dir, version)
    return final


def read_manifest(bundle_dir: Path) -> dict[str, Any]:
    """The parsed ``manifest.json`` of a bundle, checked for format version and model kind."""
    path = Path(bundle_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BundleCorruptError(f"{path} is missing") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleCorruptError(f"{path} is unreadable: {exc}") from exc
    if not isinstance(manifest, dict):
        raise BundleCorruptError(f"{path} does not hold a JSON object")
    fmt = manifest.get("format_version")
    if fmt != FORMAT_VERSION:
        raise BundleIncompatibleError(
            f"{bundle_dir} has format_version {fmt!r}; this service reads {FORMAT_VERSION}"
        )
    kind = (
        manifest.get("model", {}).get("kind") if isinstance(manifest.get("model"), dict) else None
    )
    if kind not in MODEL_KINDS:
        raise BundleIncompatibleError(
            f"{bundle_dir} holds model kind {kind!r}; known kinds: {sorted(MODEL_KINDS)}"
        )
    if not isinstance(manifest.get("files"), dict):
        raise BundleCorruptError(f"{path} lists no files")
    catalogue = manifest.get("catalogue_files") or {}
    if not isinstance(catalogue, dict):
        raise BundleCorruptError(f"{path}: catalogue_files is not an object")
    for name in [*manifest["files"], *catalogue]:
        member_path(Path(bundle_dir), name)  # refuses ../ and the like before anything is opened
    return manifest


def load_bundle(model_dir: Path, version: str | None = None, *, mmap: bool = True) -> TrainedModel:
    """Load and verify a bundle (``CURRENT`` by default); refuse it whole if anything is wrong.

    With ``mmap`` (the default) the arrays are memory-mapped read-only, so every process serving
    the bundle shares one copy of them in the page cache instead of holding its own.

    Raises
    ------
    BundleNotFoundError
        No bundle exists.
    BundleCorruptError
        A file is missing or unreadable, or a checksum does not match.
    BundleIncompatibleError
        The bundle's format version or model kind is not supported.
    """
    model_dir = Path(model_dir)
    version = version or current_version(model_dir)
    bundle_dir = bundle_path(model_dir, version)
    if not bundle_dir.is_dir():
        # CURRENT (or the caller) names a bundle that is gone: refuse it, as a corrupt one
        raise BundleCorruptError(f"bundle {bundle_dir} does not exist")
    manifest = read_manifest(bundle_dir)
    arrays: dict[str, NDArray[Any]] = {}
    catalogue_files = manifest.get("catalogue_files") or {}
    for filename, expected in (manifest["files"] | catalogue_files).items():
        path = member_path(bundle_dir, filename)
        if path.is_symlink():  # never written so: it would hash and map a file from elsewhere
            raise BundleCorruptError(f"{path} is a symbolic link: refusing the bundle")
        if not path.is_file():
            raise BundleCorruptError(f"{path} is missing")
        if _sha256(path) != expected:
            raise BundleCorruptError(f"{path} fails its checksum: the bundle is corrupt")
        if filename in catalogue_files:
            continue  # the catalogue's Parquet files: read when asked for
        try:
            arrays[filename.removesuffix(".npy")] = np.load(
                path, allow_pickle=False, mmap_mode="r" if mmap else None
            )
        except (OSError, ValueError) as exc:
            raise BundleCorruptError(f"{path} is unreadable: {exc}") from exc
    try:
        return _assemble(manifest, arrays, bundle_dir)
    except (KeyError, ValueError, TypeError) as exc:
        raise BundleCorruptError(f"{bundle_dir} is inconsistent: {exc}") from exc


def _top_lists(arrays: dict[str, NDArray[Any]], name: str) -> TopLists | None:
    if f"{name}.cols" not in arrays:
        return None
    return TopLists(arrays[f"{name}.cols"], arrays[f"{name}.scores"])


def _job_meta(arrays: dict[str, NDArray[Any]]) -> JobMeta | None:
    if "jobs.expires_at" not in arrays:
        return None  # a bundle written before job rules: nothing expires, no employers
    return JobMeta(
        expires_at=np.asarray(arrays["jobs.expires_at"], dtype=np.int64),
        employer=np.asarray(arrays["jobs.employer"], dtype=np.int32),
    )


def _funnel(arrays: dict[str, NDArray[Any]]) -> Funnel | None:
    if "interactions.impressions" not in arrays:
        return None  # a bundle written before funnel counts: new events are scored on their own
    return Funnel(
        impressions=np.asarray(arrays["interactions.impressions"], dtype=np.float32),
        redirects=np.asarray(arrays["interactions.redirects"], dtype=np.float32),
    )


def _content(arrays: dict[str, NDArray[Any]]) -> ContentVectors | None:
    found = {k.removeprefix("content."): v for k, v in arrays.items() if k.startswith("content.")}
    if not found:
        return None  # a bundle written before content, or trained without it
    return ContentVectors.from_arrays(found)


def _catalogue(files: dict[str, Any], bundle_dir: Path) -> Catalogue | None:
    jobs, users = (
        bundle_dir / name if name in files else None for name in (JOBS_PARQUET, USERS_PARQUET)
    )
    if jobs is None and users is None:
        return None  # a bundle written before the catalogue, or from inputs that listed none
    return Catalogue(jobs, users)


def _assemble(
    manifest: dict[str, Any], arrays: dict[str, NDArray[Any]], bundle_dir: Path
) -> TrainedModel:
    for name in ("user_ids", "job_ids"):
        ids = arrays[name]
        if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer) or (np.diff(ids) <= 0).any():
            raise ValueError(f"{name} must be sorted, unique integers (another writer's bundle?)")
    users = IdIndex.from_sorted_unique(arrays["user_ids"])
    jobs = IdIndex.from_sorted_unique(arrays["job_ids"])
    shape = (len(users), len(jobs))
    interactions = sp.csr_matrix(
        (
            arrays["interactions.data"],
            arrays["interactions.indices"],
            arrays["interactions.indptr"],
        ),
        shape=shape,
    )
    redirected_indices = arrays["redirected.indices"]
    redirected = sp.csr_matrix(
        (
            np.ones(redirected_indices.shape[0], dtype=np.float32),
            redirected_indices,
            arrays["redirected.indptr"],
        ),
        shape=shape,
    )
    model_cls = MODEL_KINDS[manifest["model"]["kind"]]
    model_arrays = {
        k.removeprefix("model."): v for k, v in arrays.items() if k.startswith("model.")
    }
    model = model_cls.from_arrays(manifest["model"].get("params", {}), model_arrays)
    return TrainedModel(
        model=model,
        users=users,
        jobs=jobs,
        interactions=interactions,
        redirected=redirected,
        popularity=np.asarray(arrays["popularity"], dtype=np.float32),
        user_top=_top_lists(arrays, "user_top"),
        similar_top=_top_lists(arrays, "similar_top"),
        job_meta=_job_meta(arrays),
        funnel=_funnel(arrays),
        manifest=Manifest.model_validate(
            {k: v for k, v in manifest.items() if k not in ("files", "catalogue_files")}
        ),
        catalogue=_catalogue(manifest.get("catalogue_files") or {}, bundle_dir),
        content=_content(arrays),
    )
