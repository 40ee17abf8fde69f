"""The content settings (``RECOMMENDER_CONTENT__*``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PROFILE_FIELDS = (
    "degree_subject",
    "degree_subject_groups",
    "degree_subject_categories",
    "languages",
    "university",
    "school_type",
    "city",
)
"""The profile fields embedded by default: what a person studied and speaks, not who they are
and where they live (gender and ethnicity are left out unless named: they must not steer which
jobs someone sees)."""
NOT_JOB_FIELDS = ("title", "description", "employer")
"""String job fields never embedded as exact values unless named: the text, and the employer (a
value per company says little of what a job is)."""


class ContentParams(BaseModel):
    """How job text and profiles are embedded (gensim Word2Vec, one worker, seeded)."""

    model_config = ConfigDict(frozen=True)

    enabled: bool = Field(
        default=True,
        description="train content vectors when jobs.jsonl lists jobs with text (no effect "
        "without it): listed jobs with no activity become columns, cold jobs answer similar "
        "jobs from their text, users with only a profile get profile lists",
    )
    dimensions: int = Field(default=64, ge=4, le=512, description="Word2Vec vector size")
    epochs: int = Field(default=5, ge=1, le=100)
    window: int = Field(default=8, ge=1, le=50, description="Word2Vec context window")
    min_count: int = Field(default=3, ge=1, description="words rarer than this are dropped")
    skip_gram: bool = Field(default=True, description="skip-gram (else CBOW)")
    phrases: bool = Field(
        default=False, description="join frequent word pairs (gensim Phrases) before training"
    )
    user_documents: int = Field(
        default=50_000,
        ge=0,
        description="at most this many users with a profile and a history (a seeded sample) "
        "train the profile values: a document each for Word2Vec (their profile tokens with the "
        "titles of the jobs they engaged with most), and each value's place among the jobs "
        "(the mean history vector of the users who hold it)",
    )
    min_profile_users: int = Field(
        default=5,
        ge=1,
        description="a profile value is placed among the jobs only when this many sampled "
        "users hold it",
    )
    titles_per_user: int = Field(default=3, ge=1, le=50)
    job_fields: tuple[str, ...] | None = Field(
        default=None,
        description="the jobs.jsonl string fields whose values join a job's vector as exact "
        "values, one dimension per value (None: every string field of the jobs' other fields, "
        "such as city and sector, with at most max_field_values values)",
    )
    max_field_values: int = Field(
        default=256,
        ge=1,
        le=10_000,
        description="a field chosen automatically (job_fields None) has at most this many values",
    )
    field_weight: float = Field(
        default=0.35,
        ge=0.0,
        lt=1.0,
        description="the share of a job vector's squared length given to its field values: the "
        "cosine of two jobs is (1 - this) times their texts' plus this times the share of the "
        "values they have in common (0: text only)",
    )
    profile_fields: tuple[str, ...] | None = Field(
        default=DEFAULT_PROFILE_FIELDS,
        description="the users.jsonl fields embedded (None: every field but user_id)",
    )
    popularity_weight: float = Field(
        default=1.0,
        ge=0.0,
        description="a profile list's score is z(content) + this · z(log(1 + popularity))",
    )
    cold_weight: float = Field(
        default=1.0,
        ge=0.0,
        le=4.0,
        description="the hybrid: a cold job's collaborative score in a user's list is this times "
        "the mean of its nearest warm jobs' (by text), so new jobs compete with old ones "
        "(0: cold jobs never enter users' lists)",
    )
    min_cold_weight: float = Field(
        default=1.0,
        ge=0.0,
        le=4.0,
        description="the least cold_weight train's selection may choose: jobs with no activity "
        "yet (new postings) keep a place in the lists of the users whose jobs they resemble even "
        "where validation NDCG alone would shut them out (0: selection may)",
    )
    cold_share: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="an exposure floor for new postings: train's selection takes the smallest "
        "cold_weight (up to 4) whose validation hit rate on clicks on jobs with no activity is "
        "at least this share of its hit rate on the others' clicks, trading some NDCG for it "
        "(0: NDCG alone chooses)",
    )
    cold_neighbours: int = Field(
        default=10, ge=1, le=500, description="the warm jobs a cold job's score comes from"
    )
    history_weight: float = Field(
        default=0.0,
        ge=0.0,
        le=16.0,
        description="the hybrid: weight of z(cosine(user's history vector, job)) added to the "
        "collaborative z-scores, shrunk by history_shrink / (history_shrink + jobs in history)",
    )
    history_shrink: float = Field(default=5.0, gt=0.0, le=1000.0)
    audience_history_weight: float = Field(
        default=0.5,
        ge=0.0,
        le=16.0,
        description="the history term's weight when users are ranked for a job (an audience), "
        "at most the lists' history_weight: a list ranks one user's jobs, an audience compares "
        "users, and a large weight there favours users with one or two clicks whose text "
        "matches over those likely to click",
    )
