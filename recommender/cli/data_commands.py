"""``convert-movielens``: a public data set in the service's three input files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def convert_movielens(args: argparse.Namespace) -> int:
    """Write MovieLens 100K as activities.jsonl, jobs.jsonl and users.jsonl."""
    from recommender.data.movielens import convert_movielens as convert

    done = convert(args.src, args.out)
    print(
        f"wrote {done.activity_lines} activity lines ({done.ratings} ratings), {done.jobs} jobs "
        f"and {done.users} users to {args.out}"
    )
    return 0


def add_commands(sub: Any) -> None:
    """Register ``convert-movielens`` on the CLI's subparsers."""
    ml = sub.add_parser(
        "convert-movielens",
        help="MovieLens 100K (u.data, u.item, u.user) as activities, jobs and users JSON Lines",
    )
    ml.add_argument(
        "--src", type=Path, required=True, help="the ml-100k directory (u.data, u.item, u.user)"
    )
    ml.add_argument("--out", type=Path, required=True, help="output data directory")
    ml.set_defaults(func=convert_movielens)
