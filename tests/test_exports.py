"""``recommender.__all__``: sorted, complete and importable (as httpx holds its own)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types
from pathlib import Path

import recommender

ROOT = Path(__file__).resolve().parents[1]


def test_all_is_sorted() -> None:
    assert recommender.__all__ == sorted(recommender.__all__, key=lambda n: (not n.isupper(), n))


def test_every_public_name_is_exported_and_importable() -> None:
    public = {
        name
        for name, value in vars(recommender).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"
    }
    assert public == set(recommender.__all__)
    fresh = importlib.import_module("recommender")
    for name in recommender.__all__:
        assert getattr(fresh, name) is getattr(recommender, name)
        exec(f"from recommender import {name}", {})


def test_importing_the_package_loads_no_training_engine() -> None:
    """Serving needs no training engine, nor the frame libraries training reads with."""
    code = (
        "import sys, recommender\n"
        "heavy = [m for m in ('polars', 'duckdb', 'pyspark', 'implicit') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.strip() == ""
