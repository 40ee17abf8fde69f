"""``train``, ``generate-demo-data`` and ``prepare``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from recommender.settings import Settings, settings_from

if TYPE_CHECKING:
    from recommender.models.base import Progress
    from recommender.training.run import TrainResult


def train(args: argparse.Namespace) -> int:
    """Train on a data directory or a log file and write a bundle."""
    from tqdm import tqdm

    from recommender.cli.spark_command import check_engine_options, train_on_spark
    from recommender.lifecycle import prune_bundles

    check_engine_options(args)
    settings = settings_from(args.env_file)
    if args.out is not None:  # a URL becomes the model store, with a local cache as model_dir
        settings = settings.model_validate({**settings.model_dump(), "model_dir": args.out})
    model_dir = settings.model_dir
    replaced = _current_or_none(model_dir)  # perhaps what a running service serves: kept
    iterations = {"als": settings.als.iterations, "bpr": settings.bpr.iterations}
    # a blend reports its components' iterations one after the other
    fitted = settings.blend.components if settings.model == "blend" else (settings.model,)
    total = sum(iterations.get(name, 1) for name in fitted)
    bars: list[tqdm[None]] = []  # opened at the first iteration, after reading and scoring

    def progress(done: int, loss: float | None) -> None:
        if not bars:
            bars.append(tqdm(total=total, desc=settings.model, unit="it", disable=args.quiet))
        bar = bars[0]
        bar.update(done - bar.n)
        if loss is not None:
            bar.set_postfix(loss=f"{loss:.5f}")

    try:
        result: TrainResult
        if getattr(args, "engine", "implicit") == "spark":
            result = train_on_spark(args, settings, progress)
        else:
            result = _train_locally(args, settings, progress)
    finally:
        for bar in bars:
            bar.close()
    for report in result.reports:
        print(report.summary())
    counts = result.trained.manifest.counts
    print(
        f"trained {result.trained.model.kind} on {counts.users} users × {counts.jobs} jobs "
        f"({counts.interactions} pairs) in {result.seconds:.1f} s → {result.bundle_dir}"
    )
    keep = args.keep if args.keep is not None else settings.keep_bundles
    deleted = prune_bundles(model_dir, keep, protect=(replaced,))
    if settings.model_store is not None:
        from recommender.bundle.pruning import prune_store
        from recommender.bundle.store import ModelStore

        prune_store(ModelStore(settings.model_store), keep, protect=(replaced,))
    if deleted:
        print(f"deleted {len(deleted)} old bundle(s), keeping the newest {keep}")
    return 0


def _train_locally(args: argparse.Namespace, settings: Settings, progress: Progress) -> TrainResult:
    """``--data`` as a log file when it is a file or a column mapping is given, else as a data
    directory (default: the setting)."""
    from recommender.cli.evaluation_commands import column_mapping
    from recommender.training.run import train_directory, train_log

    mapping = column_mapping(args)
    options = {"skip_invalid": args.skip_invalid, "progress": progress, "window": args.window}
    if mapping is not None or (args.data is not None and Path(args.data).is_file()):
        return train_log(settings, args.data or settings.data_dir, mapping, **options)
    return train_directory(settings, data_dir=args.data, **options)


def _current_or_none(model_dir: Path) -> str | None:
    from recommender.bundle.directory import current_version
    from recommender.errors import BundleError

    try:
        return current_version(model_dir)
    except BundleError:
        return None


def generate_demo_data(args: argparse.Namespace) -> int:
    """Write the synthetic demo data set."""
    from tqdm import tqdm

    from recommender.data.demo import generate_demo_data as generate

    with tqdm(desc="activity lines", unit=" lines", disable=args.quiet) as bar:

        def progress(lines: int) -> None:
            bar.update(lines - bar.n)

        summary = generate(Path(args.out), seed=args.seed, scale=args.scale, progress=progress)
    print(
        f"wrote {summary.activity_lines} activity lines ({summary.impressions} impressions, "
        f"{summary.redirects} redirects), {summary.jobs} jobs and {summary.users} users "
        f"({summary.active_users} active) to {args.out}"
    )
    return 0


def prepare(args: argparse.Namespace) -> int:
    """Make what ``make run`` needs: demo data if the data directory has none, a model if none."""
    from recommender.bundle.directory import list_bundles
    from recommender.cli.evaluation_commands import add_mapping_options
    from recommender.data.schema import ACTIVITIES_FILE

    settings = settings_from(args.env_file)
    if not (settings.data_dir / ACTIVITIES_FILE).exists():
        print(f"no {ACTIVITIES_FILE} in {settings.data_dir}: generating demo data")
        generate_demo_data(
            argparse.Namespace(out=settings.data_dir, seed=0, scale=1.0, quiet=args.quiet)
        )
    if not list_bundles(settings.model_dir):
        print(f"no model in {settings.model_dir}: training")
        mapping = argparse.ArgumentParser(add_help=False)
        add_mapping_options(mapping)  # their defaults: no column mapping
        train(
            argparse.Namespace(
                **vars(mapping.parse_args([])),
                data=None,
                out=None,
                skip_invalid=False,
                window=None,
                keep=None,
                quiet=args.quiet,
                env_file=args.env_file,
            )
        )
    return 0
