"""The neural model's settings (``RECOMMENDER_NEURAL__*``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class NeuralParams(BaseModel):
    """Hyper-parameters of the two-tower model (:mod:`recommender.models.neural`).

    The defaults were chosen on a validation split of the demo data (its training period's last
    20%): temperature 0.2 over 0.05 and 0.1, id dropout 0.1 over 0.3, no history dropout over
    0.05 and 0.2, impressions as positives over hard negatives.

    A job's tower reads its id (learned only for jobs with training activity), its content
    vector (Word2Vec text and field values, from the training period) and its employer; a
    user's tower reads the jobs of their history, weighted by implicit score, and their profile
    values. Trained with a sampled softmax over the batch's jobs, corrected for popularity
    (log Q), against a seeded validation hold-out for early stopping.
    """

    model_config = ConfigDict(frozen=True)

    dimensions: int = Field(default=64, ge=2, le=1024, description="embedding width")
    hidden: int = Field(default=128, ge=1, le=4096, description="width of the towers' layer")
    epochs: int = Field(default=20, ge=1, le=1000, description="at most this many epochs")
    patience: int = Field(
        default=2, ge=1, description="stop after this many epochs without a better validation"
    )
    batch_size: int = Field(default=1024, ge=2, le=65536)
    learning_rate: float = Field(default=0.005, gt=0.0, le=1.0)
    weight_decay: float = Field(default=0.0, ge=0.0)
    temperature: float = Field(default=0.2, gt=0.0, le=10.0, description="softmax temperature")
    id_dropout: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="share of training examples whose job id is hidden, so that the job tower "
        "learns to place a job from its content (what a new job has)",
    )
    history_dropout: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="share of training examples whose user is pooled from the profile alone, so "
        "that the user tower learns to place users with no history (what a new user has)",
    )
    impressions: Literal["positive", "negative"] = Field(
        default="positive",
        description="impression-only pairs as weaker positives (their implicit score), or as "
        "hard negatives beside the batch's (only redirects are positives then)",
    )
    validation_share: float = Field(
        default=0.05,
        ge=0.0,
        lt=0.5,
        description="share of positives held out (seeded) to choose the epoch; 0: the last",
    )
    validation_users: int = Field(default=2000, ge=1, description="at most this many scored")
    min_profile_users: int = Field(
        default=5, ge=1, description="a profile value seen in fewer training users is ignored"
    )
    threads: int = Field(default=0, ge=0, description="torch's CPU threads; 0: one per core")
    checkpoint_dir: str | None = Field(
        default=None,
        description="where a checkpoint is written after each epoch and resumed from (a "
        "directory or an s3:// URL); None: training sets <model dir>/checkpoints",
    )
