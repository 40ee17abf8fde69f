"""recommender/ranking."""
