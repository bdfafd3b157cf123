"""Ensembles trained from one recipe: members, one held-out split, resume, the submission."""


import numpy as np
import pytest

from tests.helpers import StopInSecondRun
from workbench.engine.data.competition import load_competition
from workbench.engine.errors import WorkbenchError
from workbench.engine.events import MemberStarted, TrainStarted
from workbench.engine.network.inference import load_checkpoint, predict_probabilities
from workbench.engine.plans import ensemble
from workbench.engine.results.prediction import last_epoch_accuracy
from workbench.engine.results.submission import check_submission_file
from workbench.engine.runs import run as runs
from workbench.engine.store import atomic, files
from workbench.engine.training.config import TrainConfig


def recipe(tiny_data, **kwargs) -> TrainConfig:
    return TrainConfig(**{"model": "linear", "epochs": 2, "batch_size": 32, "seed": 3,
                          "data": str(tiny_data), **kwargs})


def test_members_share_the_held_out_rows_and_differ_in_seed(tiny_data, tmp_path):
    events = []
    result = ensemble.train_ensemble(recipe(tiny_data), 3, runs_dir=tmp_path / "runs",
                                     submissions_dir=tmp_path / "subs",
                                     subscribers=[events.append])
    assert result.status == "finished" and len(result.members) == 3
    configs = [files.read_json(run / "config.json") for run in result.members]
    assert [c["seed"] for c in configs] == [3, 4, 5]
    assert {c["split_seed"] for c in configs} == {3}
    val_ids = [np.load(run / "val_predictions.npz")["ids"] for run in result.members]
    for ids in val_ids[1:]:
        np.testing.assert_array_equal(ids, val_ids[0])
    # The ensemble is measured on every held-out row, and is the members' average.
    np.testing.assert_array_equal(result.prediction.val_ids, val_ids[0])
    members = [np.load(run / "test_predictions.npz")["probabilities"] for run in result.members]
    np.testing.assert_allclose(result.prediction.test_probabilities, np.mean(members, axis=0),
                               rtol=1e-5)
    assert result.member_accuracies == [files.read_json(run / "state.json")["best_val_accuracy"]
                                        for run in result.members]
    assert result.submission == tmp_path / "subs" / "linear-x3-seed3.csv"
    assert check_submission_file(result.submission, load_competition(tiny_data).test_ids).ok
    assert [e.index for e in events if isinstance(e, MemberStarted)] == [1, 2, 3]
    manifest = files.read_json(tmp_path / "runs" / "ensembles" / "linear-x3-seed3.json")
    assert manifest["members"] == [run.name for run in result.members]


def test_an_interrupted_ensemble_continues_where_it_stopped(tiny_data, tmp_path):
    stopper = StopInSecondRun()
    runs_dir = tmp_path / "runs"
    first = ensemble.train_ensemble(recipe(tiny_data), 3, runs_dir=runs_dir, stop=stopper.stop,
                                    submissions_dir=tmp_path / "subs", subscribers=[stopper])
    assert first.status == "interrupted" and first.submission is None
    assert runs.Run(first.members[1]).status == "interrupted"
    epoch_of_first = files.read_json(first.members[0] / "state.json")["epoch"]

    events = []
    second = ensemble.train_ensemble(recipe(tiny_data), 3, runs_dir=runs_dir,
                                     submissions_dir=tmp_path / "subs",
                                     subscribers=[events.append])
    assert second.status == "finished"
    assert second.members[:2] == first.members[:2]  # finished one kept, interrupted one resumed
    assert len([p for p in runs_dir.iterdir() if (p / "config.json").is_file()]) == 3
    assert files.read_json(first.members[0] / "state.json")["epoch"] == epoch_of_first
    resumed = [e for e in events if isinstance(e, TrainStarted)]
    assert [(e.run_id, e.initial_epoch) for e in resumed][0] == (first.members[1].name, 1)


def test_another_recipe_under_the_same_name_is_refused(tiny_data, tmp_path):
    kwargs = {"runs_dir": tmp_path / "runs", "submissions_dir": tmp_path / "subs",
              "name": "mine"}
    ensemble.train_ensemble(recipe(tiny_data, epochs=1), 2, **kwargs)
    with pytest.raises(WorkbenchError, match="already exists with another recipe"):
        ensemble.train_ensemble(recipe(tiny_data, epochs=2), 2, **kwargs)


def test_an_ensemble_needs_two_members(tiny_data, tmp_path):
    with pytest.raises(WorkbenchError, match="at least 2 members"):
        ensemble.train_ensemble(recipe(tiny_data), 1, runs_dir=tmp_path)


