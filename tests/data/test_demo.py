"""The synthetic demo data: schema, determinism, referential integrity and latent structure."""

from __future__ import annotations

import html
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from recommender.data.demo import DEFAULT_REFERENCE_TIME, DemoSummary, generate_demo_data
from recommender.data.demo.words import CITIES, SECTORS
from recommender.data.demo.world import build_world

SCALE = 0.02
SEED = 7
FILES = ("jobs.jsonl", "users.jsonl", "activities.jsonl")
REF = DEFAULT_REFERENCE_TIME
REF_S = int(REF.timestamp())

JOB_TYPES: dict[str, type] = {
    "job_id": int,
    "title": str,
    "description": str,
    "employer": str,
    "city": str,
    "sector": str,
    "posted_at": str,
    "expires_at": str,
}
USER_OPTIONAL_TYPES: dict[str, type] = {
    "city": str,
    "ethnicity": str,
    "gender": str,
    "graduation_year": int,
    "school_type": str,
    "languages": list,
    "university": str,
    "degree_subject": str,
    "degree_subject_groups": list,
    "degree_subject_categories": list,
}
ACTIVITY_TYPES: dict[str, type] = {"user_id": int, "job_id": int, "type": str, "timestamp": int}


@dataclass(frozen=True)
class Generated:
    out: Path
    summary: DemoSummary
    progress: list[int]
    jobs: list[dict[str, Any]]
    users: list[dict[str, Any]]
    activities: list[dict[str, Any]]


