from __future__ import annotations

import pytest
from fastapi.exceptions import RequestValidationError

from recommender.api.errors import INVALID_BODY, responses, status_of
from recommender.api.schemas import ErrorResponse
from recommender.errors import (
    EventStoreError,
    ModelNotReadyError,
    RecommenderError,
    UnknownJobError,
)


class _UnlistedError(UnknownJobError):
    pass


@pytest.mark.parametrize(
    ("cls", "status"),
    [
        (UnknownJobError, 404),
        (_UnlistedError, 404),
        (RecommenderError, 400),
        (RequestValidationError, 422),
        (KeyError, 500),
    ],
    ids=["listed", "nearest-ancestor", "root", "schema", "foreign"],
)
def test_status_of_takes_the_nearest_class_in_the_table(cls: type[Exception], status: int) -> None:
    assert status_of(cls) == status


def test_responses_take_their_status_from_the_table() -> None:
    assert responses(INVALID_BODY, (UnknownJobError, "Unknown job.")) == {
        422: {"model": ErrorResponse, "description": "The body breaks the schema."},
        404: {"model": ErrorResponse, "description": "Unknown job."},
    }
    with pytest.raises(ValueError, match="503"):
        responses((ModelNotReadyError, "a"), (EventStoreError, "b"))
