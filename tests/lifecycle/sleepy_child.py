"""A stand-in for the training child that never finishes: what a server killed mid-training had.

It starts as :func:`recommender.lifecycle.worker.train_in_child` starts (the same
:func:`~recommender.lifecycle.worker.die_with_parent`), writes its process id to ``pid`` in
the model directory, reports the reading phase and sleeps.
"""

from __future__ import annotations

import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from recommender.lifecycle.worker import PhaseReport, die_with_parent


def train_forever(
    conn: Connection, values: dict[str, Any], window_days: int | None, parent: int
) -> None:
    die_with_parent(parent)
    conn.send(PhaseReport("reading"))
    import os

    (Path(values["model_dir"]) / "pid").write_text(str(os.getpid()))
    time.sleep(300)