def _read(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    out = tmp_path_factory.mktemp("demo") / "data"  # does not exist yet
    calls: list[int] = []
    summary = generate_demo_data(out, seed=SEED, scale=SCALE, progress=calls.append)
    return Generated(
        out=out,
        summary=summary,
        progress=calls,
        jobs=_read(out / "jobs.jsonl"),
        users=_read(out / "users.jsonl"),
        activities=_read(out / "activities.jsonl"),
    )


def _check_types(record: dict[str, Any], types: dict[str, type]) -> None:
    for key, value in record.items():
        # ``type(...) is`` rather than isinstance: a bool is not an acceptable int here.
        assert type(value) is types[key], (key, value)


# --- files and schema --------------------------------------------------------------------------


def test_writes_three_files_and_nothing_else(generated: Generated) -> None:
    assert sorted(p.name for p in generated.out.iterdir()) == sorted(FILES)
    assert generated.summary.jobs_path == generated.out / "jobs.jsonl"
    assert generated.summary.users_path == generated.out / "users.jsonl"
    assert generated.summary.activities_path == generated.out / "activities.jsonl"


def test_jobs_schema(generated: Generated) -> None:
    for job in generated.jobs:
        assert set(job) == set(JOB_TYPES)
        _check_types(job, JOB_TYPES)
        posted = datetime.fromisoformat(job["posted_at"])
        expires = datetime.fromisoformat(job["expires_at"])
        assert posted.tzinfo is not None
        assert REF - timedelta(days=200) <= posted < REF
        assert expires > posted
    ids = [j["job_id"] for j in generated.jobs]
    assert len(set(ids)) == len(ids)


def test_users_schema(generated: Generated) -> None:
    for record in generated.users:
        user = dict(record)
        assert type(user.pop("user_id")) is int
        assert set(user) <= set(USER_OPTIONAL_TYPES)
        _check_types(user, USER_OPTIONAL_TYPES)
        for key in ("languages", "degree_subject_groups", "degree_subject_categories"):
            if key in user:
                assert user[key]
                assert all(type(x) is str for x in user[key])
        if "languages" in user:
            assert len(set(user["languages"])) == len(user["languages"])
    # every optional field is present for some users and absent (not null) for others
    for key in USER_OPTIONAL_TYPES:
        present = sum(key in u for u in generated.users)
        assert 0 < present < len(generated.users), key


def test_activities_schema(generated: Generated) -> None:
    for line in generated.activities:
        assert set(line) == set(ACTIVITY_TYPES)
        _check_types(line, ACTIVITY_TYPES)
        assert line["type"] in ("impression", "redirect")


def test_descriptions_are_html_with_30_to_120_words(generated: Generated) -> None:
    for job in generated.jobs:
        text = job["description"]
        assert text.startswith("<p>")
        assert "<ul><li>" in text
        assert "<b>" in text
        words = html.unescape(re.sub(r"<[^>]+>", " ", text)).split()
        assert 30 <= len(words) <= 120
    assert any("&amp;" in j["description"] for j in generated.jobs)


def test_sizes_follow_scale(generated: Generated) -> None:
    s = generated.summary
    assert s.users == len(generated.users) == round(95_000 * SCALE)
    assert s.jobs == len(generated.jobs) == round(7_500 * SCALE**0.5)
    assert s.active_users == round(17_000 * SCALE)
    # fewer jobs per user at small scales leaves some pairs short; within 20% of the target
    assert 0.8 * 380_000 * SCALE <= s.activity_lines <= 1.2 * 380_000 * SCALE


def test_summary_matches_files(generated: Generated) -> None:
    s, acts = generated.summary, generated.activities
    types = Counter(a["type"] for a in acts)
    assert s.activity_lines == len(acts)
    assert s.impressions == types["impression"]
    assert s.redirects == types["redirect"]
    assert s.active_users == len({a["user_id"] for a in acts})
    assert s.jobs_with_activity == len({a["job_id"] for a in acts})
    assert generated.progress
    assert generated.progress == sorted(generated.progress)
    assert generated.progress[-1] == s.activity_lines


# --- determinism -------------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes(generated: Generated, tmp_path: Path) -> None:
    generate_demo_data(tmp_path, seed=SEED, scale=SCALE)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (generated.out / name).read_bytes(), name


def test_naive_reference_time_is_utc(generated: Generated, tmp_path: Path) -> None:
    generate_demo_data(tmp_path, seed=SEED, scale=SCALE, reference_time=REF.replace(tzinfo=None))
    assert (tmp_path / "activities.jsonl").read_bytes() == (
        generated.out / "activities.jsonl"
    ).read_bytes()


def test_other_seed_gives_other_data(generated: Generated, tmp_path: Path) -> None:
    generate_demo_data(tmp_path, seed=SEED + 1, scale=SCALE)
    for name in FILES:
        assert (tmp_path / name).read_bytes() != (generated.out / name).read_bytes(), name


def test_tiny_scale_keeps_minimum_sizes(tmp_path: Path) -> None:
    summary = generate_demo_data(tmp_path, seed=1, scale=1e-6)
    assert summary.users >= 100
    assert summary.jobs >= 50
    assert summary.activity_lines > 0


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan")])
def test_rejects_bad_scale(scale: float, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate_demo_data(tmp_path, scale=scale)


# --- referential integrity and time ------------------------------------------------------------


def test_activities_reference_known_users_and_jobs(generated: Generated) -> None:
    user_ids = {u["user_id"] for u in generated.users}
    job_ids = {j["job_id"] for j in generated.jobs}
    assert {a["user_id"] for a in generated.activities} <= user_ids
    assert {a["job_id"] for a in generated.activities} <= job_ids


def test_some_users_and_jobs_have_no_activity(generated: Generated) -> None:
    s = generated.summary
    assert s.active_users < s.users
    assert 0 < s.jobs - s.jobs_with_activity < s.jobs // 2


def test_timestamps_sorted_and_inside_window(generated: Generated) -> None:
    stamps = [a["timestamp"] for a in generated.activities]
    assert stamps == sorted(stamps)
    assert stamps[0] >= REF_S - 180 * 86_400
    assert stamps[-1] < REF_S


def test_activity_only_while_job_is_live(generated: Generated) -> None:
    live = {
        j["job_id"]: (
            datetime.fromisoformat(j["posted_at"]).timestamp(),
            datetime.fromisoformat(j["expires_at"]).timestamp(),
        )
        for j in generated.jobs
    }
    for a in generated.activities:
        posted, expires = live[a["job_id"]]
        assert posted <= a["timestamp"] < expires


def test_expired_and_open_jobs(generated: Generated) -> None:
    expires = [datetime.fromisoformat(j["expires_at"]) for j in generated.jobs]
    expired = sum(e < REF for e in expires) / len(expires)
    assert 0.04 < expired < 0.2
    assert all(
        e < REF or REF + timedelta(days=3650) <= e <= REF + timedelta(days=4746) for e in expires
    )


# --- latent structure --------------------------------------------------------------------------


def _pairs(activities: list[dict[str, Any]]) -> dict[tuple[int, int], Counter[str]]:
    pairs: dict[tuple[int, int], Counter[str]] = defaultdict(Counter)
    for a in activities:
        pairs[a["user_id"], a["job_id"]][a["type"]] += 1
    return pairs


def test_funnel_shape(generated: Generated) -> None:
    pairs = _pairs(generated.activities)
    redirecting = [c for c in pairs.values() if c["redirect"]]
    without_impression = sum(c["impression"] == 0 for c in redirecting) / len(redirecting)
    assert 0 < without_impression < 0.15
    assert any(c["redirect"] > 1 for c in redirecting)
    assert sum(c["impression"] > 1 for c in pairs.values()) > len(pairs) / 4
    # within a pair, impressions come before the first redirect (except redirect-only pairs)
    first_type: dict[tuple[int, int], str] = {}
    for a in generated.activities:
        first_type.setdefault((a["user_id"], a["job_id"]), a["type"])
    for key, first in first_type.items():
        assert first == ("impression" if pairs[key]["impression"] else "redirect")


def test_activity_is_heavy_tailed(generated: Generated) -> None:
    per_user = sorted(Counter(a["user_id"] for a in generated.activities).values())
    per_job = sorted(Counter(a["job_id"] for a in generated.activities).values())
    assert per_user[len(per_user) // 2] <= 12  # most users: a handful of lines
    assert per_user[-1] >= 10 * per_user[len(per_user) // 2]
    assert per_job[-1] >= 10 * per_job[len(per_job) // 2]


def _latent_sectors() -> tuple[dict[int, set[int]], dict[int, int]]:
    world = build_world(SEED, SCALE, REF)
    interests = {
        int(uid): {int(s1)} | ({int(s2)} if s2 >= 0 else set())
        for uid, s1, s2 in zip(world.user_ids, world.user_sector1, world.user_sector2, strict=True)
    }
    job_sector = {int(j): int(s) for j, s in zip(world.job_ids, world.job_sector, strict=True)}
    return interests, job_sector


def test_interactions_concentrate_in_interest_sectors(generated: Generated) -> None:
    interests, job_sector = _latent_sectors()
    pairs = _pairs(generated.activities)
    inside = {key: job_sector[key[1]] in interests[key[0]] for key in pairs}
    lines_inside = sum(inside[a["user_id"], a["job_id"]] for a in generated.activities)
    assert 0.7 < lines_inside / len(generated.activities) < 0.92

    def conversion(flag: bool) -> float:
        group = [c for key, c in pairs.items() if inside[key] == flag]
        return sum(c["redirect"] > 0 for c in group) / len(group)

    assert conversion(True) > 4 * conversion(False)
    redirects = [a for a in generated.activities if a["type"] == "redirect"]
    assert sum(inside[a["user_id"], a["job_id"]] for a in redirects) / len(redirects) > 0.85


def test_jobs_name_their_sector_and_a_city(generated: Generated) -> None:
    _, job_sector = _latent_sectors()
    names = [name for name, _, _ in CITIES]
    for job in generated.jobs:
        assert job["sector"] == SECTORS[job_sector[job["job_id"]]].name
        assert job["city"] in names
        assert job["city"] in job["description"]  # the text says where the job is
    cities = Counter(job["city"] for job in generated.jobs)
    assert cities.most_common(1)[0][0] == "London"
    assert len(cities) == len(CITIES)


def test_users_prefer_jobs_in_their_home_city(generated: Generated) -> None:
    city_of_job = {job["job_id"]: job["city"] for job in generated.jobs}
    home = {user["user_id"]: user["city"] for user in generated.users if "city" in user}
    funnels = _pairs(generated.activities)
    pairs = [key for key in funnels if key[0] in home]
    redirected = [key for key in pairs if funnels[key]["redirect"]]
    # the share of pairs in the user's home city if users ignored where jobs are
    jobs_in = Counter(city_of_job.values())
    chance = sum(jobs_in[home[user]] / len(city_of_job) for user, _ in pairs) / len(pairs)

    def at_home(keys: list[tuple[int, int]]) -> float:
        return sum(city_of_job[job] == home[user] for user, job in keys) / len(keys)

    # about 0.6 of the draws in a user's sectors look in their home city; at this small scale
    # many (slice, sector, city) segments are empty and fall back to the sector anywhere
    assert at_home(pairs) > 1.8 * chance
    assert at_home(redirected) > 1.8 * chance


def test_job_text_uses_sector_vocabulary(generated: Generated) -> None:
    _, job_sector = _latent_sectors()
    for job in generated.jobs:
        sector = SECTORS[job_sector[job["job_id"]]]
        assert any(role in job["title"] for role in sector.roles)
        assert any(b in job["description"] for b in sector.bullets)


def test_employer_names_match_their_sector() -> None:
    world = build_world(SEED, SCALE, REF)
    assert len(set(world.employer_names)) == len(world.employer_names)
    for name, sector in zip(world.employer_names, world.employer_sector, strict=True):
        assert any(f" {x}" in name for x in SECTORS[sector].employer_suffixes), name


def test_employers_mostly_in_one_sector(generated: Generated) -> None:
    _, job_sector = _latent_sectors()
    by_employer: dict[str, Counter[int]] = defaultdict(Counter)
    for job in generated.jobs:
        by_employer[job["employer"]][job_sector[job["job_id"]]] += 1
    top = sum(c.most_common(1)[0][1] for c in by_employer.values())
    assert top / len(generated.jobs) > 0.75
    sizes = sorted(sum(c.values()) for c in by_employer.values())
    assert sizes[-1] >= 5 * sizes[len(sizes) // 2]


def test_degree_subject_follows_interests(generated: Generated) -> None:
    interests, _ = _latent_sectors()
    with_subject = [u for u in generated.users if "degree_subject" in u]
    matching = sum(
        any(u["degree_subject"] in dict(SECTORS[s].subjects) for s in interests[u["user_id"]])
        for u in with_subject
    )
    assert matching / len(with_subject) > 0.7


def test_interrupted_run_leaves_no_partial_file(tmp_path: Path) -> None:
    (tmp_path / "activities.jsonl").write_text("previous\n")

    def fail(lines: int) -> None:
        raise RuntimeError(f"interrupted after {lines} lines")

    with pytest.raises(RuntimeError, match="interrupted"):
        generate_demo_data(tmp_path, seed=SEED, scale=SCALE, progress=fail)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)  # no temp files left
    assert (tmp_path / "activities.jsonl").read_text() == "previous\n"


def test_the_test_period_has_new_jobs_and_new_users(generated: Generated) -> None:
    """What the cold-jobs and cold-users evaluations rely on: at the time split's cut (the 80%
    quantile of activity times), jobs are still being posted and clicked, and users with a profile
    are still arriving."""
    stamps = sorted(a["timestamp"] for a in generated.activities)
    cut = stamps[int(0.8 * (len(stamps) - 1))]
    before = [a for a in generated.activities if a["timestamp"] < cut]
    after = [a for a in generated.activities if a["timestamp"] >= cut]
    posted = {
        j["job_id"]: datetime.fromisoformat(j["posted_at"]).timestamp() for j in generated.jobs
    }
    new_jobs = {a["job_id"] for a in after if a["type"] == "redirect"} - {
        a["job_id"] for a in before
    }
    assert len(new_jobs) >= 5
    assert sum(posted[j] >= cut for j in new_jobs) >= len(new_jobs) / 2  # most posted after it
    profiles = {u["user_id"] for u in generated.users}
    new_users = {a["user_id"] for a in after} - {a["user_id"] for a in before}
    assert len(new_users & profiles) >= 0.05 * generated.summary.active_users
