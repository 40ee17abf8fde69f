"""recommender/training."""
