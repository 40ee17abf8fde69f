"""recommender/bundle."""
