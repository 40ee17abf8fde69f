"""Job text and profile fields as tokens: markup stripped, lower case, words and field values.

A job's tokens are its title's words (twice: a title says more than a paragraph) followed by its
description's, then one field token per embedded field value (``city=london``, embedded as an
exact value, not a word: :mod:`recommender.content.vectors`); a profile's are, for each field, the
words of its value and one field-qualified token (``degree_subject=accounting_and_finance``), so
that a profile's exact values are words of their own in the same vocabulary as the jobs' text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Mapping
from typing import Any

_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"[a-z0-9][a-z0-9+#]*")
_DIGITS = re.compile(r"[0-9]+")
TITLE_REPEATS = 2
"""How many times a title's words count, against once for the description's."""

_STOP_TEXT = """a about all also an and any are as at be been but by can do for from has have he her
his if in into is it its may more most must not of on or our she so such than that the their
them then there these they this those to up us was we were what when which while who will with
within would you your"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
"""Words too common to say what a job or a profile is about."""


def clean(text: str) -> str:
    """``text`` without markup: tags become spaces, entities (``&ndash;``, ``&pound;``,
    ``&amp;``) their characters, all in lower case."""
    return html.unescape(_TAG.sub(" ", text)).lower()


def words(text: str | None) -> list[str]:
    """The words of ``text`` (markup stripped, lower case), without stop words, numbers or
    single characters."""
    if not text:
        return []
    return [
        w
        for w in _WORD.findall(clean(text))
        if len(w) > 1 and w not in STOP_WORDS and not _DIGITS.fullmatch(w)
    ]


def job_tokens(
    title: str | None, description: str | None, fields: Mapping[str, object] | None = None
) -> list[str]:
    """A job's tokens: its title's words :data:`TITLE_REPEATS` times, then its description's,
    then a :func:`field_token` for each of ``fields`` whose value is a non-empty string."""
    tokens = words(title) * TITLE_REPEATS + words(description)
    for field, value in (fields or {}).items():
        if isinstance(value, str) and value.strip():
            tokens.append(field_token(field, value))
    return tokens


def field_token(field: str, value: object) -> str:
    """The token of one profile value: ``field=value`` in lower case, spaces as ``_``."""
    return f"{field}={str(value).strip().lower()}".replace(" ", "_")


def profile_tokens(profile: Mapping[str, Any], fields: Collection[str] | None = None) -> list[str]:
    """A profile's tokens: for each field (all but ``user_id``, or those in ``fields``) its
    value's words and one :func:`field_token`; a list's elements each the same; an integer its
    field token only. Missing (None) values and other types give nothing."""
    tokens: list[str] = []
    for field, value in profile.items():
        if field == "user_id" or value is None or (fields is not None and field not in fields):
            continue
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            tokens.append(field_token(field, value))
            continue
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list | tuple):
            continue
        for item in values:
            if isinstance(item, str) and item.strip():
                tokens.extend(words(item))
                tokens.append(field_token(field, item))
    return tokens
