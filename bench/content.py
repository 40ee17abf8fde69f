"""content: Word2Vec job and profile vectors, cold jobs, profile-only users and the hybrid.

Quality, on the evaluation's cold splits (:mod:`recommender.evaluation.segments`):

* **cold-jobs** (demo data): the hybrid's weights (``cold_weight`` × ``history_weight``) are
  chosen on a validation split carved from the training period the same way (a cold-jobs split of
  the training events), by NDCG@10 over every validation click; then ALS with content and the
  chosen weights, and ALS without content (the collaborative model), are fitted on the whole
  training period and scored once on test, per segment, with paired bootstrap intervals;
* **cold-users** (demo data, and MovieLens 100K with ``u.item`` and ``u.user`` converted): users
  held out whole, answered from their profile (``source`` ``profile``) against the popular list
  that a collaborative model gives them.

Speed: Word2Vec training and embedding times, the vectors' memory per 100,000 jobs, and the
single-user and similar-jobs endpoints under wrk on a bundle with content against one without,
trained on the same data in the same run.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import REPO, Context, Result, Row, say, spread
from bench.http_load import lua_script, measure
from bench.server import Server

ML_100K = REPO.parent / "shared" / "data" / "ml-100k"
K = 10
SEED = 42


def _settings(content: bool, **params: Any) -> Any:
    from recommender.settings import Settings

    settings = Settings(model="als", seed=SEED)
    update = {"enabled": content, **params}
    return settings.model_copy(update={"content": settings.content.model_copy(update=update)})


def _per_user(trained: Any, clicks: Any) -> Any:
    from recommender.evaluation.runner import EVALUATION_RULES
    from recommender.evaluation.segments import measure_segments
    from recommender.recommender import Recommender

    return measure_segments(Recommender(trained), clicks, [K], EVALUATION_RULES)


def _select(
    train_events: Any, catalogue: Any, cold_share: float = 0.0
) -> tuple[dict[str, float], dict[str, Any]]:
    """The hybrid weights ``train`` would choose: on a cold-jobs split of the training period."""
    from recommender.evaluation.hybrid_weights import select_hybrid
    from recommender.evaluation.splits import cold_jobs_split

    validation = cold_jobs_split(train_events, catalogue)
    chosen, info = select_hybrid(validation, _settings(True, cold_share=cold_share), catalogue)
    for trial in info["trials"]:
        say(f"content: validation {trial}")
    params = chosen.content
    return {"cold_weight": params.cold_weight, "history_weight": params.history_weight}, info


def _cold_jobs(ctx: Context) -> tuple[list[Row], dict[str, Any]]:
    from recommender.evaluation.dataset import load_log
    from recommender.evaluation.intervals import paired_bootstrap
    from recommender.evaluation.runner import fit_split
    from recommender.evaluation.segments import held_out_clicks
    from recommender.evaluation.splits import cold_jobs_split

    log = load_log(ctx.data_dir, with_catalogue=True)
    split = cold_jobs_split(log.events, log.catalogue)
    chosen, trials = _select(split.train, log.catalogue)
    clicks = held_out_clicks(split, _settings(True), log.catalogue)
    collaborative = _per_user(
        fit_split(split.train, _settings(False), "als", log.catalogue), clicks
    )
    hybrid = _per_user(
        fit_split(split.train, _settings(True, **chosen), "als", log.catalogue), clicks
    )
    rows = []
    name = (
        f"hybrid (ALS + content, cold {chosen['cold_weight']}, history {chosen['history_weight']})"
    )
    for segment in ("cold jobs", "warm jobs", "history 1", "history 2-4", "history 5+"):
        if (segment, K) not in hybrid.ndcg:
            continue
        ours, ref = hybrid.metrics[segment][K], collaborative.metrics[segment][K]
        interval = paired_bootstrap(
            hybrid.ndcg[segment, K], collaborative.ndcg[segment, K], seed=SEED
        )
        rows.append(
            Row(
                f"demo, cold-jobs split, {segment} ({hybrid.users[segment]:,} users): {name}",
                f"hit@{K} {ours['hit_rate']:.4f}, NDCG@{K} {ours['ndcg']:.4f}",
                f"ALS alone: hit@{K} {ref['hit_rate']:.4f}, NDCG@{K} {ref['ndcg']:.4f}",
                f"ΔNDCG {interval.cell()}",
            )
        )
    cold_hit = hybrid.metrics["cold jobs"][K]["hit_rate"]
    warm_hit = hybrid.metrics["warm jobs"][K]["hit_rate"]
    rows.append(
        Row(
            "demo, cold-jobs split: hybrid's hit rate on cold clicks against warm clicks",
            f"{cold_hit:.4f}",
            f"warm: {warm_hit:.4f}",
            f"{cold_hit / warm_hit:.2f} (target ≥ 0.33)" if warm_hit else "n/a",
        )
    )
    raw = {"chosen": chosen, "validation": trials, "counts": clicks.counts}
    rows += _curve(split, log.catalogue, clicks, collaborative)
    share_rows, raw["cold_share"] = _with_cold_share(split, log.catalogue, clicks, collaborative)
    return rows + share_rows, raw


def _with_cold_share(
    split: Any, catalogue: Any, clicks: Any, collaborative: Any
) -> tuple[list[Row], dict[str, Any]]:
    """The hybrid ``train`` chooses with ``cold_share`` 1/3 (new postings asked for a third of
    the warm hit rate on validation), scored on test against ALS alone."""
    from recommender.evaluation.intervals import paired_bootstrap
    from recommender.evaluation.runner import fit_split

    share = round(1 / 3, 4)
    chosen, trials = _select(split.train, catalogue, cold_share=share)
    hybrid = _per_user(
        fit_split(split.train, _settings(True, cold_share=share, **chosen), "als", catalogue),
        clicks,
    )
    cold, warm = hybrid.metrics["cold jobs"][K], hybrid.metrics["warm jobs"][K]
    ref = collaborative.metrics["warm jobs"][K]
    interval = paired_bootstrap(
        hybrid.ndcg["warm jobs", K], collaborative.ndcg["warm jobs", K], seed=SEED
    )
    label = f"cold {chosen['cold_weight']}, history {chosen['history_weight']}"
    rows = [
        Row(
            f"demo, cold-jobs split: hybrid chosen with cold_share {share} ({label}): hit rate "
            "on cold clicks against warm clicks (test)",
            f"{cold['hit_rate']:.4f}",
            f"warm: {warm['hit_rate']:.4f}",
            f"{cold['hit_rate'] / warm['hit_rate']:.2f} (target ≥ 0.33)",
        ),
        Row(
            f"demo, cold-jobs split: hybrid chosen with cold_share {share} ({label}): warm "
            "clicks (test)",
            f"NDCG@{K} {warm['ndcg']:.4f}",
            f"ALS alone: NDCG@{K} {ref['ndcg']:.4f}",
            f"ΔNDCG {interval.cell()} (target: not worse)",
        ),
    ]
    return rows, {"chosen": chosen, "validation": trials}


def _curve(split: Any, catalogue: Any, clicks: Any, collaborative: Any) -> list[Row]:
    """What forcing cold jobs in costs: test hit rates at each cold weight (history weight 0),
    and the warm clicks' NDCG against the collaborative model's (paired bootstrap)."""
    from recommender.evaluation.hybrid_weights import COLD_WEIGHTS, served_with
    from recommender.evaluation.intervals import paired_bootstrap
    from recommender.evaluation.runner import fit_split

    trained = fit_split(split.train, _settings(True), "als", catalogue)
    rows = []
    for weight in (*COLD_WEIGHTS, 3.0, 4.0):
        scores = _per_user(served_with(trained, cold_weight=weight, history_weight=0.0), clicks)
        cold, warm = scores.metrics["cold jobs"][K], scores.metrics["warm jobs"][K]
        interval = paired_bootstrap(
            scores.ndcg["warm jobs", K], collaborative.ndcg["warm jobs", K], seed=SEED
        )
        rows.append(
            Row(
                f"demo, cold-jobs split: cold weight {weight} (the exposure curve, test)",
                f"cold clicks hit@{K} {cold['hit_rate']:.4f}",
                f"warm clicks hit@{K} {warm['hit_rate']:.4f}, NDCG@{K} {warm['ndcg']:.4f}; "
                f"warm ΔNDCG against ALS alone {interval.cell()}",
                f"{cold['hit_rate'] / warm['hit_rate']:.2f} cold/warm hit rate",
            )
        )
    return rows


def _similar_sector(trained: Any) -> list[Row]:
    """How often a job's 10 similar jobs share its ``sector`` (the demo's jobs.jsonl field):
    cold jobs' from their content vectors, warm jobs' from the model, as served."""
    import numpy as np

    from recommender.recommender import Recommender

    catalogue = trained.catalogue
    if catalogue is None or "sector" not in catalogue.job_fields:
        return []
    sector, _ = catalogue.job_values("sector", trained.jobs.ids)
    cold = np.diff(trained.interactions.tocsc().indptr) == 0
    recommender = Recommender(trained)
    shares = {}
    for name, mask in (("cold", cold), ("warm", ~cold)):
        cols = np.flatnonzero(mask & (sector >= 0))
        same = total = 0
        source = ""
        for col in cols.tolist():
            found = recommender.similar_jobs(int(trained.jobs.ids[col]), K)
            similar, _ = trained.jobs.lookup(found.job_ids)
            same += int((sector[similar] == sector[col]).sum())
            total += int(similar.shape[0])
            source = found.source
        shares[name] = (same / max(total, 1), cols.shape[0], source)
    cold_share, n_cold, cold_source = shares["cold"]
    warm_share, n_warm, warm_source = shares["warm"]
    return [
        Row(
            f"similar jobs sharing the job's sector: {n_cold:,} cold jobs, {K} each "
            f"(source {cold_source})",
            f"{cold_share:.3f}",
            f"{n_warm:,} warm jobs (source {warm_source}): {warm_share:.3f}",
            "target ≥ 0.90",
        )
    ]


def _cold_users(data: Path, label: str) -> tuple[Row, dict[str, Any]]:
    from recommender.evaluation.dataset import load_log
    from recommender.evaluation.hybrid_weights import select_hybrid
    from recommender.evaluation.intervals import paired_bootstrap
    from recommender.evaluation.runner import fit_split
    from recommender.evaluation.segments import held_out_clicks
    from recommender.evaluation.splits import cold_users_split

    log = load_log(data, with_catalogue=True)
    split = cold_users_split(log.events, log.catalogue, seed=SEED)
    clicks = held_out_clicks(split, _settings(True), log.catalogue)
    popular = _per_user(fit_split(split.train, _settings(False), "als", log.catalogue), clicks)
    # the profile lists' popularity weight as train chooses it: on a cold-users split of training
    validation = cold_users_split(split.train, log.catalogue, seed=SEED)
    chosen, _ = select_hybrid(validation, _settings(True), log.catalogue)
    profile = _per_user(fit_split(split.train, chosen, "als", log.catalogue), clicks)
    beta = chosen.content.popularity_weight
    ours, ref = profile.metrics["history 0"][K], popular.metrics["history 0"][K]
    interval = paired_bootstrap(
        profile.ndcg["history 0", K], popular.ndcg["history 0", K], seed=SEED
    )
    row = Row(
        f"{label}, cold-users split ({profile.users['history 0']:,} users held out whole): "
        f"profile lists (β {beta} chosen on validation)",
        f"hit@{K} {ours['hit_rate']:.4f}, NDCG@{K} {ours['ndcg']:.4f}",
        f"popular list: hit@{K} {ref['hit_rate']:.4f}, NDCG@{K} {ref['ndcg']:.4f}",
        f"{ours['ndcg'] / ref['ndcg']:.2f}× popular (target ≥ 1.5); ΔNDCG {interval.cell()}",
    )
    return row, {"profile": ours, "popular": ref}


def movielens_with_content(workdir: Path) -> Path | None:
    """MovieLens 100K converted with ``u.item``/``u.user`` (once per run), or None without it."""
    if not (ML_100K / "u.item").is_file():
        return None
    from recommender.data.movielens import convert_movielens

    out = workdir / "ml-100k-content"
    if not (out / "activities.jsonl").is_file():
        convert_movielens(ML_100K, out)
    return out


def _speed(ctx: Context) -> tuple[list[Row], dict[str, Any]]:
    from recommender.bundle.files import load_bundle
    from recommender.content.text import job_tokens
    from recommender.training.run import train_directory

    dirs = {}
    for content in (True, False):
        model_dir = ctx.workdir / ("models-content" if content else "models-plain")
        say(f"content: training a bundle with content {'on' if content else 'off'} …")
        train_directory(_settings(content), data_dir=ctx.data_dir, model_dir=model_dir)
        dirs[content] = model_dir
    trained = load_bundle(dirs[True])
    info = trained.manifest.content
    assert info is not None and trained.content is not None and trained.catalogue is not None
    jobs = trained.catalogue.jobs
    started = time.perf_counter()
    tokens = [
        job_tokens(t, d)
        for t, d in zip(jobs["title"].to_list(), jobs["description"].to_list(), strict=True)
    ]
    tokenised = time.perf_counter()
    trained.content.embed_many(tokens)
    embedded = time.perf_counter()
    per_100k = trained.content.job_vectors.nbytes / len(trained.jobs) * 100_000 / 2**20
    rows = [
        Row(
            f"Word2Vec training ({info.words:,} words × {trained.content.text_dimensions}; "
            f"{trained.content.field_words.shape[0]} field values, "
            f"{len(tokens):,} job texts, {info.user_documents:,} user documents)",
            f"{info.train_seconds:.1f} s",
            "",
            "",
        ),
        Row(
            f"embedding every listed job ({len(tokens):,})",
            f"tokenise {tokenised - started:.2f} s + embed {embedded - tokenised:.2f} s",
            "",
            "",
        ),
        Row(
            "memory of the job vectors",
            f"{per_100k:.1f} MiB per 100,000 jobs (all arrays: "
            f"{trained.content.nbytes / 2**20:.1f} MiB here)",
            "",
            "",
        ),
    ]
    rows += _similar_sector(trained)
    plain = load_bundle(dirs[False])  # ids warm in both bundles: what today's service answers
    user_ids = spread(plain.users.ids)
    job_ids = spread(plain.jobs.ids)
    users = lua_script(ctx.workdir / "content-users.lua", "user_id", user_ids)
    jobs_lua = lua_script(ctx.workdir / "content-jobs.lua", "job_id", job_ids)
    runs: dict[str, dict[bool, Any]] = {"single": {}, "similar": {}}
    for content in (False, True, False, True):  # alternating: the machine drifts
        env = {**ctx.service_env(), "RECOMMENDER_MODEL_DIR": str(dirs[content])}
        log = ctx.workdir / f"content-{content}.log"
        with Server("main:app", env, log) as server:
            server.wait_for("/recommend/jobs_single_user/", {"user_id": user_ids[0], "n": 10})
            for name, path, script in (
                ("single", "/recommend/jobs_single_user/", users),
                ("similar", "/recommend/find_similar_jobs/", jobs_lua),
            ):
                got = measure(ctx, server, path, script)
                best = runs[name].get(content)
                if best is None or got.requests_per_s > best.requests_per_s:
                    runs[name][content] = got
    for name, label in (("single", "`jobs_single_user`"), ("similar", "`find_similar_jobs`")):
        on, off = runs[name][True], runs[name][False]
        rows.append(
            Row(
                f"{label}, warm ids, content on (best of 2, wrk -c16)",
                on.cell(),
                f"content off: {off.cell()}",
                f"{on.requests_per_s / off.requests_per_s:.2f} of content off (target ≥ 0.85)",
            )
        )
    raw = {name: {str(k): dataclasses.asdict(v) for k, v in r.items()} for name, r in runs.items()}
    return rows, raw | {"content": info.model_dump(mode="json")}


def run(ctx: Context) -> Result:
    rows: list[Row] = []
    raw: dict[str, Any] = {}
    say("content: cold-jobs split …")
    cold_rows, raw["cold_jobs"] = _cold_jobs(ctx)
    rows += cold_rows
    say("content: cold-users splits …")
    sets: Sequence[tuple[Path | None, str]] = (
        (ctx.data_dir, "demo"),
        (movielens_with_content(ctx.workdir), "MovieLens 100K (u.item, u.user)"),
    )
    for data, label in sets:
        if data is None:
            say(f"content: {label}: not found, skipped")
            continue
        row, raw[f"cold_users {label}"] = _cold_users(data, label)
        rows.append(row)
    speed_rows, raw["speed"] = _speed(ctx)
    rows += speed_rows
    return Result("content", rows=rows, raw=raw)
