"""Factories for tiny datasets with known answers."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from recommender.bundle.trained import TrainedModel
from recommender.data.activities import ActivityLines
from recommender.data.catalogue import Catalogue
from recommender.data.dataset import Dataset
from recommender.lifecycle.logs import UVICORN_LOGGERS
from recommender.models.als import ALSParams
from recommender.settings import Settings, get_settings
from recommender.training.fit import train

WriteJsonl = Callable[[Path, Iterable[Any]], Path]


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests see neither the developer's RECOMMENDER_* variables nor a .env in the repository."""
    for name in list(os.environ):
        if name.startswith("RECOMMENDER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Undo what ``configure_logging("json")`` (an app with JSON logs) did to global logging."""
    root = logging.getLogger()
    saved_root = root.handlers[:], root.level
    loggers = [logging.getLogger(name) for name in UVICORN_LOGGERS]
    saved = [(logger.handlers[:], logger.propagate) for logger in loggers]
    yield
    root.handlers[:] = saved_root[0]
    root.setLevel(saved_root[1])
    for logger, (handlers, propagate) in zip(loggers, saved, strict=True):
        logger.handlers[:] = handlers
        logger.propagate = propagate


def write_jsonl(path: Path, records: Iterable[Any]) -> Path:
    """Write records as JSON Lines; a ``str`` record is written verbatim (for malformed lines)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def jsonl() -> WriteJsonl:
    return write_jsonl


def block_activities(
    n_blocks: int = 2, users_per_block: int = 6, jobs_per_block: int = 5
) -> list[dict[str, Any]]:
    """Users in block b redirect to every job of block b except one (job b*jobs + (u % jobs)).

    The known answer: a user's top recommendation lies in their own block, and each job's most
    similar jobs are in its block. User ids are 100 + row, job ids 1000 + column.
    """
    records: list[dict[str, Any]] = []
    for b in range(n_blocks):
        for u in range(users_per_block):
            user = 100 + b * users_per_block + u
            held_out = u % jobs_per_block
            for j in range(jobs_per_block):
                if j == held_out:
                    continue
                job = 1000 + b * jobs_per_block + j
                records.append({"user_id": user, "job_id": job, "type": "impression"})
                records.append({"user_id": user, "job_id": job, "type": "redirect"})
    return records


def block_csv(path: Path, sep: str = ",", header: bool = True) -> Path:
    """``block_activities`` as one row per (user, job) with ``clicks`` 1: each row a redirect."""
    pairs = sorted({(r["user_id"], r["job_id"]) for r in block_activities()})
    lines = (["user,item,clicks"] if header else []) + [f"{u},{j},1" for u, j in pairs]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines).replace(",", sep) + "\n")
    return path


def activities_frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": np.array([r["user_id"] for r in records], dtype=np.int64),
            "job_id": np.array([r["job_id"] for r in records], dtype=np.int64),
            "is_redirect": [r["type"] == "redirect" for r in records],
            "timestamp": [None] * len(records),
        },
        schema_overrides={"timestamp": pl.Datetime("us", "UTC")},
    )


def tiny_settings(tmp_path: Path | None = None, **als: Any) -> Settings:
    params = {"factors": 4, "iterations": 15, "regularization": 1.0} | als
    extra: dict[str, Any] = {}
    if tmp_path is not None:
        extra = {"data_dir": tmp_path / "data", "model_dir": tmp_path / "models"}
    return Settings(als=ALSParams(**params), seed=7, train_threads=1, **extra)


@pytest.fixture
def block_records() -> list[dict[str, Any]]:
    return block_activities()


@pytest.fixture
def tiny_trained(block_records: list[dict[str, Any]]) -> TrainedModel:
    dataset = Dataset(
        activities=ActivityLines.unweighted(activities_frame(block_records)),
        catalogue=Catalogue(),
        reports=(),
    )
    return train(dataset, tiny_settings())


PAST = datetime(2020, 1, 1, tzinfo=UTC)
FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def block_jobs() -> pl.DataFrame:
    """A jobs frame for :func:`block_activities` (2 blocks of 5 jobs, ids 1000-1009).

    Job 1000 expired in 2020 (user 100's best job otherwise); 1001 expires in 2100; the rest never.
    Employers: 1000-1003 "acme", 1004 "bolt", 1005-1008 "core"; 1009 is not in the file.
    """
    return pl.DataFrame(
        {
            "job_id": list(range(1000, 1009)),
            "employer": ["acme"] * 4 + ["bolt"] + ["core"] * 4,
            "expires_at": [PAST, FUTURE] + [None] * 7,
        },
        schema_overrides={"expires_at": pl.Datetime("us", "UTC")},
    )


@pytest.fixture
def rules_trained(block_records: list[dict[str, Any]]) -> TrainedModel:
    """The block model trained with :func:`block_jobs` as its jobs.jsonl."""
    dataset = Dataset(
        ActivityLines.unweighted(activities_frame(block_records)),
        catalogue=Catalogue(block_jobs()),
        reports=(),
    )
    return train(dataset, tiny_settings())
