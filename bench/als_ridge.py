"""``python -m bench.als_ridge --data DIR A.env B.env``: two ALS settings on the same test users.

Each settings file (as ``tune --write-env`` writes one) is trained on ``tune``'s report split (a
global time cut: train + validation → test, the CLI's default fractions) and scored on the warm
test users by NDCG@10 as the service ranks; prints both means and the paired 95% bootstrap
interval of B − A over users (:func:`bench.quality_metrics.paired_bootstrap`). Written to compare
ALS with and without frequency-scaled regularisation (``RECOMMENDER_ALS__REGULARIZATION_EXPONENT``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bench.quality_metrics import paired_bootstrap
from recommender.evaluation.dataset import load_log
from recommender.evaluation.runner import fit_split, held_out, recommended_columns
from recommender.evaluation.splits import make_split
from recommender.recommender import Recommender
from recommender.settings import settings_from

K = 10


def user_ndcg(recommended: NDArray[np.int64], relevant_rows: list[set[int]]) -> NDArray[np.float64]:
    """NDCG@k of each user's list (binary relevance, log2 discounts)."""
    discounts = 1.0 / np.log2(np.arange(2, recommended.shape[1] + 2))
    out = np.zeros(len(relevant_rows))
    for u, relevant in enumerate(relevant_rows):
        hits = np.isin(recommended[u], list(relevant))
        ideal = discounts[: min(len(relevant), recommended.shape[1])].sum()
        out[u] = discounts[hits].sum() / ideal
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.als_ridge", description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("envs", type=Path, nargs=2, help="settings files A and B")
    args = parser.parse_args()
    log = load_log(args.data)
    split = make_split(log.events, "time", test_fraction=0.2, validation_fraction=0.1)
    _, report = split.for_tuning()
    scores: list[NDArray[np.float64]] = []
    users: list[NDArray[np.int64]] = []
    for env in args.envs:
        settings = settings_from(env)
        trained = fit_split(report.train, settings, "als")
        tests = held_out(trained, report.test, settings)
        recommended = recommended_columns(Recommender(trained), tests.user_rows, K)
        relevant = [set(tests.relevant[i].indices.tolist()) for i in range(tests.user_rows.size)]
        scores.append(user_ndcg(recommended, relevant))
        users.append(tests.user_rows)
        print(f"{env}: {settings.als.model_dump()}")
        print(f"  NDCG@{K} {scores[-1].mean():.4f} over {tests.user_rows.size} warm test users")
    if not np.array_equal(users[0], users[1]):
        raise SystemExit("the two settings were scored on different test users")
    interval = paired_bootstrap(scores[1], scores[0], seed=0)
    print(f"B − A: {interval.cell()} (paired bootstrap, 95%, 1000 resamples)")


if __name__ == "__main__":
    main()
