"""Job text and profile fields as tokens."""

from __future__ import annotations

import pytest

from recommender.content.text import clean, field_token, job_tokens, profile_tokens, words


def test_markup_and_entities_are_stripped() -> None:
    assert clean("<p>R&amp;D &ndash; <b>&pound;26k</b></p>").split() == ["r&d", "–", "£26k"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "<p>Join <b>Blackhaven Pharma</b> as our new analyst</p>",
            ["join", "blackhaven", "pharma", "new", "analyst"],
        ),
        ("Salary: &pound;26,000 &ndash; &pound;29,000", ["salary"]),
        ("C++ and C# developers", ["c++", "c#", "developers"]),
        ("", []),
        (None, []),
    ],
    ids=["tags", "numbers-and-entities", "symbols-in-words", "empty", "none"],
)
def test_words(text: str | None, expected: list[str]) -> None:
    assert words(text) == expected


def test_title_words_count_twice() -> None:
    assert job_tokens("Audit Trainee", "<p>Audit the accounts</p>") == [
        "audit",
        "trainee",
        "audit",
        "trainee",
        "audit",
        "accounts",
    ]
    assert job_tokens(None, "Nursing") == ["nursing"]


def test_profile_tokens_hold_words_and_field_values() -> None:
    profile = {
        "user_id": 5,
        "degree_subject": "Accounting and Finance",
        "languages": ["English", "Spanish"],
        "graduation_year": 2025,
        "gender": None,
        "flag": True,
    }
    assert profile_tokens(profile) == [
        "accounting",
        "finance",
        "degree_subject=accounting_and_finance",
        "english",
        "languages=english",
        "spanish",
        "languages=spanish",
        "graduation_year=2025",
    ]
    assert profile_tokens(profile, fields=("languages",)) == [
        "english",
        "languages=english",
        "spanish",
        "languages=spanish",
    ]


def test_field_token() -> None:
    assert field_token("school_type", " State School ") == "school_type=state_school"
