"""Input files that cannot be read as files: a directory, a FIFO, ``/dev/null``, a file this
process may not read. Each is one clear error naming the file, never a traceback, and never
"file not found" for something that is there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from recommender.data.interactions import read_interactions
from recommender.data.pair_counts import read_activity_counts
from recommender.data.readers import read_activities, read_jobs
from recommender.errors import InvalidDataError, MissingDataError

REPO = Path(__file__).resolve().parents[2]
LINE = '{"user_id": 1, "job_id": 2, "type": "redirect"}\n'

Reader = Callable[[Path], object]
READERS: dict[str, Reader] = {
    "read_activities": read_activities,
    "read_activity_counts": read_activity_counts,
    "read_jobs": read_jobs,
    "read_interactions": read_interactions,
}


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p.mkdir(), "a directory, not a regular file"),
        (os.mkfifo, "a FIFO, not a regular file"),
    ],
    ids=["directory", "fifo"],
)
def test_a_directory_or_a_fifo_is_named_for_what_it_is(
    tmp_path: Path, reader: str, make: Callable[[Path], None], expected: str
) -> None:
    path = tmp_path / "activities.jsonl"
    make(path)
    with pytest.raises(InvalidDataError, match=expected) as error:
        READERS[reader](path)
    assert not isinstance(error.value, MissingDataError)
    assert str(error.value).startswith(str(path))


def test_dev_null_is_a_device_not_a_missing_file() -> None:
    with pytest.raises(InvalidDataError, match=r"^/dev/null: a device, not a regular file$"):
        read_activities(Path("/dev/null"))


def test_a_missing_file_is_still_not_found(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match="file not found"):
        read_activity_counts(tmp_path / "absent.jsonl")


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory another user may enter (pytest's tmp_path is private to its owner)."""
    path = Path(tempfile.mkdtemp(prefix="recommender-unreadable-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _unprivileged() -> list[str]:
    """What runs a command without root's power to read any file: as nobody, when we are root."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a mode 000 file would be readable")
    return [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def test_train_on_an_unreadable_file_is_one_line_not_a_traceback(shared_dir: Path) -> None:
    data = shared_dir / "data"
    data.mkdir()
    data.chmod(0o755)
    activities = data / "activities.jsonl"
    activities.write_text(LINE)
    activities.chmod(0o000)
    done = subprocess.run(
        [
            *_unprivileged(),
            *(sys.executable, "-m", "recommender", "-q", "train"),
            *("--data", str(data), "--out", "m"),
        ],
        cwd=shared_dir,
        env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == f"error: {activities}: cannot be read: Permission denied"
