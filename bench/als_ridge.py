"""``python -m bench.als_ridge --data DIR [mapping options]``: ALS tuned with and without a
frequency-scaled ridge, on the same test users.

For each ``regularization_exponent`` ν of ``--exponents`` (default 0 and 0.5), ALS's other settings
(``SPACES["als"]`` without ν) are tuned as ``tune --split time`` tunes them (``--search``,
``--budget`` trials, selected on validation; a random search tries the same settings at each ν),
refit on train + validation and scored on the warm test users by NDCG@10 as the service ranks.
Prints each ν's settings and NDCG@10, and the paired 95% bootstrap interval of each ν's per-user
NDCG minus the first's (:func:`bench.quality_metrics.paired_bootstrap`).
"""

from __future__ import annotations

import argparse

import numpy as np
from numpy.typing import NDArray

from bench.quality_metrics import paired_bootstrap
from recommender.cli.evaluation_commands import add_mapping_options, column_mapping
from recommender.evaluation.dataset import load_log
from recommender.evaluation.runner import fit_split, held_out, recommended_columns
from recommender.evaluation.splits import make_split
from recommender.evaluation.tuning import SPACES, search_split, with_params
from recommender.recommender import Recommender
from recommender.settings import Settings

K = 10


def user_ndcg(recommended: NDArray[np.int64], relevant: list[set[int]]) -> NDArray[np.float64]:
    """NDCG@k of each user's list (binary relevance, log2 discounts), as the evaluation's."""
    discounts = 1.0 / np.log2(np.arange(2, recommended.shape[1] + 2))
    out = np.zeros(len(relevant))
    for u, jobs in enumerate(relevant):
        hits = np.isin(recommended[u], list(jobs))
        out[u] = discounts[hits].sum() / discounts[: min(len(jobs), recommended.shape[1])].sum()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.als_ridge", description=__doc__)
    parser.add_argument("--data", required=True)
    parser.add_argument("--exponents", default="0,0.5", help="comma-separated ν, first = baseline")
    parser.add_argument("--search", choices=("coordinate", "random"), default="coordinate")
    parser.add_argument("--budget", type=int, default=16, help="trials per ν (train's ALS budget)")
    add_mapping_options(parser)
    args = parser.parse_args()
    log = load_log(args.data, column_mapping(args))
    split = make_split(log.events, "time", test_fraction=0.2, validation_fraction=0.1)
    select, report = split.for_tuning()
    space = {k: v for k, v in SPACES["als"].items() if k != "regularization_exponent"}
    scores: list[NDArray[np.float64]] = []
    users: list[NDArray[np.int64]] = []
    for exponent in (float(e) for e in args.exponents.split(",")):
        base = with_params(Settings(), "als", {"regularization_exponent": exponent})
        searched = search_split(
            select, base, space=space, search=args.search, budget=args.budget, quick=True
        )
        settings = with_params(base, "als", searched.best.params)
        trained = fit_split(report.train, settings, "als")
        tests = held_out(trained, report.test, settings)
        recommended = recommended_columns(Recommender(trained), tests.user_rows, K)
        relevant = [set(tests.relevant[i].indices.tolist()) for i in range(tests.user_rows.size)]
        scores.append(user_ndcg(recommended, relevant))
        users.append(tests.user_rows)
        print(
            f"ν = {exponent}: {searched.best.params}, validation NDCG@{K} "
            f"{searched.best.metrics[K]['ndcg']:.4f}, test NDCG@{K} {scores[-1].mean():.4f} "
            f"({tests.user_rows.size} warm test users)"
        )
        if not np.array_equal(users[-1], users[0]):
            raise SystemExit("the settings were scored on different test users")
        if len(scores) > 1:
            interval = paired_bootstrap(scores[-1], scores[0], seed=0)
            print(f"  minus ν = {args.exponents.split(',')[0]}: {interval.cell()} (95%, paired)")


if __name__ == "__main__":
    main()
