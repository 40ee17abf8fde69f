"""The activity vocabulary, in a module light enough for the service to import at start-up."""

from __future__ import annotations

ACTIVITY_TYPES = ("impression", "redirect")
"""The two activity types: what a user was shown, and what they clicked through to."""
