"""The Train screen: the form's knobs, one run / CV / ensemble, stop, and runs watched live
through their event log, whoever started them."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest
from textual.widgets import Input, ProgressBar, Select

from tests import forks
from tests.pilots import Notes, text, until
from workbench.engine.events import BatchEnded, EpochEnded, Predicting, TrainFinished, TrainStarted
from workbench.engine.recipes import PRESETS
from workbench.engine.runs import run as runs
from workbench.engine.runs.eventlog import EventLog
from workbench.tui.app import WorkbenchApp
from workbench.tui.widgets.curves import Curves

pytestmark = pytest.mark.usefixtures("warm_children")  # the app's child, forked warm



async def fill(pilot, **fields) -> None:
    """Open the Train form and fill it (ids to values)."""
    await pilot.press("t")
    for widget_id, value in fields.items():
        pilot.app.screen.query_one(f"#{widget_id}").value = value
    await pilot.pause()


async def start(pilot, **fields) -> None:
    """Fill the Train form (ids to values) and press g."""
    await fill(pilot, **fields)
    await pilot.press("g")


async def finished(pilot) -> None:
    """Until the training has ended, and the reading of its run's log (off the UI thread) that
    its last events start, and what they left is shown."""
    await pilot.app.workers.wait_for_complete()
    await until(pilot, lambda: all(worker.is_finished for worker in pilot.app.workers),
                seconds=120)
    await pilot.pause()


async def train_plan(pilot, plan: str, name: str, **fields) -> None:
    """A plan of two one-epoch linear members, named ``name``, trained from the form to its
    end."""
    await start(pilot, model="linear", epochs="1", plan=plan, members="2",
                **{"plan-name": name, **fields})
    await finished(pilot)


def fake_live_run(runs_dir, run_id="20260101-120000-mlp"):
    """A run folder whose lock is held, as a training process would hold it."""
    run = runs_dir / run_id
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"model": "mlp", "epochs": 3}))
    return run, runs.Run.claim(run)


async def test_the_form_has_every_knob_and_the_run_records_them(tiny_data, tmp_path,
                                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = WorkbenchApp(str(tiny_data))
    async with app.run_test(size=(120, 40)) as pilot:
        await start(pilot, model="linear", epochs="2", **{
            "batch-size": "64", "seed": "3", "val-split": "0.2", "early-stopping": "4",
            "label-smoothing": "0.1", "precision": "float32", "cpu": True})
        await finished(pilot)
        assert "finished: 2 epochs" in text(app, "#status")
        accuracy = app.screen.query_one("#accuracy", Curves)
        assert accuracy.series["validation"][0] == [1, 2]
        assert accuracy.x_max == 2
        loss = app.screen.query_one("#loss", Curves).series["train (batches)"][0]
        assert loss and loss[0] > 0 and loss[-1] <= 2
    config = json.loads(next((tmp_path / "runs").iterdir()).joinpath("config.json").read_text())
    assert (config["batch_size"], config["seed"], config["val_split"], config["early_stopping"],
            config["label_smoothing"], config["precision"], config["cpu"]) == (
        64, 3, 0.2, 4, 0.1, "float32", True)


async def test_a_preset_fills_the_form(tiny_data):
    app = WorkbenchApp(str(tiny_data))
    async with app.run_test(size=(120, 40)) as pilot:
        await fill(pilot, preset="kaggle-best")
        form = {name: app.screen.query_one(f"#{name}").value
                for name in ("model", "optimizer", "schedule", "lr", "epochs", "batch-size",
                             "label-smoothing")}
        preset = PRESETS["kaggle-best"]
        assert form == {"model": preset.model, "optimizer": preset.optimizer,
                        "schedule": preset.schedule, "lr": f"{preset.learning_rate:g}",
                        "epochs": str(preset.epochs), "batch-size": str(preset.batch_size),
                        "label-smoothing": f"{preset.label_smoothing:g}"}


@pytest.mark.parametrize(("fields", "said"), [
    ({"epochs": "abc"}, "epochs must be a number"),
    ({"val-split": "1.5"}, "validation split 1.5 is outside"),
    ({"plan": "cv", "members": "1"}, "needs at least 2 folds"),
    ({"plan": "ensemble", "members": ""}, "needs at least 2 members"),
    ({"plan": "cv", "members": "3", "parallel": "4"},
     "parallel 4 is more than the 3 members this plan trains; use at most that many (the "
     "Parallel field)"),
    ({"plan": "ensemble", "members": "2", "parallel": "0"}, "parallel must be 1 or more"),
])
async def test_a_bad_form_is_one_sentence_and_no_run(tiny_data, tmp_path, monkeypatch, fields,
                                                      said):
    monkeypatch.chdir(tmp_path)
    notes = Notes()
    app = WorkbenchApp(str(tiny_data))
    async with app.run_test(size=(120, 40), message_hook=notes) as pilot:
        await start(pilot, **fields)
        await pilot.pause()
        assert any(said in note for note in notes), notes
        assert not app.screen.query_one("#start").disabled
    assert not (tmp_path / "runs").exists()


async def test_the_form_trains_an_ensemble_member_by_member(tiny_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = WorkbenchApp(str(tiny_data))
    async with app.run_test(size=(120, 40)) as pilot:
        await train_plan(pilot, "ensemble", "pair")
        log = text(app, "#epochs-log")
        assert "-- member 1 of 2 --" in log and "-- member 2 of 2 --" in log
        assert "Ensemble pair finished: 2 members" in text(app, "#status")
    assert (tmp_path / "submissions" / "pair.csv").is_file()


async def test_the_form_trains_a_cv(tiny_data, tmp_path, monkeypatch):
    from workbench.engine.plans.cv import read_summary

    monkeypatch.chdir(tmp_path)
    app = WorkbenchApp(str(tiny_data))
    async with app.run_test(size=(120, 40)) as pilot:
        await train_plan(pilot, "cv", "tiny")
        assert "CV tiny finished: out-of-fold accuracy" in text(app, "#status")
        assert "-- fold 2 of 2 --" in text(app, "#epochs-log")
        assert app.screen.query_one("#accuracy", Curves).series["validation"][0] == [1]
        assert not app.screen.query_one("#start").disabled
    summary = read_summary("tiny")
    assert summary is not None and summary.rows == 300 and summary.folds == 2


async def test_an_empty_epochs_field_trains_the_preset_s_epochs(tiny_data):
    app = WorkbenchApp(str(tiny_data))
    async with app.run_test(size=(120, 40)) as pilot:
        await fill(pilot, preset="kaggle-best")
        app.screen.query_one("#epochs", Input).value = ""
        assert app.screen._config().epochs == PRESETS["kaggle-best"].epochs == 20
        app.screen.query_one("#preset", Select).clear()
        await pilot.pause()
        assert app.screen._config().epochs == 5  # no preset: the engine's default


async def test_members_at_once_show_a_line_each_and_the_curves_follow_one(tmp_path,
                                                                          monkeypatch):
    from workbench.engine.events import Estimated, MemberEvent
    from workbench.tui.messages import TrainingEvent

    monkeypatch.chdir(tmp_path)
    run, lock = fake_live_run(tmp_path / "runs")
    with lock:
        app = WorkbenchApp()
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("t")
            screen = app.screen
            for event in (
                    Estimated(0.5, 100, 20, 2, "CPU (2 cores)", True),
                    MemberEvent(1, 2, "fold", run.name, TrainStarted(run.name, "mlp", "cpu", 3,
                                                                     0, 4, 100, 10)),
                    MemberEvent(2, 2, "fold", "other", TrainStarted("other", "mlp", "cpu", 3,
                                                                    0, 4, 100, 10)),
                    MemberEvent(2, 2, "fold", "other", EpochEnded(1, 3, 0.5, 0.8, 0.4, 0.85,
                                                                  0.01, 1.0, 100.0, 2.0, True)),
                    MemberEvent(1, 2, "fold", run.name, BatchEnded(2, 3, 4, 0.3, 0.9, 0.01,
                                                                   100.0, 5.0))):
                screen.post_message(TrainingEvent(event))
            await pilot.pause()
            lines = text(app, "#member-lines").splitlines()
            assert lines == ["fold 1: epoch 2 · step 3/4 · acc 90.00% · ETA 0:05",
                             "fold 2: epoch 1/3 done · val acc 85.00%"]
            assert screen.follower is not None and screen.follower.run.name == run.name
            assert "estimate: ~17 min a member" in text(app, "#epochs-log")


async def test_the_form_says_what_its_training_would_take_once_one_has_run_here(tiny_data,
                                                                                tmp_path,
                                                                                monkeypatch):
    from workbench.engine.training.config import TrainConfig
    from workbench.engine.training.estimate import record

    monkeypatch.chdir(tmp_path)
    record(TrainConfig(model="linear", epochs=2, data=str(tiny_data)).resolved(), "CPU (test)",
           0.25)
    app = WorkbenchApp(str(tiny_data))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await until(pilot, lambda: app.competition is not None)
        estimate = app.screen.query_one("#estimate")
        app.screen.query_one("#model").value = "mlp"  # no training of it here yet: nothing
        await pilot.pause()
        assert not estimate.display
        app.screen.query_one("#model").value = "linear"
        app.screen.query_one("#epochs").value = "2"
        await pilot.pause()
        assert estimate.display and text(app, "#estimate") == (
            "Estimate: ~8 s to train on CPU (test) (0.25 s a step, 2 epochs of 16 steps, as its "
            "last training here)")
        app.screen.query_one("#plan").value = "cv"
        app.screen.query_one("#members").value = "3"
        await pilot.pause()
        assert "a member on CPU (test)" in text(app, "#estimate")
        assert "3 members: ~24 s" in text(app, "#estimate")


@pytest.mark.slow
@pytest.mark.xdist_group("ray")
async def test_the_form_trains_a_cv_two_folds_at_once(tiny_data, tmp_path, monkeypatch):
    from workbench.engine.plans.cv import read_summary

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    app = WorkbenchApp(str(tiny_data))
    async with app.run_test(size=(120, 40)) as pilot:
        await train_plan(pilot, "cv", "pair", parallel="2")
        assert "CV pair finished: out-of-fold accuracy" in text(app, "#status")
        lines = text(app, "#member-lines")
        assert "fold 1: finished" in lines and "fold 2: finished" in lines
    summary = read_summary("pair")
    assert summary is not None and summary.rows == 300


async def test_stop_ends_the_run_and_the_countdown(tiny_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = WorkbenchApp(str(tiny_data))
    async with app.run_test(size=(120, 40)) as pilot:
        await start(pilot, model="mlp", epochs="500")
        await until(pilot, lambda: "ETA" in text(app, "#status"))
        # Keras trains in a child process at a lower priority: the app's keys come first.
        child = json.loads(next((tmp_path / "runs").glob("*/status.json")).read_text())["pid"]
        assert child != os.getpid() and os.getpriority(os.PRIO_PROCESS, child) == 10
        await pilot.press("x")
        await finished(pilot)
        with pytest.raises(ProcessLookupError):  # the child has ended
            os.kill(child, 0)
        status = text(app, "#status")
        assert "interrupted" in status and "ETA" not in status
        assert "u resumes" in status and "--resume" not in status  # the app's words, not a flag
        assert not app.screen.query_one("#progress", ProgressBar).show_eta
    run = next((tmp_path / "runs").iterdir())
    assert runs.Run(run).recorded_status == "interrupted"


async def test_the_batch_loss_is_the_mean_since_the_last_event(tmp_path, monkeypatch):
    """Keras reports the epoch's running mean; the curve shows the mean of the batches between
    two events, so it does not drop at each epoch's start, and it ends at the run's last epoch."""
    monkeypatch.chdir(tmp_path)
    run, lock = fake_live_run(tmp_path / "runs")
    log = EventLog(run)
    log(TrainStarted(run.name, "mlp", "cpu", 2, 0, 4, 100, 10))
    for epoch, means in ((1, (1.0, 0.75)), (2, (0.5, 0.4))):  # batch losses 1 1 .5 .5, .5 .5 .3 .3
        for step, mean in zip((2, 4), means):
            log(BatchEnded(epoch, step, 4, mean, 0.5, 0.01, 100.0, 1.0))
    with lock:
        app = WorkbenchApp()
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("t")
            loss = app.screen.query_one("#loss", Curves)
            await until(pilot, lambda: len(loss.series.get("train (batches)", ([], []))[0]) == 4)
            xs, ys = loss.series["train (batches)"]
            assert xs == [0.5, 1.0, 1.5, 2.0]
            assert ys == pytest.approx([1.0, 0.5, 0.5, 0.3])
            assert loss.x_max == 2
            assert "started outside the app" in text(app, "#status")


async def test_a_resumed_run_shows_every_epoch_and_says_when_it_predicts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run, lock = fake_live_run(tmp_path / "runs")
    runs.write_history(run, [{"epoch": e, "loss": 1 / e, "accuracy": 0.8, "val_loss": 1 / e,
                              "val_accuracy": 0.8 + e / 100, "learning_rate": 0.01,
                              "seconds": 1.0} for e in (1, 2)])
    log = EventLog(run)  # the log begins at the resume: history.csv holds the first epochs
    log(TrainStarted(run.name, "mlp", "cpu", 3, 2, 4, 100, 10, "full data (42,000 labelled rows)"))
    log(EpochEnded(3, 3, 0.2, 0.9, 0.2, 0.85, 0.01, 1.0, 100.0, 0.0, True))
    log(Predicting(run.name, 10, 40))
    with lock:
        app = WorkbenchApp()
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("t")
            await until(pilot, lambda: "predicting" in text(app, "#status"))
            accuracy = app.screen.query_one("#accuracy", Curves)
            assert accuracy.series["validation"][0] == [1, 2, 3]
            assert "resumed after epoch 2" in text(app, "#epochs-log")
            assert "full data (42,000 labelled rows): 100 train" in text(app, "#status")
            assert "predicting 10 validation and 40 test rows" in text(app, "#status")
            bar = app.screen.query_one("#progress", ProgressBar)
            assert bar.total is None  # it pulses: not the training's finished bar, standing
            log(TrainFinished(run.name, "finished", 3, 0.85, 3.0))
            await until(pilot, lambda: "finished: 3 epochs" in text(app, "#status"))
            assert bar.percentage == 1


@pytest.mark.slow
async def test_a_training_started_by_the_cli_appears_with_live_curves(tiny_data, tmp_path,
                                                                     monkeypatch):
    """A `workbench-engine train` in another process (another terminal, SSH) is watched live."""
    env = {**os.environ, "COLUMNS": "200"}
    forks.start_server()  # before the app: see start_server
    process = forks.Popen(["train", "--model", "mlp", "--epochs", "500", "--data",
                           str(tiny_data)], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    try:
        monkeypatch.chdir(tmp_path)
        app = WorkbenchApp(str(tiny_data))
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("t")
            accuracy = app.screen.query_one("#accuracy", Curves)
            await until(pilot, lambda: len(accuracy.series.get("validation", ([], []))[0]) >= 2,
                        seconds=120)
            status = text(app, "#status")
            assert "started outside the app" in status and "mlp" in status
            assert app.screen.query_one("#loss", Curves).series["train (batches)"][0]
            assert app.screen.query_one("#stop").disabled  # not the app's to stop
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)
    assert runs.Run(next((tmp_path / "runs").iterdir())).recorded_status == "interrupted"


@pytest.mark.parametrize("size", [(100, 30), (160, 50)])
async def test_start_and_stop_are_in_view(tmp_path, monkeypatch, size):
    monkeypatch.chdir(tmp_path)
    app = WorkbenchApp()
    async with app.run_test(size=size) as pilot:
        await pilot.press("t")
        await pilot.pause()
        for button in ("#start", "#stop"):
            region = app.screen.query_one(button).region
            assert region.height and region.bottom <= size[1] - 1


async def test_typing_in_a_field_then_escape_gives_the_keys_back(tiny_data, tmp_path,
                                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = WorkbenchApp(str(tiny_data))
    async with app.run_test(size=(120, 40)) as pilot:
        await fill(pilot, model="linear")
        epochs = app.screen.query_one("#epochs", Input)
        epochs.focus()
        await pilot.press("backspace", "1", "g")  # g is not a digit: the field refuses it
        assert epochs.value == "1" and not app.screen.training
        await pilot.press("escape", "g")
        await until(pilot, lambda: app.screen.training)
        await pilot.press("x")
        await finished(pilot)


async def test_the_train_form_starts_at_the_engine_s_defaults(tmp_path, monkeypatch):
    from workbench.engine.recipes import DEFAULT_FOLDS, DEFAULT_SEED, DEFAULT_VAL_SPLIT, DEFAULTS

    monkeypatch.chdir(tmp_path)
    app = WorkbenchApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        assert screen.query_one("#model", Select).value == DEFAULTS["model"]
        assert screen.query_one("#optimizer", Select).value == DEFAULTS["optimizer"]
        assert screen.query_one("#epochs", Input).value == str(DEFAULTS["epochs"])
        assert screen.query_one("#val-split", Input).value == str(DEFAULT_VAL_SPLIT)
        assert screen.query_one("#seed", Input).value == str(DEFAULT_SEED)
        assert screen.query_one("#members", Input).value == str(DEFAULT_FOLDS)
