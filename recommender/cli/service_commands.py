"""``train``, ``generate-demo-data`` and ``prepare``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.settings import Settings, settings_from

if TYPE_CHECKING:
    from recommender.training.run import Choice, LogSpec, Selector, TrainResult


def train(args: argparse.Namespace) -> int:
    """Train on a data directory or a log file and write a bundle."""
    from recommender.cli.spark_command import check_engine_options, train_on_spark
    from recommender.lifecycle import prune_bundles
    from recommender.training.fit import progress_steps

    check_engine_options(args)
    settings = settings_from(args.env_file)
    overrides = {"model_dir": args.out, "model": getattr(args, "model", None)}
    overrides = {name: value for name, value in overrides.items() if value is not None}
    if overrides:  # a URL model_dir becomes the model store, with a local cache as model_dir
        settings = settings.model_validate({**settings.model_dump(), **overrides})
    model_dir = settings.model_dir
    replaced = _current_or_none(model_dir)  # perhaps what a running service serves: kept
    bars = _Bars(quiet=args.quiet, fit_steps=progress_steps(settings))
    try:
        result: TrainResult
        if getattr(args, "engine", "implicit") == "spark":
            result = train_on_spark(args, settings, bars.fitting)
        else:
            result = _train_locally(args, settings, bars)
    finally:
        bars.close()
    selection = result.trained.manifest.selection
    if selection is not None:
        print(_selection_line(selection))
    for report in result.reports:
        print(report.summary())
    data = result.trained.manifest.data
    if data.events_file is not None:
        print(f"read {data.event_lines:,} events from the event store {data.events_file}")
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


class _Bars:
    """The progress bars of a run: one over selection's trials, then one over the fit's
    iterations (each opened at its first step)."""

    def __init__(self, *, quiet: bool, fit_steps: int | None) -> None:
        self.quiet = quiet
        self.fit_steps = fit_steps
        """The fit's progress calls, when known (after selection, with ``auto``)."""
        self.bars: dict[str, Any] = {}
        self.model = ""

    def _bar(self, name: str, total: int | None, unit: str) -> Any:
        from tqdm import tqdm

        if name not in self.bars:
            self.bars[name] = tqdm(total=total, desc=name, unit=unit, disable=self.quiet)
        return self.bars[name]

    def selecting(self, done: int, total: int, what: str) -> None:
        """Selection's progress (an :data:`~recommender.evaluation.auto.SelectionProgress`)."""
        bar = self._bar("selecting", total, "trial")
        bar.update(done - bar.n)
        bar.set_postfix_str(what)
        if done >= total:
            bar.close()

    def fitting(self, done: int, loss: float | None) -> None:
        """The fit's progress (a :data:`~recommender.models.base.Progress`)."""
        bar = self._bar("fitting", self.fit_steps, "it")
        bar.update(done - bar.n)
        if loss is not None:
            bar.set_postfix(loss=f"{loss:.5f}")

    def selector(self) -> Selector:
        """Selection, showing its trials, that sets the fit's steps from what it chose."""
        from recommender.evaluation.auto import AutoSelector
        from recommender.training.fit import progress_steps

        select = AutoSelector(self.selecting)

        def selected(log_spec: LogSpec, settings: Settings) -> Choice:
            choice = select(log_spec, settings)
            self.fit_steps = progress_steps(choice.settings)
            return choice

        return selected

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _selection_line(selection: dict[str, Any]) -> str:
    served = selection.get("served", {})
    if "skipped" in selection:
        return f"selection skipped ({selection['skipped']}): trained {served.get('model')}"
    parts = [f"{m}×{w:g}" for m, w in zip(served["components"], served["weights"], strict=True)]
    runner_up = ", ".join(
        f"{c['model']} {c['best']['score']:.4f}" for c in selection.get("candidates", [])
    )
    return (
        f"selected {served['model']} ({' + '.join(parts)}; similar jobs by {served['similar']}): "
        f"{selection['metric']} {served['validation_score']:.4f} on validation "
        f"[{runner_up}] in {selection['seconds']:.1f} s"
    )


def _train_locally(args: argparse.Namespace, settings: Settings, bars: _Bars) -> TrainResult:
    """``--data`` as a log file when it is a file or a column mapping is given, else as a data
    directory (default: the setting); ``model`` auto selects the model first."""
    from recommender.cli.evaluation_commands import column_mapping
    from recommender.training.run import train_directory, train_log

    mapping = column_mapping(args)
    options = {
        "skip_invalid": args.skip_invalid,
        "progress": bars.fitting,
        "window": args.window,
        "select": bars.selector(),
    }
    given = None if args.data is None else Path(args.data)  # not a directory: a log file (checked)
    if mapping is not None or (given is not None and given.exists() and not given.is_dir()):
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
