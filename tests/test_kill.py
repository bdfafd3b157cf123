"""kill -9 at any moment of `train`, `ensemble --members`, `cv` and `cv --fold i`, then the same
command again, until it finishes: it always continues, and ends with what an uninterrupted run
ends with (every epoch in history.csv, finished runs, the submission), with nothing half-made
left behind: no damaged or orphan run, no temp file, no run that reads "running" once its
process is dead (issues 8 and 18).

The kills are events, not timers: ``WORKBENCH_KILL_AT=N`` makes the engine SIGKILL itself at its
Nth write point (``atomic.fault_point``), N drawn from a seeded random generator, so a loaded
machine changes nothing. Each command runs in a process forked from a server that has imported
Keras once (a second or two each, not ten). WORKBENCH_FAULT_TRIALS sets the kills per command
(default 4: this file takes about two minutes on two loaded cores; the issue's goal is 20+:
WORKBENCH_FAULT_TRIALS=20, some six minutes).
"""

import json
import os
import random
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from tests import forks
from tests.conftest import engine_command
from workbench.engine.data.competition import load_competition
from workbench.engine.results.submission import check_submission_file
from workbench.engine.runs import listing, run as runs
from workbench.engine.runs.listing import list_runs
from workbench.engine.runs.run import Run, read_history
from workbench.engine.store import files

pytestmark = pytest.mark.slow

TRIALS = int(os.environ.get("WORKBENCH_FAULT_TRIALS", "4"))
CHILD_TIMEOUT_S = 300


@pytest.fixture
def fork():
    """Run `workbench-engine ARGV` forked from the warm server (tests/forks.py), killed at its
    ``kill_at``th write point; returns its exit code, -9 when it was killed."""

    def run(argv: list[str], cwd: Path, kill_at: int = 0) -> int:
        env = {**os.environ, "WORKBENCH_KILL_AT": str(kill_at), "COLUMNS": "200"}
        try:
            return forks.run_forked([str(a) for a in argv], cwd, env, CHILD_TIMEOUT_S).returncode
        except subprocess.TimeoutExpired:
            pytest.fail(f"{argv} hung")

    return run


def crash_until_done(fork, argv_of, work: Path, rng: random.Random, span: int, check) -> int:
    """Run the command ``argv_of()`` gives, killed at a random write point in 1..``span``, again
    and again until a process ends by itself (exit 0), or ``argv_of()`` says there is nothing
    left to do (None); ``check`` looks at the folder after every kill. Returns the kills."""
    kills = 0
    while (argv := argv_of()) is not None:
        kill_at = rng.randint(1, span)
        code = fork(argv, work, kill_at)
        if code != -9:
            assert code == 0, (argv, kill_at, code)
            return kills
        kills += 1
        check(work)
    return kills


def until_killed(tmp_path: Path, name: str, scenario) -> None:
    """Play ``scenario(work)`` (it returns the kills it made) in fresh folders until TRIALS
    kills in all; a kill hook that never fires fails rather than loops."""
    kills = played = 0
    while kills < TRIALS:
        assert played < 4 * TRIALS, f"{kills} kills: WORKBENCH_KILL_AT does not fire"
        work = tmp_path / f"{name}{played}"
        work.mkdir()
        played += 1
        kills += scenario(work)


def no_leftovers(work: Path) -> None:
    """Nothing a crash cut short: every run listed is whole and not "running" (its process is
    dead), and no temp file or half-made folder is left."""
    listed = list_runs(work / "runs")
    assert all(r.status in ("interrupted", "finished") for r in listed), [
        (r.id, r.status, r.problem) for r in listed]


def no_temp_files(work: Path) -> None:
    left = [p for p in work.rglob("*") if p.name.endswith((".tmp", ".tmp.keras"))
            or p.name.startswith(".new-")]
    assert not left, left


def finished_run(run: Path, epochs: int, test_ids: np.ndarray) -> None:
    """What an uninterrupted run ends with."""
    assert Run(run).status == "finished"
    assert [row["epoch"] for row in read_history(run)] == list(range(1, epochs + 1))
    assert files.read_json(run / "state.json")["epoch"] == epochs
    runs.Run.open(run)
    with np.load(run / "test_predictions.npz") as test:
        np.testing.assert_array_equal(test["image_ids"], test_ids)
    assert check_submission_file(run / "submission.csv", test_ids).ok


