"""Distributed search, as real processes of the real CLI on 127.0.0.1: a chief and its workers
finish the grid with every trial recorded once, and a worker killed mid-trial stalls no one and
loses nothing (its trial goes to another worker)."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import engine_command
from workbench.cli import main

pytestmark = pytest.mark.slow

GRID = ["--model", "linear", "--optimizers", "adam", "sgd", "--lrs", "0.1", "0.01",
        "--schedules", "constant", "--epochs", "1", "--cpu"]
CELLS = sorted((o, lr, "constant") for o in ("adam", "sgd") for lr in (0.1, 0.01))
DEADLINE = 240  # seconds for a whole scenario: a stall fails the test instead of hanging it


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """A chief and workers sharing one search folder, each a `workbench-engine search`."""

    def __init__(self, tmp_path: Path, data: Path, port: int | None = None) -> None:
        self.tmp_path, self.folder = tmp_path, tmp_path / "search"
        self.command = [*engine_command(), "search", *GRID, "--data", str(data),
                        "--dir", str(self.folder)]
        self.port = port or free_port()
        self.processes: dict[str, subprocess.Popen] = {}
        self.start_time = time.monotonic()

    def start(self, tuner_id: str) -> None:
        env = {**os.environ, "COLUMNS": "200", "KERASTUNER_ORACLE_IP": "127.0.0.1",
               "KERASTUNER_ORACLE_PORT": str(self.port), "KERASTUNER_TUNER_ID": tuner_id}
        self.processes[tuner_id] = subprocess.Popen(
            self.command, cwd=self.tmp_path, env=env, text=True,
            stdout=(self.tmp_path / f"{tuner_id}.out").open("w"),
            stderr=(self.tmp_path / f"{tuner_id}.err").open("w"))

    def left(self) -> float:
        return DEADLINE - (time.monotonic() - self.start_time)

    def output(self, tuner_id: str) -> tuple[str, str]:
        return tuple((self.tmp_path / f"{tuner_id}.{kind}").read_text() for kind in ("out", "err"))

    def finish(self, tuner_id: str) -> str:
        """Wait for the process (failing at the deadline, not hanging); its stdout."""
        try:
            code = self.processes[tuner_id].wait(timeout=max(self.left(), 1))
        except subprocess.TimeoutExpired:
            pytest.fail(f"{tuner_id} still running after {DEADLINE} s (a stall): "
                        f"{ {t: self.output(t) for t in self.processes} }")
        out, err = self.output(tuner_id)
        assert code == 0, (tuner_id, code, out, err)
        assert "Traceback" not in err
        return out

    def wait_until(self, condition, what: str) -> None:
        while not condition():
            for tuner_id, process in self.processes.items():
                assert process.poll() is None, (f"{tuner_id} ended while waiting for {what}",
                                                self.output(tuner_id))
            assert self.left() > 0, f"no {what} within {DEADLINE} s"
            time.sleep(0.05)

    def running(self) -> dict[str, str]:
        """The chief's record of who runs which trial (tuner id: trial id), {} until readable."""
        for path in self.folder.glob("kerastuner-*/oracle.json"):
            try:
                return json.loads(path.read_bytes())["ongoing_trials"]
            except (OSError, ValueError, KeyError):
                pass  # written in place by the chief: read again
        return {}

    def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def cluster(tmp_path, tiny_data):
    running = Cluster(tmp_path, tiny_data)
    yield running
    running.close()


def rows(path: Path) -> list[tuple]:
    with path.open(newline="") as file:
        return [(r["optimizer"], float(r["learning_rate"]), r["schedule"])
                for r in csv.DictReader(file)]


def assert_every_trial_once(folder: Path) -> None:
    workers = sorted(folder.glob("trials-*.csv"))
    assert workers, "no worker wrote a trials file"
    assert sorted(row for path in workers for row in rows(path)) == CELLS  # none twice, none lost
    assert sorted(rows(folder / "trials.csv")) == CELLS  # the chief's gathering


