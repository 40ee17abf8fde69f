"""Offline evaluation: splits, metrics, runs over models, tuning and reports."""
