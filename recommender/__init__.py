"""Job recommendations from impressions and redirects: implicit ALS behind a FastAPI service.

The public names; see each module for details.
"""

from __future__ import annotations

from recommender.data.funnel import implicit_score, score_counts
from recommender.errors import RecommenderError
from recommender.matrix import IdIndex, build_matrix
from recommender.recommender import Recommendation, Recommender
from recommender.settings import Settings, get_settings

__all__ = [
    "IdIndex",
    "Recommendation",
    "Recommender",
    "RecommenderError",
    "Settings",
    "build_matrix",
    "get_settings",
    "implicit_score",
    "score_counts",
]
