"""Shared fixtures: an isolated cache, tiny Kaggle-shaped data made here, the real CLI."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests import forks
from tests.helpers import Kaggle, tiny_competition_folder

# The kaggle client reads this once, when first imported: every in-process client in the tests
# talks to a local endpoint (the fake server), never to kaggle.com.
os.environ["KAGGLE_API_ENVIRONMENT"] = "LOCALHOST"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: one worker more than the cores. The pilot and subprocess tests spend a
    third of their time waiting (for a child, a worker thread, a pause), which a spare worker
    fills: 6m03s against 7m09s with 2 workers on this 2-core machine."""
    return (os.cpu_count() or 1) + 1


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory, monkeypatch):
    """Each test gets its own cache folder, no WORKBENCH_DATA and no Kaggle credentials from
    the environment (a test that wants them makes them: see ``Kaggle``)."""
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path_factory.mktemp("kaggle-config")))
    for name in ("WORKBENCH_DATA", "WORKBENCH_HOME", "KAGGLE_USERNAME", "KAGGLE_KEY",
                 "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    # Ray runs its workers at nice 15: beside two busy processes they got almost no CPU, and
    # the Ray tests took 40 minutes. The tests' members run at the tests' own priority.
    monkeypatch.setenv("RAY_worker_niceness", "0")
    from workbench.engine.store import workspace

    workspace.choose(None)  # an in-process command's --runs-dir lasts for its process
    yield
    workspace.choose(None)


@pytest.fixture(autouse=True)
def unfrozen():
    """The app freezes what it built out of the garbage collector's way (tui/heap.py): in one
    process running many apps, each test's leftovers go back to the collector."""
    yield
    gc.unfreeze()


@pytest.fixture
def kaggle(tmp_path) -> Kaggle:
    return Kaggle(tmp_path)


@pytest.fixture
def no_credentials(monkeypatch, tmp_path) -> Path:
    """No Kaggle credentials: none in the environment (``isolated`` took them out), none in
    HOME, and a config folder (returned, not made) that holds none."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "kcfg"))
    return tmp_path / "kcfg"


SUBMISSION_IDS = np.arange(1, 6)  # the test ids that ``submission`` answers


@pytest.fixture
def submission(tmp_path) -> Path:
    """A valid submission of five rows, for the engine's Kaggle calls given ``SUBMISSION_IDS``
    (test_cli_kaggle's own answers the ``kaggle`` fixture's 12 test rows)."""
    path = tmp_path / "sub.csv"
    path.write_text("ImageId,Label\n1,7\n2,2\n3,1\n4,0\n5,4\n")
    return path


def engine_command() -> list[str]:
    """The installed `workbench-engine` console script (the real entry point)."""
    script = Path(sys.executable).with_name("workbench-engine")
    return [str(script)] if script.exists() else [sys.executable, "-m", "workbench.cli"]


@pytest.fixture
def cli(tmp_path):
    """Run `workbench-engine ARGS` in tmp_path, in a process forked from a server that has
    imported Keras (tests/forks.py); returns the CompletedProcess."""

    def run(*args: str, cwd: Path = tmp_path, timeout: float = 120,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        env = {**os.environ, "COLUMNS": "200", **(env or {})}
        return forks.run_forked([str(arg) for arg in args], cwd, env, timeout)

    return run


@pytest.fixture
def warm_children(monkeypatch):
    """The app's training child (``run_in_child``) forked from the warm server: the same child
    process, without its TensorFlow import (tests/test_child.py starts the real one)."""
    from workbench.engine.training import child

    forks.start_server()
    monkeypatch.setattr(child, "subprocess", forks.as_subprocess)


@pytest.fixture
def cli_process(tmp_path):
    """Run the real `workbench-engine ARGS` console script in tmp_path, in a fresh interpreter:
    for the tests of how Keras loads (its backend, keras.json), which a warm fork skips."""

    def run(*args: str, cwd: Path = tmp_path, timeout: float = 120,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        env = {**os.environ, "COLUMNS": "200", **(env or {})}
        return subprocess.run([*engine_command(), *map(str, args)], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=timeout)

    return run


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """A 300-row train / 40-row test competition folder of real digits."""
    return tiny_competition_folder(tmp_path_factory.mktemp("tiny"))
