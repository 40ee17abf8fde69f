"""recommender/models/spark."""