def named_files(line: str) -> list[Path]:
    return [Path(p) for p in re.findall(r"/\S+?\.csv", line)]


def test_a_chief_and_two_workers_run_every_trial_once(cluster):
    for tuner_id in ("chief", "tuner0", "tuner1"):
        cluster.start(tuner_id)
    outputs = {t: cluster.finish(t) for t in ("tuner0", "tuner1", "chief")}
    assert_every_trial_once(cluster.folder)
    for tuner_id, out in outputs.items():  # each last line names files that exist
        last = out.strip().splitlines()[-1]
        assert named_files(last) and all(p.is_file() for p in named_files(last)), (tuner_id, last)
    assert outputs["chief"].strip().endswith(f"All trials: {cluster.folder / 'trials.csv'}")


def test_a_worker_killed_mid_trial_stalls_no_one_and_its_trial_runs_elsewhere(cluster):
    """KerasTuner's chief hands the trial out and waits for it: killed, the worker never ended
    it, and the chief (and any worker left) waited forever. Now the chief sees the dead
    worker's lock free and gives its trial to the next worker that asks."""
    cluster.start("chief")
    cluster.start("tuner1")
    cluster.wait_until(lambda: "tuner1" in cluster.running(), "trial handed to tuner1")
    cluster.processes["tuner1"].send_signal(signal.SIGKILL)  # mid-trial: handed out, not ended
    assert cluster.processes["tuner1"].wait(timeout=60) == -signal.SIGKILL
    cluster.start("tuner0")
    cluster.finish("tuner0")
    cluster.finish("chief")
    assert_every_trial_once(cluster.folder)


def test_a_worker_over_a_finished_grid_exits_without_asking_a_chief(cluster):
    """No chief listens (it may have gathered and gone): the worker would wait for one an hour
    per ask. The trials files already hold the whole grid, so it ends at once, and says so."""
    cluster.folder.mkdir()
    header = "trial,optimizer,learning_rate,schedule,best_val_accuracy,final_val_accuracy," \
             "epochs_to_converge,epochs,seconds\n"
    (cluster.folder / "trials-tuner0.csv").write_text(header + "".join(
        f"{i},{o},{lr},{s},0.5,0.5,1,1,1.0\n" for i, (o, lr, s) in enumerate(CELLS)))
    cluster.start("tuner1")
    last = cluster.finish("tuner1").strip().splitlines()[-1]
    assert last.startswith("This worker ran no trial; the chief gathers every worker's into")
    assert not (cluster.folder / "trials-tuner1.csv").exists()


def test_a_chief_on_a_port_in_use_says_so(tmp_path, tiny_data):
    """KerasTuner's chief would not notice and serve nothing (or share the port with another
    chief, splitting the workers between two grids)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        cluster = Cluster(tmp_path, tiny_data, port=taken.getsockname()[1])
        cluster.start("chief")
        try:
            code = cluster.processes["chief"].wait(timeout=DEADLINE)
        finally:
            cluster.close()
    err = cluster.output("chief")[1]
    assert code == 2, err
    assert err.splitlines()[-1].startswith(f"workbench-engine: error: the chief cannot listen on "
                                           f"127.0.0.1:{cluster.port} (the port is in use")
    assert len(err.splitlines()) == 2  # the first line, then the sentence


@pytest.mark.parametrize("missing", ["KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_PORT"])
def test_a_half_set_distributed_environment_is_named_before_anything_starts(
        tmp_path, tiny_data, monkeypatch, capsys, missing):
    for name, value in (("KERASTUNER_ORACLE_IP", "127.0.0.1"),
                        ("KERASTUNER_ORACLE_PORT", str(free_port())),
                        ("KERASTUNER_TUNER_ID", "tuner0")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(missing)
    assert main(["search", *GRID, "--data", str(tiny_data), "--dir", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert f"KERASTUNER_ORACLE_IP is set but {missing} is not" in err
    assert not (tmp_path / "s").exists()
