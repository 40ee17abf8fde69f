"""The HTTP layer: ``create_app`` builds the FastAPI application."""

from __future__ import annotations

from recommender.api.app import create_app

__all__ = ["create_app"]
