"""Disk full, read-only folders, unreadable files: one clear sentence, exit 2, nothing written
before is lost (issue 8). Root ignores file permissions, so as root each command runs with the
two capabilities that bypass them dropped (util-linux ``setpriv``); a file size limit
(RLIMIT_FSIZE) stands in for a full disk: writes fail with EFBIG as they would with ENOSPC."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import forks
from tests.conftest import engine_command
from tests.test_cli import assert_one_line_error

DROP = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
        "--bounding-set=-dac_override,-dac_read_search"]


def _prefix() -> list[str]:
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: file permissions cannot be enforced")
    return DROP


def engine(*args, cwd: Path) -> subprocess.CompletedProcess:
    """`workbench-engine ARGS` as a user whom file permissions bind."""
    return subprocess.run([*_prefix(), *engine_command(), *map(str, args)], cwd=cwd,
                          env={**os.environ, "COLUMNS": "200"}, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def read_only(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    yield folder
    folder.chmod(0o755)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_an_unreadable_file(tiny_data, tmp_path):
    train = tmp_path / "train.csv"
    shutil.copy(tiny_data / "train.csv", train)
    train.chmod(0)
    assert_one_line_error(engine("data", "info", "--data", train, cwd=tmp_path),
                          "cannot read", "Permission denied", "permissions")


@pytest.mark.parametrize(("command", "folder_flag"), [
    (["train"], "--runs-dir"), (["cv", "--folds", "2"], "--runs-dir"),
    (["ensemble", "--members", "2"], "--runs-dir"), (["search", "--lrs", "0.1"], "--dir")])
def test_training_into_a_read_only_runs_folder_is_refused_before_keras_loads(
        command, folder_flag, tiny_data, tmp_path, read_only):
    read_only.chmod(0o555)
    result = engine(*command, folder_flag, read_only / "runs", "--model", "linear", "--epochs",
                    "1", "--data", tiny_data, cwd=tmp_path)
    assert_one_line_error(result, "permission denied for", "runs", "read-only folder")
    assert "Keras" not in result.stderr  # said at once, not after seconds of loading
    assert not (read_only / "runs").exists()



def test_resuming_a_run_whose_folder_is_read_only_is_refused_before_keras_loads(tiny_data,
                                                                                tmp_path, cli):
    """A resume writes in the run's own folder: that folder is the one checked."""
    first = cli("train", "--model", "linear", "--epochs", "1", "--data", tiny_data)
    assert first.returncode == 0, first.stderr
    run = next((tmp_path / "runs").iterdir())
    before = snapshot(run)
    run.chmod(0o555)
    try:
        result = engine("train", "--resume", run.name, "--epochs", "2", cwd=tmp_path)
    finally:
        run.chmod(0o755)
    assert_one_line_error(result, "permission denied for", run.name, "read-only folder")
    assert "Keras" not in result.stderr
    assert snapshot(run) == before


def test_a_submission_into_a_read_only_folder_keeps_the_old_one(tiny_data, tmp_path):
    first = engine("baseline", "random", "--data", tiny_data, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    submissions = tmp_path / "submissions"
    before = snapshot(submissions)
    submissions.chmod(0o555)
    try:
        result = engine("baseline", "random", "--data", tiny_data, "--force", cwd=tmp_path)
    finally:
        submissions.chmod(0o755)
    assert_one_line_error(result, "permission denied")
    assert snapshot(submissions) == before


def test_export_into_a_read_only_folder(tiny_data, tmp_path, read_only):
    read_only.chmod(0o555)
    result = engine("data", "export-png", read_only / "png", "--data", tiny_data, cwd=tmp_path)
    assert_one_line_error(result, "permission denied")


@pytest.mark.slow
def test_a_full_disk_mid_training_keeps_the_last_checkpoint(tiny_data, tmp_path, cli):
    """Epoch 1 is written; the disk fills before epoch 2's checkpoint: a clear error, the run
    still holds epoch 1 whole (no temp files left), and --resume finishes it later. (No
    permission is tested: the commands fork from the warm server, tests/forks.py.)"""
    first = cli("train", "--model", "mlp", "--epochs", "1", "--data", tiny_data)
    assert first.returncode == 0, first.stderr
    run = next((tmp_path / "runs").iterdir())
    kept = {name: (run / name).read_bytes() for name in ("last.keras", "best.keras",
                                                         "state.json")}
    full = forks.run_forked(["train", "--resume", run.name, "--epochs", "2"], tmp_path,
                            {**os.environ, "COLUMNS": "200"}, timeout=300,
                            max_file_bytes=64_000)  # below a checkpoint, above the small files
    assert_one_line_error(full, "no space left", "files written before are kept")
    assert {name: (run / name).read_bytes() for name in kept} == kept
    assert not [p.name for p in run.iterdir() if ".tmp" in p.name]
    assert '"status": "failed"' in (run / "status.json").read_text()
    resumed = cli("train", "--resume", run.name, "--epochs", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch 1" in resumed.stderr
    assert (run / "history.csv").read_text().count("\n") == 3  # header + 2 epochs
