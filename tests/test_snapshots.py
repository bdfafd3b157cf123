"""Snapshots of every screen at 120x40 on the embedded sample, with a fixed run as fixture.

Update after an intended change: pytest tests/test_snapshots.py --snapshot-update
"""

import pytest

from tests.helpers import synthetic_run
from tests.pilots import press
from workbench.engine.data.competition import load_competition
from workbench.tui.app import WorkbenchApp


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", "/no-kaggle-config")  # a path the Submit screen names
    synthetic_run(tmp_path / "runs", load_competition())
    return tmp_path


@pytest.mark.parametrize("key", ["d", "t", "r", "v", "k", "w"])
def test_screen(snap_compare, workdir, key):
    async def show(pilot):
        await press(pilot, key)

    assert snap_compare(WorkbenchApp(), run_before=show, terminal_size=(120, 40))
