"""The model lifecycle: retrain in the background, swap bundles in atomically, roll back, prune.

* :class:`RetrainManager` runs retraining jobs one at a time in a child process;
* :class:`ModelSwitch` verifies a bundle and swaps it in (activate, roll back, follow ``CURRENT``);
* :class:`BundleWatcher` follows ``CURRENT`` when someone else moves it;
* :func:`prune_bundles` keeps the newest N bundles;
* :class:`Lifecycle` bundles the three for one service process.

This package is below the API: it never imports :mod:`recommender.api`, and the API hands it the
model slot through the small :class:`ModelHolder` protocol.
"""

from __future__ import annotations

from recommender.bundle.pruning import prune_bundles
from recommender.lifecycle.manager import RetrainManager
from recommender.lifecycle.retrain_jobs import JobStatus, Phase, RetrainJob
from recommender.lifecycle.runtime import Lifecycle
from recommender.lifecycle.switch import BundleInfo, ModelHolder, ModelSwitch, Swap
from recommender.lifecycle.watcher import BundleWatcher

__all__ = [
    "BundleInfo",
    "BundleWatcher",
    "JobStatus",
    "Lifecycle",
    "ModelHolder",
    "ModelSwitch",
    "Phase",
    "RetrainJob",
    "RetrainManager",
    "Swap",
    "prune_bundles",
]
