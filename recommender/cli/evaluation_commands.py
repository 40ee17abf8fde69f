"""``evaluate``, ``tune`` and ``select``: measure models on held-out data, search their settings,
choose the model to serve."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from recommender.cli.types import duration, ks, names, number
from recommender.settings import settings_from


def add_log_options(parser: argparse.ArgumentParser) -> None:
    """``--data`` and the column mapping of any interaction log."""
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help="a data directory (activities.jsonl or job_clicks.csv) or a CSV/TSV/Parquet/JSONL log",
    )
    add_mapping_options(parser)
    parser.add_argument("--skip-invalid", action="store_true", help="skip invalid rows (counted)")


def add_mapping_options(parser: argparse.ArgumentParser) -> None:
    """The column mapping of an interaction log (read by :func:`column_mapping`)."""
    group = parser.add_argument_group("column mapping (for logs other than the service's own)")
    group.add_argument(
        "--user-col", help="user id column (a name, or 1-based position with --no-header)"
    )
    group.add_argument("--item-col", help="job/item id column")
    group.add_argument("--weight-col", help="weight column: a row counts that many times")
    group.add_argument("--time-col", help="time column: epoch seconds or ISO-8601")
    group.add_argument("--type-col", help="event type column: impression or redirect")
    group.add_argument(
        "--sep", help=r"field separator, e.g. ',' or '\t' (default: from the suffix)"
    )
    group.add_argument("--no-header", action="store_true", help="the file has no header line")


def add_split_options(
    parser: argparse.ArgumentParser, default_validation: float, *, cold: bool = False
) -> None:
    """How to split the log (with ``cold``, also the cold-jobs and cold-users splits)."""
    kinds = ("time", "last", "random") + (("cold-jobs", "cold-users") if cold else ())
    parser.add_argument(
        "--split",
        choices=kinds,
        default="time",
        help="cold-jobs: the time split, scored on jobs first seen in the test period; "
        "cold-users: a share of the users with a profile held out whole"
        if cold
        else None,
    )
    parser.add_argument(
        "--test-fraction",
        type=number(float, 0, 1, open_low=True),
        default=0.2,
        help="share of events (time) or pairs (random) to test",
    )
    parser.add_argument(
        "--validation-fraction",
        type=number(float, 0, 1, open_low=default_validation > 0),
        default=default_validation,
        help="share to validate on",
    )
    parser.add_argument(
        "--last-k", type=number(int, 1), default=1, help="pairs per user to hold out (--split last)"
    )
    parser.add_argument(
        "--window", type=duration, help="train only on this much history before the cut (time)"
    )
    parser.add_argument(
        "--seed",
        type=number(int, 0),
        default=0,
        help="seed of the random and cold-users splits, the search and the intervals",
    )
    parser.add_argument("--k", type=ks, default=[10], help="cut-offs, e.g. 10 or 5,10,20")


def column_mapping(args: argparse.Namespace) -> Any:
    """The :class:`~recommender.data.interactions.ColumnMapping` of the mapping options, or None
    when none is given."""
    from recommender.data.interactions import ColumnMapping

    if args.user_col is None and args.item_col is None:
        if args.sep or args.no_header or args.weight_col or args.time_col or args.type_col:
            raise SystemExit("error: a column mapping needs --user-col and --item-col")
        return None
    if args.user_col is None or args.item_col is None:
        raise SystemExit("error: give both --user-col and --item-col")
    return ColumnMapping(
        user_col=args.user_col,
        item_col=args.item_col,
        weight_col=args.weight_col,
        time_col=args.time_col,
        type_col=args.type_col,
        sep=args.sep.encode().decode("unicode_escape") if args.sep else None,
        has_header=not args.no_header,
    )


def _split(args: argparse.Namespace, log: Any) -> Any:
    from recommender.evaluation.splits import make_split

    return make_split(
        log.events,
        args.split,
        test_fraction=args.test_fraction,
        validation_fraction=args.validation_fraction,
        k=args.last_k,
        window=args.window,
        seed=args.seed,
        catalogue=log.catalogue,
    )


def evaluate(args: argparse.Namespace) -> int:
    """Evaluate models on a split and write the three report files."""
    from tqdm import tqdm

    from recommender.evaluation.dataset import load_log
    from recommender.evaluation.report import all_tables, build_report, write_report
    from recommender.evaluation.runner import ModelResult, comparisons, evaluate_models

    settings = settings_from(args.env_file)
    log = load_log(
        args.data,
        column_mapping(args),
        skip_invalid=args.skip_invalid,
        with_catalogue=True,
        jobs=args.jobs,
        users=args.users,
    )
    for report in log.reports:
        print(report.summary())
    split = _split(args, log)
    models: list[str] = args.models
    with tqdm(total=len(models), desc="models", disable=args.quiet) as bar:

        def progress(result: ModelResult) -> None:
            bar.update(1)
            bar.set_postfix(done=result.model)

        results, counts = evaluate_models(
            split, models, settings, args.k, catalogue=log.catalogue, progress=progress
        )
    document = build_report(
        dataset=log.name,
        split={"kind": split.kind, **split.params},
        settings={
            "seed": settings.seed,
            "scoring": settings.scoring.model_dump(),
            "models": {r.model: r.params for r in results},
            "catalogue_jobs": log.catalogue_jobs,
            "catalogue_users": log.catalogue.user_count(),
        },
        results=results,
        counts=counts,
        comparisons=comparisons(results, seed=args.seed),
    )
    print(all_tables(document))
    for path in write_report(document, args.out):
        print(f"wrote {path}")
    return 0


def tune(args: argparse.Namespace) -> int:
    """Search a model's settings on the validation split; report the best on test."""
    from tqdm import tqdm

    from recommender.evaluation.dataset import load_log
    from recommender.evaluation.report import build_report, markdown_table
    from recommender.evaluation.tuning import (
        SPACES,
        SPARK_SPACE,
        Trial,
        candidates,
        write_env,
    )
    from recommender.evaluation.tuning import (
        tune as run_tune,
    )

    settings = settings_from(args.env_file)
    log = load_log(args.data, column_mapping(args), skip_invalid=args.skip_invalid)
    split = _split(args, log)
    if args.space == "spark" and args.model != "als":
        raise SystemExit("error: --space spark is the Spark write-up's ALS grid; use it with als")
    space = SPARK_SPACE if args.space == "spark" else SPACES[args.model]
    k = args.k[0]
    total = len(candidates(space, args.search, args.budget, args.seed))
    with tqdm(total=total, desc="trials", disable=args.quiet) as bar:

        def progress(trial: Trial, best: Trial) -> None:
            bar.update(1)
            bar.set_postfix({f"best {args.metric}@{k}": f"{best.metrics[k][args.metric]:.4f}"})

        result = run_tune(
            split,
            settings,
            model=args.model,
            space=space,
            search=args.search,
            budget=args.budget,
            metric=args.metric,
            k=k,
            seed=args.seed,
            progress=progress,
        )
    print(f"best on validation ({args.metric}@{k} = {result.best.metrics[k][args.metric]:.4f}):")
    print("  " + ", ".join(f"{name}={value}" for name, value in result.best.params.items()))
    per_trial = sum(t.seconds for t in result.trials) / len(result.trials)
    print(f"{len(result.trials)} trials, {per_trial:.2f} s each on average")
    document = build_report(
        dataset=log.name,
        split={"kind": split.kind, **split.params},
        settings={"tuned": result.best.params},
        results=result.test,
        counts={},
    )
    print("on test:")
    print(markdown_table(document))
    if args.write_env is not None:
        write_env(args.write_env, result.best.params, args.model)
        print(f"wrote the best settings to {args.write_env}")
    return 0


