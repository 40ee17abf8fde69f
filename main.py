"""``uvicorn main:app`` serves the recommender, as the original service did."""

from recommender.api import create_app

app = create_app()
