"""Tiny Kaggle-shaped data and runs made in the tests, a subscriber that stops a plan, waiting
for a state outside the app, and the processes a test leaves."""

from __future__ import annotations

import os
import threading
import time
import zipfile
from pathlib import Path

import numpy as np

from workbench.engine.data.csvformat import TEST_HEADER, TRAIN_HEADER


def make_images(n: int, seed: int = 0) -> np.ndarray:
    """n random-ish 28x28 uint8 digits with a distinct value in pixel 0 (row i has i % 256)."""
    images = np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = np.arange(n) % 256
    return images


def csv_bytes(images: np.ndarray, labels: np.ndarray | None = None, newline: str = "\n") -> bytes:
    """A Kaggle-format CSV of the images (train format when labels are given)."""
    header = TRAIN_HEADER if labels is not None else TEST_HEADER
    flat = images.reshape(len(images), -1)
    rows = flat if labels is None else np.column_stack([labels, flat])
    lines = [",".join(header)] + [",".join(map(str, row)) for row in rows.tolist()]
    return (newline.join(lines) + newline).encode()


class Kaggle:
    """A tiny competition: train (with labels) and test, as arrays and as files."""

    def __init__(self, root: Path, n_train: int = 30, n_test: int = 12) -> None:
        self.train_images = make_images(n_train, seed=1)
        self.train_labels = (np.arange(n_train) % 10).astype(np.uint8)
        self.test_images = make_images(n_test, seed=2)
        self.train_csv = csv_bytes(self.train_images, self.train_labels)
        self.test_csv = csv_bytes(self.test_images)
        self.root = root

    def folder(self, name: str = "comp") -> Path:
        folder = self.root / name
        folder.mkdir()
        (folder / "train.csv").write_bytes(self.train_csv)
        (folder / "test.csv").write_bytes(self.test_csv)
        return folder

    def zip(self, name: str = "digit-recognizer.zip", prefix: str = "") -> Path:
        path = self.root / name
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(prefix + "train.csv", self.train_csv)
            archive.writestr(prefix + "test.csv", self.test_csv)
            archive.writestr(prefix + "sample_submission.csv", b"ImageId,Label\n")
        return path


def tiny_competition_folder(root: Path, n_train: int = 300, n_test: int = 40) -> Path:
    """train.csv/test.csv holding the first rows of the embedded sample: real digits, fast."""
    from workbench.engine.data.competition import sample_path

    with zipfile.ZipFile(sample_path()) as archive:
        train = archive.read("train.csv").split(b"\n")[:n_train + 1]
        test = archive.read("test.csv").split(b"\n")[:n_test + 1]
    root.mkdir(parents=True, exist_ok=True)
    (root / "train.csv").write_bytes(b"\n".join(train) + b"\n")
    (root / "test.csv").write_bytes(b"\n".join(test) + b"\n")
    return root


def synthetic_run(runs_dir: Path, competition, run_id: str = "20260101-120000-simple-cnn") -> Path:
    """A finished run folder written directly (no training), deterministic for snapshots."""
    import json

    from workbench.engine.data.split import stratified_split
    from workbench.engine.results.submission import write_submission
    from workbench.engine.runs.run import write_history

    run = runs_dir / run_id
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"model": "simple-cnn", "epochs": 3}))
    (run / "status.json").write_text(json.dumps({"status": "finished", "seconds": 42.0}))
    (run / "state.json").write_text(json.dumps({"epoch": 3, "best_val_accuracy": 0.9}))
    write_history(run, [{"epoch": e, "loss": 1 / e, "accuracy": 0.6 + 0.1 * e,
                         "val_loss": 1.2 / e, "val_accuracy": 0.6 + 0.1 * e,
                         "learning_rate": 0.001, "seconds": 2.0} for e in (1, 2, 3)])
    _, val = stratified_split(competition.train_labels, 0.1, 0)
    labels = competition.train_labels[val]
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(10) * 0.3, len(val)).astype(np.float32)
    right = rng.random(len(val)) < 0.9
    probabilities[right, labels[right]] += 2
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    np.savez(run / "val_predictions.npz", probabilities=probabilities, labels=labels, ids=val + 1)
    write_submission(competition.test_ids, competition.test_ids % 10, "submission", directory=run)
    return run


class StopInSecondRun:
    """A subscriber that sets ``stop`` in the first epoch of the second run a plan starts: a
    plan stopped with one member finished and one begun."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.started: list[str] = []

    def __call__(self, event) -> None:
        from workbench.engine.events import EpochEnded, TrainStarted

        if isinstance(event, TrainStarted):
            self.started.append(event.run_id)
        if isinstance(event, EpochEnded) and len(self.started) == 2 and event.epoch == 1:
            self.stop.set()


def eventually(condition, seconds: float = 60, step: float = 0.02) -> bool:
    """Whether ``condition()`` comes to hold within ``seconds``: a process, a file or a server
    outside the app, waited for by its state, not for a time (the app's own is
    ``tests.pilots.until``)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


def child_pids(command_part: bytes = b"") -> list[int]:
    """The pids of this process's children whose command line holds ``command_part``."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat, open(f"/proc/{entry}/cmdline", "rb") as cmd:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
                command = cmd.read()
        except (OSError, ValueError, IndexError):
            continue
        if parent == os.getpid() and command_part in command:
            found.append(int(entry))
    return found


def descendant_pids(command_part: bytes = b"") -> list[int]:
    """The pids of this process's descendants (children, theirs, ...) whose command line holds
    ``command_part``: what a command that started Ray must not leave behind."""
    parents, commands = {}, {}
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat, open(f"/proc/{entry}/cmdline", "rb") as cmd:
                parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
                commands[int(entry)] = cmd.read()
        except (OSError, ValueError, IndexError):
            continue
    mine = {os.getpid()}
    grew = True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in mine} - mine
        grew = bool(found)
        mine |= found
    return sorted(pid for pid in mine - {os.getpid()} if command_part in commands[pid])
