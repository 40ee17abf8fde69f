"""The input files' names and fields, light enough for the service to import at start-up."""

from __future__ import annotations

from datetime import timedelta

from recommender.data.schema_sql import FieldSpec

FUTURE_SLACK = timedelta(days=2)
"""How far ahead of now an activity time may lie in ``activities.jsonl`` and interaction logs
(clients' clocks drift): a far-future line would stay the newest for ever and escape every training
window. ``POST /events`` accepts times up to 00:00 UTC the day after tomorrow, at most two days
ahead, so an event the API stored is never refused when the store is exported to a file."""

ACTIVITY_TYPES = ("impression", "redirect")
"""The two activity types: what a user was shown, and what they clicked through to."""

ACTIVITY_FIELDS = (
    FieldSpec("user_id", "int", required=True),
    FieldSpec("job_id", "int", required=True),
    FieldSpec("type", "str", required=True, choices=ACTIVITY_TYPES),
    FieldSpec("timestamp", "timestamp", ahead=FUTURE_SLACK),
)
JOB_FIELDS = (
    FieldSpec("job_id", "int", required=True),
    FieldSpec("description", "str", required=True),
    FieldSpec("title", "str"),
    FieldSpec("employer", "str"),
    FieldSpec("posted_at", "timestamp"),
    FieldSpec("expires_at", "timestamp"),
)
USER_FIELDS = (
    FieldSpec("user_id", "int", required=True),
    FieldSpec("ethnicity", "str"),
    FieldSpec("gender", "str"),
    FieldSpec("graduation_year", "int"),
    FieldSpec("school_type", "str"),
    FieldSpec("languages", "str_list"),
    FieldSpec("university", "str"),
    FieldSpec("degree_subject", "str"),
    FieldSpec("degree_subject_groups", "str_list"),
    FieldSpec("degree_subject_categories", "str_list"),
    FieldSpec("city", "str"),
)

ACTIVITIES_FILE = "activities.jsonl"
JOBS_FILE = "jobs.jsonl"
USERS_FILE = "users.jsonl"
