"""``train --engine spark``: the bundle the API loads, equal to local training in everything but
the factors; the CLI end to end; and a clear error without pyspark."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from recommender.bundle.directory import list_bundles
from recommender.bundle.files import load_bundle
from recommender.bundle.trained import TrainedModel
from recommender.cli import main
from recommender.recommender import Recommender
from recommender.training.run import train_directory
from tests.conftest import WriteJsonl, block_activities, block_jobs, tiny_settings
from tests.spark.conftest import spark_settings

USERS, JOBS = 6, 5


def _data_dir(tmp_path: Path, jsonl: WriteJsonl) -> Path:
    """The block data with clipped and impression-only funnels, and the block jobs."""
    extra = [{"user_id": 100, "job_id": 1001, "type": "redirect"}] * 12  # clipped at 10
    extra += [{"user_id": 111, "job_id": 1003, "type": "impression"}] * 2  # impressions only
    jsonl(tmp_path / "data" / "activities.jsonl", [*block_activities(), *extra])
    jobs = [
        {
            k: v.isoformat() if isinstance(v, datetime) else v
            for k, v in row.items()
            if v is not None
        }
        | {"description": "a job"}
        for row in block_jobs().iter_rows(named=True)
    ]
    jsonl(tmp_path / "data" / "jobs.jsonl", jobs)
    return tmp_path / "data"


def _assert_same_serving_data(ours: TrainedModel, local: TrainedModel) -> None:
    np.testing.assert_array_equal(ours.users.ids, local.users.ids)
    np.testing.assert_array_equal(ours.jobs.ids, local.jobs.ids)
    for name in ("interactions", "redirected"):
        for part in ("indptr", "indices", "data"):
            got, want = getattr(getattr(ours, name), part), getattr(getattr(local, name), part)
            np.testing.assert_array_equal(got, want, err_msg=f"{name}.{part}")
    np.testing.assert_array_equal(ours.popularity, local.popularity)
    assert ours.funnel is not None
    assert local.funnel is not None
    np.testing.assert_array_equal(ours.funnel.impressions, local.funnel.impressions)
    np.testing.assert_array_equal(ours.funnel.redirects, local.funnel.redirects)
    assert ours.job_meta is not None
    assert local.job_meta is not None
    np.testing.assert_array_equal(ours.job_meta.expires_at, local.job_meta.expires_at)
    np.testing.assert_array_equal(ours.job_meta.employer, local.job_meta.employer)
    assert ours.manifest.counts == local.manifest.counts
    assert ours.manifest.scoring == local.manifest.scoring
    for key in ("fingerprint", "activity_lines", "catalogue_jobs", "unlisted_jobs"):
        assert ours.manifest.data_dict()[key] == local.manifest.data_dict()[key], key


@pytest.mark.spark
@pytest.mark.usefixtures("spark")
def test_spark_bundle_loads_and_equals_local_training_but_for_the_factors(
    tmp_path: Path, jsonl: WriteJsonl
) -> None:
    from recommender.spark.train import train_spark

    data = _data_dir(tmp_path, jsonl)
    result = train_spark(spark_settings(), data, model_dir=tmp_path / "spark")
    local = train_directory(tiny_settings(), data_dir=data, model_dir=tmp_path / "local").trained
    loaded = load_bundle(tmp_path / "spark")
    assert loaded.manifest.version == result.bundle_dir.name
    assert loaded.model.kind == "spark-als"
    assert loaded.manifest.engine["master"] == "local[2]"
    assert [r.records for r in result.reports] == [110, 9]
    _assert_same_serving_data(loaded, local)
    assert loaded.user_top is not None  # ranked ahead, as local training does
    assert loaded.similar_top is not None
    # the contract's known answer: each user's best unseen job is the one held out of their block
    model = loaded.model
    scores = model.user_scores(np.arange(model.n_users), loaded.interactions)
    scores[loaded.interactions.toarray() > 0] = -np.inf
    for user_row, job_row in enumerate(scores.argmax(axis=1).tolist()):
        assert job_row == (user_row // USERS) * JOBS + (user_row % USERS) % JOBS
    # and the service answers it: user 106's held-out job is 1005
    recommendation = Recommender(loaded).recommend(106, 1)
    assert (recommendation.job_ids.tolist(), recommendation.source) == ([1005], "spark-als")


def _log(tmp_path: Path) -> Path:
    """The block data as a CSV log with a time column, and an old user beyond a 90-day window."""
    now = datetime.now(UTC)
    recent = (now - timedelta(days=1)).isoformat()
    lines = ["who,what,clicks,when"]
    pairs = {(r["user_id"], r["job_id"]) for r in block_activities()}
    lines += [f"{user},{job},1,{recent}" for user, job in sorted(pairs)]
    lines.append(f"999,9999,3,{int((now - timedelta(days=200)).timestamp())}")
    path = tmp_path / "clicks.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.spark
@pytest.mark.usefixtures("spark")
def test_cli_trains_a_mapped_log_on_spark_within_the_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RECOMMENDER_ALS__FACTORS", "4")
    monkeypatch.setenv("RECOMMENDER_ALS__ITERATIONS", "5")
    monkeypatch.setenv("RECOMMENDER_ALS__REGULARIZATION", "1.0")
    monkeypatch.setenv("RECOMMENDER_SPARK__BLOCKS", "2")
    args = ["-q", "train", "--engine", "spark", "--master", "local[2]"]
    args += ["--data", str(_log(tmp_path)), "--out", str(tmp_path / "m"), "--window", "90d"]
    args += ["--user-col", "who", "--item-col", "what", "--weight-col", "clicks"]
    assert main([*args, "--time-col", "when"]) == 0
    out = capsys.readouterr().out
    assert "clicks.csv: 49 records" in out
    assert "trained spark-als on 12 users × 10 jobs (48 pairs)" in out
    assert len(list_bundles(tmp_path / "m")) == 1
    loaded = load_bundle(tmp_path / "m")
    assert 999 not in loaded.users
    assert loaded.manifest.data_dict()["window_days"] == 90
    assert loaded.manifest.data_dict()["window_dropped_lines"] == 1
    assert loaded.manifest.model.params["factors"] == 4
    assert Recommender(loaded).recommend(106, 1).job_ids.tolist() == [1005]


@pytest.mark.spark
def test_spark_engine_trains_als_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("pyspark", reason="pyspark is not installed")
    monkeypatch.setenv("RECOMMENDER_MODEL", "bpr")
    assert main(["-q", "train", "--engine", "spark", "--data", str(tmp_path)]) == 1
    assert "the Spark engine trains ALS only, not 'bpr'" in capsys.readouterr().err


@pytest.mark.spark
def test_spark_engine_refuses_a_frequency_scaled_ridge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("pyspark", reason="pyspark is not installed")
    monkeypatch.setenv("RECOMMENDER_ALS__REGULARIZATION_EXPONENT", "0.5")
    assert main(["-q", "train", "--engine", "spark", "--data", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Spark's ALS cannot scale the regularisation per row" in err
    assert "RECOMMENDER_ALS__REGULARIZATION_EXPONENT is 0.5; set it to 0" in err
    assert list_bundles(tmp_path) == []


def test_without_pyspark_the_spark_engine_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark raises ImportError
    code = main(["-q", "train", "--engine", "spark", "--data", str(tmp_path)])
    assert code == 1
    err = capsys.readouterr().err
    assert "error: the Spark engine needs pyspark, which is not installed" in err
    assert "requirements-spark.txt" in err
    assert list_bundles(tmp_path) == []


def test_master_needs_the_spark_engine(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="applies to --engine spark"):
        main(["-q", "train", "--data", str(tmp_path), "--master", "local[2]"])


def test_the_default_cli_and_the_service_never_import_pyspark(tmp_path: Path) -> None:
    import subprocess

    code = (
        "import sys; import main; from recommender.cli import build_parser; "
        "from recommender.lifecycle.startup import load_or_train; "
        "build_parser().parse_args(['train', '--engine', 'spark']); "
        "assert not any(m == 'pyspark' or m.startswith('pyspark.') for m in sys.modules)"
    )
    repo = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=repo)