def select(args: argparse.Namespace) -> int:
    """Tune each candidate model on a validation split, weigh a blend of the best and choose the
    similar-jobs method, as ``train`` does; print every trial and what would be served."""
    from tqdm import tqdm

    from recommender.evaluation.dataset import load_log
    from recommender.evaluation.selection import select_model, served_settings, validation_split
    from recommender.evaluation.tuning import SPACES, Trial, candidates, write_settings_env

    settings = settings_from(args.env_file)
    log = load_log(args.data, column_mapping(args), skip_invalid=args.skip_invalid)
    for report in log.reports:
        print(report.summary())
    split = validation_split(log.events, args.split, fraction=args.validation_fraction)
    models: list[str] = args.models
    total = sum(
        len(candidates(SPACES.get(m, {}), args.search, args.budget, args.seed)) for m in models
    )
    with tqdm(total=total, desc="trials", disable=args.quiet) as bar:

        def progress(model: str, trial: Trial, best: Trial) -> None:
            bar.update(1)
            score = best.metrics[args.k][args.metric]
            bar.set_postfix({"model": model, f"best {args.metric}@{args.k}": f"{score:.4f}"})

        result = select_model(
            split,
            settings,
            models,
            search=args.search,
            budget=args.budget,
            metric=args.metric,
            k=args.k,
            seed=args.seed,
            blend=not args.no_blend,
            blend_gain=settings.selection.blend_gain,
            similar=True,
            progress=progress,
        )
    print(_selection_table(result))
    winner = result.winner
    value = winner.best.metrics[args.k][args.metric]
    params = ", ".join(f"{name}={v}" for name, v in winner.best.params.items()) or "no settings"
    print(f"best model: {winner.model} ({params}), {args.metric}@{args.k} = {value:.4f}")
    if result.blend is not None:
        weights = " + ".join(
            f"{m}×{w:g}" for m, w in zip(result.blend.components, result.blend.weights, strict=True)
        )
        print(f"best blend: {weights}, {args.metric}@{args.k} = {result.blend.score:.4f}")
    if result.similar is not None:
        rates = ", ".join(f"{m} {v:.4f}" for m, v in result.similar.hit_rates.items())
        print(f"similar jobs: next-job hit rate@10 over {result.similar.pairs} users: {rates}")
    served = result.served
    print(
        f"served: {served.model} ({' + '.join(served.components)}; similar jobs by "
        f"{served.similar}), {args.metric}@{args.k} = {served.score:.4f} on validation"
    )
    if args.write_env is not None:
        write_settings_env(args.write_env, served_settings(result, settings), settings)
        print(f"wrote RECOMMENDER_MODEL={served.model} and its settings to {args.write_env}")
    return 0