def test_with_no_held_out_rows_every_member_trains_on_every_row(tiny_data, tmp_path):
    events = []
    result = ensemble.train_ensemble(recipe(tiny_data, epochs=1, val_split=0.0), 2,
                                     runs_dir=tmp_path / "runs", submissions_dir=tmp_path,
                                     subscribers=[events.append])
    started = [e for e in events if isinstance(e, TrainStarted)]
    competition = load_competition(tiny_data)
    rows = competition.n_train
    assert [(e.train_rows, e.val_rows) for e in started] == [(rows, 0), (rows, 0)]
    assert len(result.prediction.val_ids) == 0 and result.prediction.val_accuracy is None
    assert result.submission == tmp_path / "linear-x2-seed3-all.csv"
    assert check_submission_file(result.submission, competition.test_ids).ok


def test_with_tta_the_ensemble_averages_the_members_tta_predictions(tiny_data, tmp_path):
    result = ensemble.train_ensemble(recipe(tiny_data, epochs=1), 2, tta=True,
                                     runs_dir=tmp_path / "runs", submissions_dir=tmp_path)
    saved = [np.load(run / "tta_predictions.npz") for run in result.members]
    np.testing.assert_allclose(result.prediction.val_probabilities,
                               np.mean([s["val_probabilities"] for s in saved], axis=0),
                               rtol=1e-5)
    plain = np.mean([np.load(run / "val_predictions.npz")["probabilities"]
                     for run in result.members], axis=0)
    assert not np.allclose(result.prediction.val_probabilities, plain)


def test_the_last_epochs_accuracy_averages_the_members_last_checkpoints(tiny_data, tmp_path):
    result = ensemble.train_ensemble(recipe(tiny_data, epochs=3), 2, runs_dir=tmp_path / "runs",
                                     submissions_dir=tmp_path)
    competition = load_competition(tiny_data)
    ids = result.prediction.val_ids
    images, labels = competition.train_images[ids - 1], competition.train_labels[ids - 1]
    last = [predict_probabilities(load_checkpoint(run / "last.keras"), images)
            for run in result.members]
    for run, expected in zip(result.members, last):
        with np.load(run / "val_predictions.npz") as val:
            np.testing.assert_allclose(val["last_probabilities"], expected, rtol=1e-5)
    average = np.mean(last, axis=0)
    assert result.last_epoch_accuracy == pytest.approx((average.argmax(1) == labels).mean())
    # A member saved before last epochs were kept: no figure rather than a partial one.
    with np.load(result.members[0] / "val_predictions.npz") as val:
        np.savez(result.members[0] / "val_predictions.npz",
                 **{k: val[k] for k in ("probabilities", "labels", "ids")})
    assert last_epoch_accuracy(result.members) is None


def test_the_last_epochs_accuracy_of_runs_on_different_splits_uses_the_rows_all_held_out(
        tiny_data, tmp_path):
    from workbench.engine.training.fit import train

    members = [train(recipe(tiny_data, seed=seed, val_split=0.5), runs_dir=tmp_path).run
               for seed in (0, 1)]
    saved = [np.load(run / "val_predictions.npz") for run in members]
    common = np.intersect1d(saved[0]["ids"], saved[1]["ids"])
    assert 0 < len(common) < len(saved[0]["ids"])
    average = np.mean([s["last_probabilities"][np.isin(s["ids"], common)] for s in saved], axis=0)
    labels = saved[0]["labels"][np.isin(saved[0]["ids"], common)]
    assert last_epoch_accuracy(members) == pytest.approx((average.argmax(1) == labels).mean())


def test_a_member_another_process_trains_is_left_to_it(tiny_data, tmp_path, monkeypatch):
    """As a CV's folds: the other members train, and the ensemble waits for that one (no
    submission until every member has finished)."""
    monkeypatch.setattr(runs, "CLAIM_PATIENCE_S", 0.1, raising=False)
    config = recipe(tiny_data, epochs=1).resolved()
    with runs.Run.create(ensemble.member_config(config, 0).to_dict(), tmp_path / "runs") as held:
        atomic.write_json(tmp_path / "runs" / "ensembles" / "mine.json",
                        {"recipe": config.to_dict(), "members": [held.id]})
        result = ensemble.train_ensemble(config, 2, name="mine", runs_dir=tmp_path / "runs",
                                         submissions_dir=tmp_path / "subs")
        assert result.status == "waiting" and result.submission is None
        assert not (held.path / "last.keras").exists()
        assert runs.Run(result.members[1]).status == "finished"
        assert not (tmp_path / "subs").exists()