def test_kill_9_of_train_then_resume_ends_as_an_uninterrupted_run(fork, tiny_data, tmp_path):
    rng = random.Random(18)
    test_ids = load_competition(tiny_data).test_ids

    def scenario(work: Path) -> int:
        def argv_of():
            folders = listing.run_folders(work / "runs")
            if not folders:  # killed before its folder appeared: the same command again
                return ["train", "--model", "linear", "--epochs", 3, "--batch-size", 64,
                        "--data", tiny_data]
            assert len(folders) == 1, folders
            if runs.Run(folders[0]).recorded_status == "finished":
                return None
            return ["train", "--resume", folders[0].name]

        kills = crash_until_done(fork, argv_of, work, rng, 40, no_leftovers)
        (run,) = listing.run_folders(work / "runs")
        finished_run(run, 3, test_ids)
        no_temp_files(work)
        return kills

    until_killed(tmp_path, "train", scenario)


def test_kill_9_of_an_ensemble_then_the_same_command_ends_as_an_uninterrupted_one(
        fork, tiny_data, tmp_path):
    rng = random.Random(19)
    test_ids = load_competition(tiny_data).test_ids
    argv = ["ensemble", "--members", 2, "--model", "linear", "--epochs", 1, "--batch-size", 64,
            "--data", tiny_data, "--name", "ens"]

    def scenario(work: Path) -> int:
        kills = crash_until_done(fork, lambda: argv, work, rng, 50, no_leftovers)
        manifest = json.loads((work / "runs" / "ensembles" / "ens.json").read_text())
        members = [work / "runs" / name for name in manifest["members"]]
        assert len(members) == 2 and sorted(listing.run_folders(work / "runs")) == sorted(members)
        for member in members:
            finished_run(member, 1, test_ids)
        assert check_submission_file(work / "submissions" / "ens.csv", test_ids).ok
        with np.load(work / "submissions" / "ens.npz") as saved:
            expected = np.mean([np.load(m / "test_predictions.npz")["probabilities"]
                                for m in members], axis=0)
            np.testing.assert_allclose(saved["probabilities"], expected, rtol=1e-5)
        no_temp_files(work)
        return kills

    until_killed(tmp_path, "ensemble", scenario)


@pytest.mark.parametrize("by_fold", [False, True], ids=["cv", "cv --fold i"])
def test_kill_9_of_a_cv_then_the_same_command_ends_as_an_uninterrupted_one(
        fork, tiny_data, tmp_path, by_fold):
    rng = random.Random(20 + by_fold)
    competition = load_competition(tiny_data)
    argv = ["cv", "--model", "linear", "--epochs", 1, "--batch-size", 64, "--folds", 2,
            "--data", tiny_data, "--name", "c"]

    def scenario(work: Path) -> int:
        if by_fold:
            kills = sum(crash_until_done(fork, lambda fold=fold: [*argv, "--fold", fold], work,
                                         rng, 30, no_leftovers)
                        for fold in (0, 1))  # the last fold to finish gathers the CV
        else:
            kills = crash_until_done(fork, lambda: argv, work, rng, 60, no_leftovers)
        manifest = json.loads((work / "runs" / "cv" / "c.json").read_text())
        folds = [work / "runs" / manifest["runs"][str(i)] for i in range(2)]
        assert sorted(listing.run_folders(work / "runs")) == sorted(folds)
        for run in folds:
            finished_run(run, 1, competition.test_ids)
        assert manifest["summary"]["rows"] == competition.n_train
        for name in ("oof.npz", "test.npz", "suspects.csv"):
            assert (work / "runs" / "cv" / "c" / name).is_file()
        assert check_submission_file(work / "submissions" / "c.csv", competition.test_ids).ok
        no_temp_files(work)
        return kills

    until_killed(tmp_path, "cv", scenario)


def test_the_kill_hook_works_through_the_installed_command(tiny_data, tmp_path):
    """The real console script honours WORKBENCH_KILL_AT: killed at its 3rd write point (the
    new run's config.json, before its folder appears), it leaves no run behind."""
    env = {**os.environ, "WORKBENCH_KILL_AT": "3"}
    result = subprocess.run([*engine_command(), "train", "--model", "linear", "--epochs", "1",
                             "--data", str(tiny_data)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == -9
    assert listing.run_folders(tmp_path / "runs") == []


def test_two_trainings_at_once_and_runs_list_meanwhile(tiny_data, tmp_path):
    processes = [forks.Popen(
        ["train", "--model", "mlp", "--epochs", "3", "--seed", str(seed), "--data",
         str(tiny_data)], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True) for seed in (0, 1)]
    listings = 0
    while any(p.poll() is None for p in processes):
        listed = list_runs(tmp_path / "runs")  # never fails while files are being written
        assert all(r.model == "mlp" and r.status != "damaged" for r in listed)
        listings += 1
        time.sleep(0.02)
    assert all(p.returncode == 0 for p in processes), [p.stderr.read() for p in processes]
    listed = list_runs(tmp_path / "runs")
    assert len(listed) == 2 and len({r.id for r in listed}) == 2
    assert all(r.status == "finished" and r.epochs_done == 3 for r in listed)
    assert listings > 10
