"""MovieLens 100K converted to the service's three files, on tiny files written here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from recommender.cli import main
from recommender.data.movielens import GENRES, convert_movielens
from recommender.data.readers import read_activities, read_jobs, read_users
from recommender.errors import InvalidDataError, MissingDataError


def _flags(*genres: str) -> str:
    return "|".join("1" if g in genres else "0" for g in GENRES)


def write_ml(src: Path, *, data: str | None = None) -> Path:
    src.mkdir(parents=True, exist_ok=True)
    (src / "u.data").write_text(
        data or "1\t10\t3\t881250949\n2\t10\t1\t881250950\n2\t11\t5\t881250000\n"
    )
    items = [
        f"10|Caf\xe9 Society (1995)|01-Jan-1995||http://x|{_flags('Comedy', 'Drama')}",
        f"11|Alien (1979)|01-Jan-1979||http://y|{_flags('Horror', 'Sci-Fi')}",
        f"12|Unrated (1990)|||http://z|{_flags('unknown')}",
    ]
    (src / "u.item").write_bytes(("\n".join(items) + "\n").encode("latin-1"))
    (src / "u.user").write_text("1|24|M|technician|85711\n2|53|F|other|T8H1N\n3|7|M|student|0\n")
    return src


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_ratings_become_that_many_redirects_in_time_order(tmp_path: Path) -> None:
    done = convert_movielens(write_ml(tmp_path / "ml"), tmp_path / "out")
    assert (done.ratings, done.activity_lines, done.jobs, done.users) == (3, 9, 3, 3)
    lines = _lines(tmp_path / "out" / "activities.jsonl")
    assert [(a["user_id"], a["job_id"]) for a in lines] == [(2, 11)] * 5 + [(1, 10)] * 3 + [(2, 10)]
    assert {a["type"] for a in lines} == {"redirect"}
    assert [a["timestamp"] for a in lines] == sorted(a["timestamp"] for a in lines)
    frame, _ = read_activities(tmp_path / "out" / "activities.jsonl")  # the service reads them
    assert frame.height == 9


def test_items_become_jobs_with_title_and_genres(tmp_path: Path) -> None:
    convert_movielens(write_ml(tmp_path / "ml"), tmp_path / "out")
    jobs, _ = read_jobs(tmp_path / "out" / "jobs.jsonl")
    assert jobs["title"].to_list()[0] == "Café Society (1995)"  # Latin-1 decoded
    assert jobs["description"].to_list() == [
        "Café Society (1995). Genres: Comedy, Drama.",
        "Alien (1979). Genres: Horror, Sci-Fi.",
        "Unrated (1990). Genres: unknown.",
    ]


def test_users_become_profiles(tmp_path: Path) -> None:
    convert_movielens(write_ml(tmp_path / "ml"), tmp_path / "out")
    users, _ = read_users(tmp_path / "out" / "users.jsonl")
    first = users.row(0, named=True)
    assert first["gender"] == "Male"
    assert first["degree_subject"] == "technician"
    assert first["degree_subject_categories"] == ["20s"]
    assert first["university"] == "zip 857"
    assert users["degree_subject_categories"].to_list() == [["20s"], ["50s"], ["0s"]]
    assert users["gender"].to_list() == ["Male", "Female", "Male"]
    raw = _lines(tmp_path / "out" / "users.jsonl")[1]
    assert (raw["age"], raw["occupation"], raw["zip"]) == (53, "other", "T8H1N")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ("1\t10\t3\n", r"u.data:1: expected 4 fields"),
        ("1\t10\t3\t5\nx\t10\t3\t5\n", r"u.data:2: field 'user_id': not an integer \(got 'x'\)"),
        ("1\t10\t0\t5\n", r"u.data:1: field 'rating': a rating is 1 to 5 \(got 0\)"),
    ],
    ids=["short line", "bad id", "rating out of range"],
)
def test_bad_lines_are_named(tmp_path: Path, data: str, match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        convert_movielens(write_ml(tmp_path / "ml", data=data), tmp_path / "out")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    src = write_ml(tmp_path / "ml")
    (src / "u.user").unlink()
    with pytest.raises(MissingDataError, match=r"u\.user"):
        convert_movielens(src, tmp_path / "out")


def test_cli_converts_then_evaluates_cold_users(tmp_path: Path) -> None:
    src = tmp_path / "ml"
    src.mkdir()
    pairs = [(u, i) for u in range(1, 9) for i in (0, 1)]
    rows = [f"{u}\t{10 + (u + i) % 3}\t{1 + i}\t{1000 * u + i}" for u, i in pairs]
    write_ml(src, data="\n".join(rows) + "\n")
    (src / "u.user").write_text("".join(f"{u}|{20 + u}|M|writer|1000{u}\n" for u in range(1, 9)))
    assert main(["-q", "convert-movielens", "--src", str(src), "--out", str(tmp_path / "d")]) == 0
    args = ["-q", "evaluate", "--data", str(tmp_path / "d"), "--split", "cold-users"]
    assert main([*args, "--models", "popular", "--out", str(tmp_path / "r")]) == 0
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["split"]["held_out_users"] == 2
    assert {r["segment"] for r in report["segments"]} >= {"history 0"}
