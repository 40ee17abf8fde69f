"""MovieLens 100K as a job board: ratings, titles and genres, and user profiles in the service's
three input files, so that a real data set with item text and profiles can be evaluated
(``python -m recommender convert-movielens``).

* ``u.data`` (``user \\t item \\t rating \\t time``) -> ``activities.jsonl``: a rating of r is r
  redirect lines at the rating's time, as ``evaluate`` reads a weight column ("a row counts that
  many times") and as the quality benchmark writes MovieLens for the service;
* ``u.item`` (``id|title|release|video release|url|19 genre flags``, Latin-1) -> ``jobs.jsonl``:
  the title, and a description of the title and its genres;
* ``u.user`` (``id|age|gender|occupation|zip``) -> ``users.jsonl``, in the profile fields a
  content model reads: the occupation as ``degree_subject``, the age as a decade band ("20s") in
  ``degree_subject_categories``, the zip code's first three digits (the US postal area) as
  ``university`` ("zip 857"), the gender as ``gender`` ("Male", "Female"). The raw ``age``,
  ``occupation`` and ``zip`` are kept too; the readers ignore fields outside the schema.

Every line is checked: a short line, a non-integer id, rating or time, or a rating outside 1-5
raises :class:`~recommender.errors.InvalidDataError` naming the file, the line, the field and the
value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from recommender.data.input_file import readable_file
from recommender.data.schema import ACTIVITIES_FILE, JOBS_FILE, USERS_FILE
from recommender.errors import InvalidDataError

GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
"""The genre flags of ``u.item``, in the order of its last 19 fields (``u.genre``)."""
RATINGS = ("u.data", "\t", ("user_id", "job_id", "rating", "timestamp"))
ITEMS = ("u.item", "|", ("job_id", "title", "release", "video_release", "url", *GENRES))
USERS = ("u.user", "|", ("user_id", "age", "gender", "occupation", "zip"))
GENDERS = {"M": "Male", "F": "Female"}


@dataclass(frozen=True)
class Converted:
    """What :func:`convert_movielens` wrote."""

    ratings: int
    activity_lines: int
    jobs: int
    users: int
    paths: tuple[Path, Path, Path]


def convert_movielens(src: Path, out: Path) -> Converted:
    """Write ``activities.jsonl``, ``jobs.jsonl`` and ``users.jsonl`` from MovieLens 100K's
    ``u.data``, ``u.item`` and ``u.user`` in ``src`` (see the module docstring)."""
    src, out = Path(src), Path(out)
    ratings = _ints(_table(src, *RATINGS), src / RATINGS[0], RATINGS[2])
    bad = ratings.filter((pl.col("rating") < 1) | (pl.col("rating") > 5))
    if bad.height:
        raise InvalidDataError(
            "a rating is 1 to 5",
            path=src / RATINGS[0],
            line=bad["line"][0],
            field="rating",
            value=bad["rating"][0],
        )
    items = _ints(_table(src, *ITEMS), src / ITEMS[0], ("job_id", *GENRES))
    people = _ints(_table(src, *USERS), src / USERS[0], ("user_id", "age"))

    activities = (
        ratings.sort("timestamp", "line")
        .select(
            "user_id",
            "job_id",
            pl.lit("redirect").alias("type"),
            "timestamp",
            pl.int_ranges(0, "rating").alias("copy"),
        )
        .explode("copy")
        .drop("copy")
    )
    genres = pl.concat_list(
        [pl.when(pl.col(g) == 1).then(pl.lit(g)).otherwise(None) for g in GENRES]
    ).list.drop_nulls()
    jobs = items.select(
        "job_id",
        "title",
        pl.concat_str(
            [pl.col("title"), pl.lit(". Genres: "), genres.list.join(", "), pl.lit(".")]
        ).alias("description"),
    )
    band = ((pl.col("age") // 10) * 10).cast(pl.String) + pl.lit("s")
    users = people.select(
        "user_id",
        pl.col("gender").replace_strict(GENDERS, default=None).alias("gender"),
        pl.col("occupation").alias("degree_subject"),
        pl.concat_list([band]).alias("degree_subject_categories"),
        (pl.lit("zip ") + pl.col("zip").str.slice(0, 3)).alias("university"),
        "age",
        "occupation",
        "zip",
    )
    out.mkdir(parents=True, exist_ok=True)
    paths = (out / ACTIVITIES_FILE, out / JOBS_FILE, out / USERS_FILE)
    for frame, path in zip((activities, jobs, users), paths, strict=True):
        frame.write_ndjson(path)
    return Converted(
        ratings=ratings.height,
        activity_lines=activities.height,
        jobs=jobs.height,
        users=users.height,
        paths=paths,
    )


def _table(src: Path, name: str, sep: str, columns: tuple[str, ...]) -> pl.DataFrame:
    """A MovieLens file's lines split on ``sep`` into string ``columns``, with a 1-based
    ``line``; a line with another number of fields is an error naming it."""
    path = readable_file(src / name)
    text = path.read_bytes().decode("latin-1")  # u.item's titles are Latin-1
    lines = pl.DataFrame({"text": text.splitlines()}).with_row_index("line", offset=1)
    lines = lines.filter(pl.col("text").str.strip_chars() != "")
    fields = lines.with_columns(pl.col("text").str.split(sep).alias("fields"))
    short = fields.filter(pl.col("fields").list.len() != len(columns))
    if short.height:
        raise InvalidDataError(
            f"expected {len(columns)} fields separated by {sep!r}",
            path=path,
            line=short["line"][0],
            value=short["text"][0],
        )
    return fields.select(
        "line",
        *(pl.col("fields").list.get(i).alias(c) for i, c in enumerate(columns)),
    )


def _ints(frame: pl.DataFrame, path: Path, columns: tuple[str, ...]) -> pl.DataFrame:
    """``columns`` cast to Int64; the first value that is not an integer is an error naming its
    line."""
    cast = frame.with_columns(
        pl.col(c).str.strip_chars().cast(pl.Int64, strict=False) for c in columns
    )
    for column in columns:
        bad = cast[column].is_null()
        if bad.any():
            at = int(bad.arg_max() or 0)
            raise InvalidDataError(
                "not an integer",
                path=path,
                line=int(frame["line"][at]),
                field=column,
                value=frame[column][at],
            )
    return cast
