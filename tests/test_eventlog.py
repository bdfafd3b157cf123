"""A run's events.jsonl: every event a training publishes, readable live by another process."""

from pathlib import Path

from workbench.engine.events import (
    BatchEnded,
    EpochEnded,
    Estimated,
    EventQueue,
    Predicting,
    TrainFinished,
    TrainStarted,
)
from workbench.engine.runs.eventlog import EVENTS_FILE, EventFollower, EventLog
from workbench.engine.training import fit as training
from workbench.engine.training.config import TrainConfig


def test_the_log_holds_every_event_the_subscribers_saw(tiny_data, tmp_path):
    seen = EventQueue()
    result = training.train(TrainConfig(model="linear", epochs=2, batch_size=32,
                                        data=str(tiny_data)),
                            runs_dir=tmp_path, subscribers=[seen])
    logged = EventFollower(result.run).poll()
    said = seen.drain()
    assert isinstance(said[0], Estimated)  # the cost, said before the run (and its log) exists
    assert logged == said[1:]
    kinds = [type(event) for event in logged]
    assert kinds[0] is TrainStarted and kinds[-2:] == [Predicting, TrainFinished]
    assert [e.epoch for e in logged if isinstance(e, EpochEnded)] == [1, 2]
    assert any(isinstance(e, BatchEnded) for e in logged)
    predicting = logged[-2]
    assert predicting.test_rows == 40 and predicting.val_rows > 0


def test_a_follower_returns_whole_lines_once(tmp_path):
    log = EventLog(tmp_path)
    follower = EventFollower(tmp_path)
    assert follower.poll() == []  # no log yet
    first = TrainStarted("r", "linear", "cpu", 3, 0, 10, 100, 10)
    log(first)
    with open(tmp_path / EVENTS_FILE, "a") as out:
        out.write('{"event": "EpochEnded", "epoch": 1')  # a line still being written
    assert follower.poll() == [first]
    assert follower.poll() == []
    with open(tmp_path / EVENTS_FILE, "a") as out:  # the writer ends the line
        out.write(', "epochs": 3, "loss": 0.5, "accuracy": 0.9, "val_loss": null, '
                  '"val_accuracy": null, "learning_rate": 0.001, "seconds": 1.0, '
                  '"samples_per_s": 100.0, "eta_s": 2.0, "best": false}\n')
    assert follower.poll() == [EpochEnded(1, 3, 0.5, 0.9, None, None, 0.001, 1.0, 100.0, 2.0,
                                          False)]


def test_a_line_cut_by_a_kill_is_skipped_and_the_next_writer_starts_afresh(tmp_path):
    (tmp_path / EVENTS_FILE).write_text('{"event": "TrainStarted", "run_id": "r", "mod')
    finished = TrainFinished("r", "finished", 3, 0.9, 12.0)
    EventLog(tmp_path)(finished)
    with open(tmp_path / EVENTS_FILE, "a") as out:
        out.write("not json\n" + '{"event": "NoSuchEvent"}\n' + "[1, 2]\n")
    assert EventFollower(tmp_path).poll() == [finished]


def test_a_log_that_cannot_be_written_never_stops_training(tmp_path):
    gone = tmp_path / "gone"
    log = EventLog(gone)  # the folder does not exist: every write fails
    log(TrainFinished("r", "finished", 1, None, 1.0))
    assert log.path is None and not gone.exists()


def test_a_replaced_log_is_read_from_its_start(tmp_path):
    log = EventLog(tmp_path)
    follower = EventFollower(tmp_path)
    for epoch in range(1, 4):
        log(TrainFinished("r", "finished", epoch, None, 1.0))
    assert len(follower.poll()) == 3
    Path(tmp_path / EVENTS_FILE).unlink()
    again = TrainFinished("r2", "finished", 1, None, 1.0)
    EventLog(tmp_path)(again)
    assert follower.poll() == [again]


def test_every_training_event_names_its_run(tiny_data, tmp_path):
    """Issue 33: a subscriber of several runs (members at once) can tell their events apart."""
    from workbench.engine.events import BatchEnded, EpochEnded
    from workbench.engine.training import fit as training
    from workbench.engine.training.config import TrainConfig

    seen = []
    result = training.train(TrainConfig(model="linear", epochs=1, batch_size=32,
                                        data=str(tiny_data)), runs_dir=tmp_path,
                            subscribers=[seen.append])
    named = [event for event in seen if isinstance(event, (BatchEnded, EpochEnded))]
    assert named and {event.run_id for event in named} == {result.run.name}
