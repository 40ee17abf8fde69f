"""Job recommendations from impressions and redirects: implicit ALS behind a FastAPI service.

The public names; see each module for details. The package reads as the path data takes:
``data`` → ``models`` → ``ranking`` → ``bundle`` → ``events`` → ``recommender`` → ``training``
→ ``lifecycle``, ``evaluation``, ``spark`` → ``api``, ``cli`` (README, "Layout").
"""

from __future__ import annotations

from recommender.bundle.files import load_bundle, write_bundle
from recommender.bundle.manifest import Manifest
from recommender.bundle.trained import TrainedModel
from recommender.data.catalogue import Catalogue
from recommender.data.funnel import ScoringRule, implicit_score, score_counts
from recommender.errors import RecommenderError
from recommender.matrix import IdIndex, build_matrix
from recommender.models.base import Model
from recommender.models.registry import MODEL_NAMES, create_model
from recommender.recommender import Audience, Recommendation, Recommender
from recommender.settings import Settings, get_settings

__all__ = [
    "MODEL_NAMES",
    "Audience",
    "Catalogue",
    "IdIndex",
    "Manifest",
    "Model",
    "Recommendation",
    "Recommender",
    "RecommenderError",
    "ScoringRule",
    "Settings",
    "TrainedModel",
    "build_matrix",
    "create_model",
    "get_settings",
    "implicit_score",
    "load_bundle",
    "score_counts",
    "write_bundle",
]
