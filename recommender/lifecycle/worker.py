"""The training process: :func:`recommender.training.run.train_directory` in a child of the service.

A child process (started with "spawn", a fresh interpreter) means a crash or an out-of-memory kill
in training cannot take the server down, and the memory training used goes back to the system
when it ends; and it ends with the server (:func:`die_with_parent`), so a server killed outright
leaves no training behind. It reports through a pipe: :class:`PhaseReport` as it goes, then one
:class:`Trained` or :class:`TrainingFailed`.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.connection import Connection
from typing import Any

from recommender.errors import RecommenderError
from recommender.lifecycle.retrain_jobs import Phase
from recommender.settings import Settings


@dataclass(frozen=True)
class PhaseReport:
    """The child entered ``phase``; ``fraction`` is how far through it (fitting iterations)."""

    phase: Phase
    fraction: float = 0.0


@dataclass(frozen=True)
class Trained:
    """The child wrote bundle ``version`` (without moving ``CURRENT``) in ``seconds``."""

    version: str
    seconds: float


@dataclass(frozen=True)
class TrainingFailed:
    """Training stopped with ``error`` (a domain error's message, or the exception's type too)."""

    error: str


Report = PhaseReport | Trained | TrainingFailed

PR_SET_PDEATHSIG = 1
"""Linux's prctl option: the signal a process gets when its parent ends."""
PARENT_CHECK_SECONDS = 1.0
"""How often the fallback thread of :func:`die_with_parent` checks the parent."""


def die_with_parent(parent: int) -> None:
    """End this process (SIGKILL) as soon as process ``parent``, its parent, ends.

    On Linux the kernel sends the signal (``prctl(PR_SET_PDEATHSIG)``); everywhere, a daemon
    thread also checks every :data:`PARENT_CHECK_SECONDS` that the parent is still ``parent`` (a
    child whose parent ends is handed to another), which covers a parent that ended before the
    ``prctl`` call and systems without it.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def train_in_child(
    conn: Connection, values: dict[str, Any], window_days: int | None, parent: int
) -> None:
    """The child's entry point: train, write a bundle beside the live one, report, exit.

    ``parent`` is the server's process id: the child ends with it (:func:`die_with_parent`).

    ``values`` are the server's settings as plain values (``Settings.model_dump()``), validated
    afresh here: the child imports the code on disk, which may be newer than the server's (an
    upgrade while it runs), and a pickled ``Settings`` would miss any field added since.
    """
    die_with_parent(parent)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.model_validate(values)
        # the service imports this module; the training code is loaded in the child only
        from recommender.evaluation.auto import AutoSelector  # noqa: PLC0415
        from recommender.training.fit import progress_steps  # noqa: PLC0415
        from recommender.training.run import (  # noqa: PLC0415
            Choice,
            LogSpec,
            train_directory,
        )

        conn.send(PhaseReport("reading"))
        steps = progress_steps(settings)

        def selecting(done: int, total: int, _what: str) -> None:
            conn.send(PhaseReport("selecting", done / max(total, 1)))

        def select(log_spec: LogSpec, chosen: Settings) -> Choice:
            nonlocal steps
            conn.send(PhaseReport("selecting"))
            choice = AutoSelector(selecting)(log_spec, chosen)
            steps = progress_steps(choice.settings)
            return choice

        def progress(done: int, _loss: float | None) -> None:
            if steps is None:
                return
            if done >= steps:
                conn.send(PhaseReport("writing"))
            else:
                conn.send(PhaseReport("fitting", done / steps))

        window = None if window_days is None else timedelta(days=window_days)
        result = train_directory(
            settings, window=window, make_current=False, progress=progress, select=select
        )
        conn.send(Trained(result.bundle_dir.name, result.seconds))
    except RecommenderError as exc:
        conn.send(TrainingFailed(str(exc)))
    except Exception as exc:
        traceback.print_exc()
        conn.send(TrainingFailed(f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()