def _selection_table(result: Any) -> str:
    metric, k = result.metric, result.k
    lines = [
        f"| model | settings | {metric}@{k} | seconds | |",
        "|---|---|---|---|---|",
    ]
    for candidate in result.candidates:
        for trial in candidate.trials:
            mark = "best" if trial is candidate.best else ""
            if candidate is result.winner and trial is candidate.best:
                mark = "**best model**"
            settings = ", ".join(f"{n}={v}" for n, v in trial.params.items()) or "-"
            lines.append(
                f"| {candidate.model} | {settings} | {trial.metrics[k][metric]:.4f} "
                f"| {trial.seconds:.2f} | {mark} |"
            )
    return "\n".join(lines)


def add_commands(sub: Any) -> None:
    """Register ``evaluate``, ``tune`` and ``select`` on the CLI's subparsers."""
    from recommender.evaluation.tuning import SPACES
    from recommender.models.registry import MODEL_NAMES

    ev = sub.add_parser("evaluate", help="evaluate models on held-out data; write a report")
    add_log_options(ev)
    ev.add_argument(
        "--jobs",
        type=Path,
        help="the job catalogue, jobs.jsonl (default: the one beside the log, if there)",
    )
    ev.add_argument(
        "--users",
        type=Path,
        help="the user profiles, users.jsonl (default: the one beside the log, if there)",
    )
    add_split_options(ev, default_validation=0.0, cold=True)
    ev.add_argument(
        "--models",
        type=names(MODEL_NAMES),
        default="als,bpr,popular,itemknn,userknn",
        help=f"comma-separated, of: {', '.join(MODEL_NAMES)}",
    )
    ev.add_argument("--out", type=Path, default=Path("reports"), help="report directory")
    ev.set_defaults(func=evaluate)

    tu = sub.add_parser(
        "tune", help="search a model's settings: select on validation, report on test"
    )
    add_log_options(tu)
    add_split_options(tu, default_validation=0.1)
    tu.add_argument(
        "--model", choices=sorted(SPACES), default="als", help="the model to tune (default als)"
    )
    tu.add_argument("--search", choices=("grid", "random", "coordinate"), default="random")
    tu.add_argument("--budget", type=number(int, 1), default=20, help="trials at most")
    tu.add_argument("--space", choices=("default", "spark"), default="default")
    tu.add_argument(
        "--metric",
        choices=("precision", "recall", "map", "ndcg", "hit_rate", "mpr", "auc"),
        default="ndcg",
        help="metric to select on (MPR is minimised, the others maximised)",
    )
    tu.add_argument(
        "--write-env", type=Path, help="merge the best settings into this env file (e.g. .env)"
    )
    tu.set_defaults(func=tune)

    se = sub.add_parser(
        "select",
        help="choose the model to serve: tune each candidate on a validation split, keep the best",
    )
    add_log_options(se)
    _add_selection_options(se)
    se.set_defaults(func=select)


def _add_selection_options(parser: argparse.ArgumentParser) -> None:
    from recommender.evaluation.selection import SELECTABLE

    parser.add_argument(
        "--split",
        choices=("time", "last"),
        default="time",
        help="time: validate on the last events (a global cut); last: on each user's last job",
    )
    parser.add_argument(
        "--validation-fraction",
        type=number(float, 0, 1, open_low=True),
        default=0.2,
        help="share of events to validate on (--split time; default 0.2)",
    )
    parser.add_argument(
        "--models",
        type=names(SELECTABLE),
        default="als,ease,rp3beta,itemknn-bm25",
        help=f"comma-separated candidates, of: {', '.join(SELECTABLE)}",
    )
    parser.add_argument("--search", choices=("grid", "random", "coordinate"), default="coordinate")
    parser.add_argument(
        "--budget", type=number(int, 1), default=8, help="trials per model at most (default 8)"
    )
    parser.add_argument(
        "--metric",
        choices=("precision", "recall", "map", "ndcg", "hit_rate", "mpr", "auc"),
        default="ndcg",
        help="metric to select on (MPR is minimised, the others maximised)",
    )
    parser.add_argument("--k", type=number(int, 1), default=10, help="cut-off (default 10)")
    parser.add_argument(
        "--seed", type=number(int, 0), default=0, help="seed of the search (default 0)"
    )
    parser.add_argument(
        "--no-blend", action="store_true", help="do not weigh a blend of the best models"
    )
    parser.add_argument(
        "--write-env",
        type=Path,
        help="merge RECOMMENDER_MODEL and what is served's settings into this env file (e.g. "
        ".env), for train to fit without selecting again",
    )
