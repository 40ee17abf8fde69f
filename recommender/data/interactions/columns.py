"""Which columns of an interaction log hold what: the mapping, and each column to read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from recommender.errors import InvalidDataError

Kind = Literal["id", "weight", "time", "type", "text"]

_MAX_LISTED_COLUMNS = 30


@dataclass(frozen=True)
class ColumnMapping:
    """Which columns of an interaction log hold what.

    Parameters
    ----------
    user_col:
        The user id column (integers).
    item_col:
        The job (item) id column (integers).
    weight_col:
        A numeric column >= 0, such as a rating or a number of clicks: each row counts that many
        times. Without it every row counts once.
    time_col:
        When each interaction happened: epoch seconds (integer or float) or ISO-8601 text. Without
        it the timestamps are null.
    type_col:
        ``"impression"`` or ``"redirect"``. Without it every row is a redirect.
    sep:
        The field separator of delimited text (one character); overrides the one the suffix implies
        and is required for a file whose suffix implies none (MovieLens' ``u.data``).
    has_header:
        Whether the first line of delimited text names the columns. Without a header the columns
        are named by position ``"1"``, ``"2"``, ... (1-based, like ``cut -f``).
    """

    user_col: str
    item_col: str
    weight_col: str | None = None
    time_col: str | None = None
    type_col: str | None = None
    sep: str | None = None
    has_header: bool = True


#: The Spark write-up's ``job_clicks.csv``: ``userId,jobId,Clicks``, each click a redirect.
JOB_CLICKS_MAPPING = ColumnMapping(user_col="userId", item_col="jobId", weight_col="Clicks")


@dataclass(frozen=True)
class Role:
    """One column to read: its output name, its name in the file and how to check it."""

    name: str
    source: str
    kind: Kind


def interaction_roles(mapping: ColumnMapping) -> tuple[Role, ...]:
    roles = [Role("user_id", mapping.user_col, "id"), Role("job_id", mapping.item_col, "id")]
    if mapping.weight_col is not None:
        roles.append(Role("weight", mapping.weight_col, "weight"))
    if mapping.time_col is not None:
        roles.append(Role("timestamp", mapping.time_col, "time"))
    if mapping.type_col is not None:
        roles.append(Role("type", mapping.type_col, "type"))
    return tuple(roles)


def listed(names: Sequence[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_MAX_LISTED_COLUMNS])
    more = len(names) - _MAX_LISTED_COLUMNS
    return shown + (f" and {more} more" if more > 0 else "")


def column_positions(
    path: Path, names: Sequence[str], roles: Sequence[Role], has_header: bool
) -> dict[str, int]:
    """The 0-based position of each role's column; a missing or repeated column is an error."""
    positions: dict[str, int] = {}
    for role in roles:
        hits = [i for i, name in enumerate(names) if name == role.source]
        if len(hits) > 1:
            raise InvalidDataError(
                f"the column appears {len(hits)} times in the header", path=path, field=role.source
            )
        if not hits:
            hint = ""
            if has_header and role.source.isdigit():
                hint = "; columns are named by position only without a header (--no-header)"
            elif not has_header and not role.source.isdigit():
                hint = "; without a header, columns are named by position: '1', '2', ..."
            raise InvalidDataError(
                f"no such column; the columns are {listed(names)}{hint}",
                path=path,
                field=role.source,
            )
        positions[role.name] = hits[0]
    return positions
