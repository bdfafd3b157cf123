"""Engine jobs in a child process (how the app trains): events and results come back, errors
come back as themselves, a stop or the parent's death ends the run as interrupted, and a child
that dies is one sentence."""

import json
import os
import pickle
import signal
import subprocess
import sys
import threading

import pytest

from tests.helpers import child_pids, eventually
from workbench.engine.errors import Option, WorkbenchError
from workbench.engine.events import EpochEnded, Estimated, TrainStarted
from workbench.engine.runs.run import Run, RunBusy
from workbench.engine.training.child import run_in_child
from workbench.engine.training.config import TrainConfig

pytestmark = pytest.mark.slow  # a real child imports Keras; a warm one (warm_children) is forked


def long_run(tiny_data) -> TrainConfig:
    return TrainConfig(model="mlp", epochs=500, batch_size=32, data=str(tiny_data))


def test_events_arrive_in_order_and_a_stop_ends_the_run_interrupted(tiny_data, tmp_path):
    stop, events = threading.Event(), []

    def hear(event):
        events.append(event)
        if isinstance(event, EpochEnded):
            stop.set()

    result = run_in_child("train", long_run(tiny_data), runs_dir=tmp_path,
                          subscribers=[hear], stop=stop)
    assert isinstance(events[0], Estimated)  # the cost, said before the run is made
    assert isinstance(events[1], TrainStarted) and events[1].run_id == result.run.name
    assert result.status == "interrupted" and 1 <= result.epochs_done < 500
    assert json.loads((result.run / "status.json").read_text())["status"] == "interrupted"
    assert os.getpriority(os.PRIO_PROCESS, 0) == 0  # only the child was niced


def test_the_child_sends_only_the_kinds_of_event_asked_for(tiny_data, tmp_path, warm_children):
    """The app takes from the pipe only what no run's log holds (issue 33): the rest is not
    pickled and sent at all."""
    events = []
    result = run_in_child("train", TrainConfig(model="linear", epochs=1, data=str(tiny_data)),
                          runs_dir=tmp_path, subscribers=[events.append], kinds=(TrainStarted,))
    assert result.status == "finished"
    assert [type(event) for event in events] == [TrainStarted]


def test_an_engine_error_comes_back_whole(tmp_path, warm_children):
    missing = tmp_path / "nowhere.zip"
    with pytest.raises(WorkbenchError) as raised:
        run_in_child("train", TrainConfig(model="linear", data=str(missing)), runs_dir=tmp_path)
    assert "nowhere.zip" in str(raised.value)
    assert raised.value.options == (Option("data"),)  # still data: each face words it
    assert not list(tmp_path.glob("*/config.json"))


def test_errors_pickle_with_their_kind_and_fields(tmp_path):
    error = RunBusy(tmp_path / "run-1")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is RunBusy and str(copy) == str(error)
    plain = WorkbenchError("no rows", ["give ", Option("data")])
    again = pickle.loads(pickle.dumps(plain))
    assert again.options == (Option("data"),) and again.phrased(lambda o: "the Data field") == (
        "no rows; give the Data field")


def test_a_child_that_dies_is_one_sentence(tiny_data, tmp_path):
    def kill(event):
        if isinstance(event, EpochEnded):
            for pid in child_pids(b"workbench.engine.training.child"):  # not the fork server
                os.kill(pid, signal.SIGKILL)

    with pytest.raises(WorkbenchError, match="killed by signal 9 before it finished"):
        run_in_child("train", long_run(tiny_data), runs_dir=tmp_path, subscribers=[kill])


PARENT = """
import sys
from pathlib import Path
from workbench.engine.training.child import run_in_child
from workbench.engine.training.config import TrainConfig
from workbench.engine.events import EpochEnded

def hear(event):
    if isinstance(event, EpochEnded):
        print("epoch", flush=True)

run_in_child("train", TrainConfig(model="mlp", epochs=500, batch_size=32, data=sys.argv[1]),
             runs_dir=Path(sys.argv[2]), subscribers=[hear])
"""


def test_a_parent_killed_by_kill_9_stops_its_child_cleanly(tiny_data, tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tiny_data), str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    assert parent.stdout.readline().strip() == "epoch"
    parent.kill()
    parent.wait()
    status = next(tmp_path.glob("*/status.json"))
    assert eventually(lambda: json.loads(status.read_text())["status"] == "interrupted", 120)
    assert eventually(lambda: not Run(status.parent).running, 120)  # the child let go of it
