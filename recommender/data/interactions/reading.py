"""What every format's reader shares: the file, its columns, the report, and the final checks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from recommender.data.interactions.checks import check
from recommender.data.interactions.columns import Role
from recommender.data.interactions.duck import Duck
from recommender.data.jsonl import MAX_REPORTED_ERRORS, LoadReport
from recommender.errors import InvalidDataError


@dataclass
class Reading:
    """What every format's reader needs: where, what, how strictly, and the report to fill."""

    path: Path
    roles: tuple[Role, ...]
    duck: Duck
    report: LoadReport
    skip_invalid: bool

    def finish(self, raw: pl.DataFrame) -> pl.DataFrame:
        """Check ``raw`` (see :func:`check`); raise on its first error or drop and count them."""
        good, bad = check(raw, self.roles, self.duck)
        if bad.height:
            rows = bad.head(MAX_REPORTED_ERRORS).iter_rows(named=True)
            errors = [_to_error(self.path, row) for row in rows]
            if not self.skip_invalid:
                raise errors[0]
            self.report.skipped += bad.height
            room = max(MAX_REPORTED_ERRORS - len(self.report.errors), 0)
            self.report.errors.extend(errors[:room])
        return good


def _to_error(path: Path, row: dict[str, object]) -> InvalidDataError:
    line, field = row["line"], row["error_field"]
    return InvalidDataError(
        str(row["error_reason"]),
        path=path,
        line=line if isinstance(line, int) else None,
        field=field if isinstance(field, str) else None,
        value=row["error_value"],
    )
