"""The original service's way from ``activities.jsonl`` to a matrix: a Python loop per line.

The reference of the ``load`` benchmark, written as the original did it: ``json.loads`` per line,
counts per (user, job) in dicts, the scoring rule per pair, then a scipy matrix.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recommender.data.funnel import implicit_score

Counts = dict[tuple[int, int], int]


def count_activities(path: Path) -> tuple[Counts, Counts]:
    """Impressions and redirects per (user id, job id)."""
    impressions: Counts = {}
    redirects: Counts = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            key = (rec["user_id"], rec["job_id"])
            if rec["type"] == "redirect":
                redirects[key] = redirects.get(key, 0) + 1
            else:
                impressions[key] = impressions.get(key, 0) + 1
    return impressions, redirects


def load_matrix(path: Path) -> tuple[list[int], list[int], sp.csr_matrix]:
    """Sorted user ids (rows), sorted job ids (columns) and the users × jobs score matrix."""
    impressions, redirects = count_activities(path)
    scores: Counts = {}
    for key in impressions.keys() | redirects.keys():
        score = implicit_score(impressions.get(key, 0), redirects.get(key, 0))
        if score > 0:
            scores[key] = score

    users = sorted({user for user, _ in scores})
    jobs = sorted({job for _, job in scores})
    user_row = {user: row for row, user in enumerate(users)}
    job_col = {job: col for col, job in enumerate(jobs)}
    rows = [user_row[user] for user, _ in scores]
    cols = [job_col[job] for _, job in scores]
    values = np.fromiter(scores.values(), dtype=np.float32, count=len(scores))
    matrix = sp.csr_matrix((values, (rows, cols)), shape=(len(users), len(jobs)), dtype=np.float32)
    return users, jobs, matrix
