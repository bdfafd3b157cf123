"""kill -9 of a training subprocess at random moments: the run folder always loads and resumes,
and no checkpoint or history file is ever half-written (issue 8)."""

import csv
import json
import random
import signal
import subprocess
import time

import pytest

from tests.conftest import engine_command
from workbench.engine.runs import list_runs, read_history, run_status

keras = pytest.importorskip("keras")
TRIALS = 20


def check_run_folder(run):
    """Every file there parses completely; the checkpoint and history agree with state.json."""
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "mlp"
    assert run_status(run) in ("interrupted", "finished")
    state = json.loads((run / "state.json").read_text()) if (run / "state.json").exists() else {}
    rows = list(csv.DictReader((run / "history.csv").open())) if (
        run / "history.csv").exists() else []
    assert len(rows) >= state.get("epoch", 0)
    assert [int(r["epoch"]) for r in rows] == list(range(1, len(rows) + 1))
    if (run / "last.keras").exists():
        assert keras.saving.load_model(run / "last.keras").name == "mlp"
    return state.get("epoch", 0)


def test_kill_9_at_random_moments(tiny_data, tmp_path):
    rng = random.Random(7)
    resumed = 0
    for trial in range(TRIALS):
        work = tmp_path / f"trial{trial}"
        work.mkdir()
        process = subprocess.Popen(
            [*engine_command(), "train", "--model", "mlp", "--epochs", "1000", "--batch-size",
             "8", "--data", str(tiny_data)], cwd=work, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not list(work.glob("runs/*/config.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 2.5))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        run = next(work.glob("runs/*"))
        done = check_run_folder(run)
        if done and resumed < 3:
            result = subprocess.run(
                [*engine_command(), "train", "--resume", run.name, "--epochs", str(done + 1)],
                cwd=work, capture_output=True, text=True, timeout=120)
            assert result.returncode == 0, result.stderr[-500:]
            assert len(read_history(run)) == done + 1
            resumed += 1
    assert resumed >= 1


def test_two_trainings_at_once_and_runs_list_meanwhile(tiny_data, tmp_path):
    processes = [subprocess.Popen(
        [*engine_command(), "train", "--model", "mlp", "--epochs", "8", "--seed", str(seed),
         "--data", str(tiny_data)], cwd=tmp_path, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True) for seed in (0, 1)]
    listings = 0
    while any(p.poll() is None for p in processes):
        runs = list_runs(tmp_path / "runs")  # never fails while files are being written
        assert all(r.model == "mlp" for r in runs)
        listings += 1
        time.sleep(0.02)
    assert all(p.returncode == 0 for p in processes), [p.stderr.read() for p in processes]
    runs = list_runs(tmp_path / "runs")
    assert len(runs) == 2 and len({r.id for r in runs}) == 2
    assert all(r.status == "finished" and r.epochs_done == 8 for r in runs)
    assert listings > 10
