"""Deterministic synthetic job-board data: ``generate_demo_data`` writes the three input files.

``generator`` orchestrates; ``world`` draws the latent jobs, employers and users; ``job_text``
and ``user_text`` render ``jobs.jsonl`` and ``users.jsonl``; ``activity`` simulates the
impression -> redirect funnels and ``activity_writer`` writes ``activities.jsonl`` sorted by
time; ``vocabulary`` holds the sectors and word lists.
"""

from __future__ import annotations

from recommender.data.demo.generator import DEFAULT_REFERENCE_TIME, DemoSummary, generate_demo_data
from recommender.data.demo.words import SECTOR_NAMES

__all__ = ["DEFAULT_REFERENCE_TIME", "SECTOR_NAMES", "DemoSummary", "generate_demo_data"]
