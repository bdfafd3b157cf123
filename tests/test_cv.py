"""K-fold cross-validation: folds, out-of-fold predictions, resume, parallel folds, suspects,
combined CVs, pseudo-labels."""

import os
import subprocess
import threading

import numpy as np
import pytest

from tests import forks
from tests.helpers import StopInSecondRun
from workbench.engine.data.competition import load_competition
from workbench.engine.data.split import fold_split, stratified_folds
from workbench.engine.errors import WorkbenchError
from workbench.engine.events import EpochEnded, MemberStarted, TrainStarted
from workbench.engine.plans import cv
from workbench.engine.results.prediction import pseudo_labels
from workbench.engine.results.submission import check_submission_file
from workbench.engine.runs import run as runs
from workbench.engine.store import atomic, files
from workbench.engine.training.config import TrainConfig


def recipe(tiny_data, **kwargs) -> TrainConfig:
    return TrainConfig(**{"model": "linear", "epochs": 2, "batch_size": 64, "seed": 7,
                          "data": str(tiny_data), **kwargs})


def run_cv(tiny_data, tmp_path, folds=3, **kwargs) -> cv.CVResult:
    options = {"runs_dir": tmp_path / "runs", "submissions_dir": tmp_path / "subs", **kwargs}
    config = options.pop("config", None) or recipe(tiny_data)
    return cv.train_cv(config, folds, **options)


@pytest.mark.parametrize("folds", [2, 5, 7])
def test_folds_are_stratified_disjoint_and_cover_every_row_once(folds):
    labels = np.random.default_rng(0).integers(0, 10, 1003)
    assignment = stratified_folds(labels, folds, seed=4)
    assert sorted(set(assignment.tolist())) == list(range(folds))
    for digit in range(10):
        counts = np.bincount(assignment[labels == digit], minlength=folds)
        assert counts.max() - counts.min() <= 1  # each class spread evenly
    sizes = np.bincount(assignment, minlength=folds)
    assert sizes.max() - sizes.min() <= 1
    held = np.concatenate([fold_split(labels, folds, f, 4)[1] for f in range(folds)])
    assert sorted(held.tolist()) == list(range(len(labels)))  # every row held out exactly once
    train, val = fold_split(labels, folds, 1, 4)
    assert not set(train.tolist()) & set(val.tolist())
    np.testing.assert_array_equal(assignment, stratified_folds(labels, folds, seed=4))
    assert not np.array_equal(assignment, stratified_folds(labels, folds, seed=5))


def test_oof_predictions_come_from_models_that_never_saw_the_row(tiny_data, tmp_path):
    result = run_cv(tiny_data, tmp_path)
    assert result.status == "finished" and len(result.runs) == 3
    competition = load_competition(tiny_data)
    with np.load(cv.cv_folder(result.name, tmp_path / "runs") / "oof.npz") as saved:
        oof, labels, folds = saved["probabilities"], saved["labels"], saved["folds"]
    assert oof.shape == (competition.n_train, 10)
    np.testing.assert_array_equal(labels, competition.train_labels)
    for fold, run in enumerate(result.runs):
        config = TrainConfig.from_dict(files.read_json(run / "config.json"))
        assert (config.folds, config.fold, config.seed) == (3, fold, 7 + fold)
        train_idx, val_idx = config.held_out(competition.train_labels)
        np.testing.assert_array_equal(np.flatnonzero(folds == fold), val_idx)
        assert not set(train_idx.tolist()) & set(val_idx.tolist())
        with np.load(run / "val_predictions.npz") as val:  # the fold's last epoch, not its best
            np.testing.assert_array_equal(val["ids"], val_idx + 1)
            np.testing.assert_allclose(oof[val_idx], val["last_probabilities"])
    summary = result.summary
    assert summary.rows == competition.n_train
    assert summary.accuracy == pytest.approx(float((oof.argmax(1) == labels).mean()))
    assert summary.interval[0] <= summary.accuracy <= summary.interval[1]
    assert sum(summary.class_errors) == round(summary.rows * (1 - summary.accuracy))
    assert np.trace(np.array(summary.confusion)) == round(summary.rows * summary.accuracy)
    # The submission averages the fold models' test probabilities.
    tests = [np.load(run / "test_predictions.npz")["probabilities"] for run in result.runs]
    with np.load(cv.cv_folder(result.name, tmp_path / "runs") / "test.npz") as test:
        np.testing.assert_allclose(test["probabilities"], np.mean(tests, axis=0), rtol=1e-6)
    assert result.submission == tmp_path / "subs" / "linear-cv3-seed7.csv"
    assert check_submission_file(result.submission, competition.test_ids).ok
    manifest = files.read_json(cv.manifest_path(result.name, tmp_path / "runs"))
    assert manifest["runs"] == {str(i): run.name for i, run in enumerate(result.runs)}
    assert cv.read_summary(result.name, tmp_path / "runs") == summary
    review = cv.review_cv(result.name, tmp_path / "runs")
    assert review.accuracy == pytest.approx(summary.accuracy)


def test_a_stopped_cv_resumes_fold_by_fold(tiny_data, tmp_path):
    stopper = StopInSecondRun()
    config = recipe(tiny_data, epochs=3)
    first = run_cv(tiny_data, tmp_path, config=config, subscribers=[stopper], stop=stopper.stop)
    assert first.status == "interrupted"
    fold0, fold1 = first.runs[0], first.runs[1]
    assert runs.Run(fold0).status == "finished" and runs.Run(fold1).status == "interrupted"
    finished_at = (fold0 / "last.keras").stat().st_mtime_ns
    events = []
    second = run_cv(tiny_data, tmp_path, config=config, subscribers=[events.append])
    assert second.status == "finished"
    assert second.runs[:2] == [fold0, fold1]  # the same runs, continued
    assert (fold0 / "last.keras").stat().st_mtime_ns == finished_at  # fold 0 not retrained
    resumed = [e for e in events if isinstance(e, TrainStarted)]
    assert [(e.run_id, e.initial_epoch) for e in resumed][:1] == [(fold1.name, 1)]
    assert [e.index for e in events if isinstance(e, MemberStarted)] == [1, 2, 3]
    assert [len(runs.read_history(run)) for run in second.runs] == [3, 3, 3]


@pytest.mark.slow
def test_fold_processes_at_once_write_what_one_process_writes(tiny_data, tmp_path, cli):
    """`cv --fold i` in three processes at once, sharing the runs folder, against one `cv`."""
    flags = ["cv", "--data", tiny_data, "--model", "linear", "--epochs", "1", "--folds", "3",
             "--seed", "7", "--name", "par"]
    one = cli(*flags, "--runs-dir", tmp_path / "one")
    assert one.returncode == 0, one.stderr
    env = {**os.environ, "COLUMNS": "200"}
    workers = [forks.Popen([*map(str, flags), "--runs-dir", str(tmp_path / "many"), "--fold",
                            str(i)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True) for i in range(3)]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0], outputs
    assert sum("out-of-fold accuracy" in stdout for stdout, _ in outputs) >= 1
    summaries = [cv.read_summary("par", tmp_path / folder) for folder in ("one", "many")]
    assert summaries[0] is not None and summaries[1] is not None
    assert summaries[1].accuracy == summaries[0].accuracy
    assert summaries[1].fold_accuracies == summaries[0].fold_accuracies
    manifest = files.read_json(cv.manifest_path("par", tmp_path / "many"))
    assert sorted(manifest["runs"]) == ["0", "1", "2"]
    assert len(set(manifest["runs"].values())) == 3
    for name in ("oof.npz", "test.npz"):
        a = np.load(cv.cv_folder("par", tmp_path / "one") / name)
        b = np.load(cv.cv_folder("par", tmp_path / "many") / name)
        for key in a.files:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-6)


def test_a_fold_claimed_by_another_process_is_left_to_it(tiny_data, tmp_path):
    config = recipe(tiny_data, epochs=1)
    result = run_cv(tiny_data, tmp_path, config=config, fold=0)
    assert result.status == "waiting"  # folds 1 and 2 not trained yet
    # Fold 1's run is held by another claim (its own open lock file, as another process's
    # would be): this CV leaves it alone, and trains fold 2.
    path = cv.manifest_path(result.name, tmp_path / "runs")
    with runs.Run.create(cv.fold_config(config, 3, 1).resolved().to_dict(),
                         tmp_path / "runs") as held:
        atomic.write_json(path, {**files.read_json(path), "runs": {
            **files.read_json(path)["runs"], "1": held.id}})
        assert runs.Run(held.path).status == "running"
        again = run_cv(tiny_data, tmp_path, config=config)
        assert again.status == "waiting"
        assert again.runs[1] == held.path and not (held.path / "last.keras").exists()
        assert runs.Run(again.runs[2]).status == "finished"
    # Its holder gone, the fold is free: the same CV trains it and gathers.
    assert runs.Run(held.path).status == "interrupted"
    last = run_cv(tiny_data, tmp_path, config=config)
    assert last.status == "finished" and last.runs[1] == held.path


def test_a_fold_recorded_running_by_a_dead_process_is_resumed(tiny_data, tmp_path):
    """status.json says running with a live pid (a restarted container reuses pids), but no
    process holds the run's lock: the fold is interrupted, and the CV resumes it."""
    stop = threading.Event()
    config = recipe(tiny_data, epochs=2)

    def stop_after_one_epoch(event):
        if isinstance(event, EpochEnded):
            stop.set()

    first = run_cv(tiny_data, tmp_path, config=config, fold=0, stop=stop,
                   subscribers=[stop_after_one_epoch])
    assert first.status == "interrupted"
    fold0 = first.runs[0]
    atomic.write_json(fold0 / "status.json", {**files.read_json(fold0 / "status.json"),
                                            "status": "running", "pid": os.getpid()})
    assert runs.Run(fold0).status == "interrupted"
    again = run_cv(tiny_data, tmp_path, config=config, fold=0)
    assert again.status == "waiting" and again.runs[0] == fold0
    assert runs.Run(fold0).status == "finished" and len(runs.read_history(fold0)) == 2


def test_another_recipe_under_the_same_name_is_refused(tiny_data, tmp_path):
    run_cv(tiny_data, tmp_path, config=recipe(tiny_data, epochs=1), fold=0, name="mine")
    with pytest.raises(WorkbenchError, match="another recipe"):
        run_cv(tiny_data, tmp_path, config=recipe(tiny_data, epochs=2), fold=1, name="mine")


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", ""])
def test_a_name_that_escapes_its_folder_is_refused_before_any_work(tiny_data, tmp_path, name):
    with pytest.raises(WorkbenchError, match="cannot name a CV"):
        run_cv(tiny_data, tmp_path, name=name or ".")
    assert not (tmp_path / "runs").exists()


def test_bad_fold_numbers_are_refused(tiny_data, tmp_path):
    with pytest.raises(WorkbenchError, match="at least 2 folds"):
        run_cv(tiny_data, tmp_path, folds=1)
    with pytest.raises(WorkbenchError, match="fold 3 is not one of"):
        run_cv(tiny_data, tmp_path, folds=3, fold=3)
    with pytest.raises(WorkbenchError, match="folds must be 2 or more"):
        TrainConfig(folds=1, fold=0).resolved()


def test_refits_train_on_every_row_and_join_the_submission(tiny_data, tmp_path):
    result = run_cv(tiny_data, tmp_path, folds=2, config=recipe(tiny_data, epochs=1), refit=1)
    assert result.status == "finished" and len(result.runs) == 3
    refit = TrainConfig.from_dict(files.read_json(result.runs[2] / "config.json"))
    assert (refit.val_split, refit.folds, refit.seed) == (0.0, None, 9)
    assert not (result.runs[2] / "val_predictions.npz").exists()
    tests = [np.load(run / "test_predictions.npz")["probabilities"] for run in result.runs]
    np.testing.assert_allclose(np.load(result.submission.with_suffix(".npz"))["probabilities"],
                               np.mean(tests, axis=0), rtol=1e-6)
    assert result.summary.folds == 2  # the OOF figure is the folds' alone


def test_suspects_are_confident_disagreements_ranked_by_confidence():
    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    oof = np.full((8, 10), 0.001, np.float32)
    for row, (cls, p) in enumerate([(0, .98), (0, .99), (1, .999), (1, .97), (1, .99),
                                    (2, .4), (2, .95), (0, .999)]):
        oof[row, cls] = p
    # Each class's threshold is the mean probability its own rows give it: 0 ~0.657, 1 ~0.654,
    # 2 ~0.476. Row 3 (a "0" read as 1 at 0.999) and row 8 (a "2" read as 0 at 0.999) reach
    # theirs; row 6 (a "1" read as 2 at 0.4) does not.
    suspects = cv.propose_suspects(oof, labels)
    assert [(s.id, s.label, s.predicted) for s in suspects] == [(3, 0, 1), (8, 2, 0)]
    assert suspects[0].confidence == pytest.approx(0.999)


def test_combined_cvs_average_on_the_same_folds(tiny_data, tmp_path):
    config = recipe(tiny_data, epochs=1)
    a = run_cv(tiny_data, tmp_path, 2, config=config, name="a")
    b = run_cv(tiny_data, tmp_path, 2, config=recipe(tiny_data, epochs=1, model="mlp"), name="b")
    both = cv.combine(["a", "b"], "ab", runs_dir=tmp_path / "runs",
                      submissions_dir=tmp_path / "subs")
    folder = cv.cv_folder("ab", tmp_path / "runs")
    parts = [np.load(cv.cv_folder(n, tmp_path / "runs") / "oof.npz")["probabilities"]
             for n in "ab"]
    np.testing.assert_allclose(np.load(folder / "oof.npz")["probabilities"],
                               np.mean(parts, axis=0), rtol=1e-6)
    assert both.summary.seconds == pytest.approx(a.summary.seconds + b.summary.seconds)
    assert cv.cv_status("ab", tmp_path / "runs").combine == ["a", "b"]
    other = run_cv(tiny_data, tmp_path, 2, config=recipe(tiny_data, epochs=1, seed=8), name="c")
    assert other.status == "finished"
    with pytest.raises(WorkbenchError, match="different folds"):
        cv.combine(["a", "c"], "ac", runs_dir=tmp_path / "runs")
    with pytest.raises(WorkbenchError, match="has not been gathered"):
        cv.combine(["a", "nope"], "an", runs_dir=tmp_path / "runs")
    kept = cv.manifest_path("c", tmp_path / "runs").read_bytes()
    with pytest.raises(WorkbenchError, match="'c' already exists"):  # not overwritten
        cv.combine(["a", "b"], "c", runs_dir=tmp_path / "runs")
    assert cv.manifest_path("c", tmp_path / "runs").read_bytes() == kept


def test_pseudo_labels_add_the_confident_test_rows(tiny_data, tmp_path):
    competition = load_competition(tiny_data)
    probabilities = np.full((competition.n_test, 10), 0.01, np.float32)
    probabilities[:, 3] = 0.5
    probabilities[::4, 3] = 0.995  # every 4th test row is a confident 3
    path = tmp_path / "test.npz"
    np.savez(path, probabilities=probabilities, image_ids=competition.test_ids)
    rows, labels = pseudo_labels(path, competition.test_ids, 0.99)
    np.testing.assert_array_equal(rows, np.arange(0, competition.n_test, 4))
    assert set(labels.tolist()) == {3}
    events = []
    config = recipe(tiny_data, epochs=1, batch_size=1, pseudo_labels=str(path))
    result = run_cv(tiny_data, tmp_path, config=config, fold=0, subscribers=[events.append])
    assert result.status == "waiting"
    started = next(e for e in events if isinstance(e, TrainStarted))
    assert started.train_rows == 200 + len(rows)  # 2/3 of 300 train rows, plus the test rows
    # An epoch's steps (and so the schedule) count the test rows too: 224 steps, not 208.
    assert started.steps_per_epoch >= started.train_rows
    with pytest.raises(WorkbenchError, match="another test set"):
        pseudo_labels(path, competition.test_ids[:-1], 0.99)


def test_confirmed_suspects_leave_every_fold_s_training_rows(tiny_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "suspects.csv").write_text("id\n1\n2\n3\n")
    events = []
    run_cv(tiny_data, tmp_path, config=recipe(tiny_data, epochs=1, exclude_suspects=True),
           fold=0, subscribers=[events.append])
    competition = load_competition(tiny_data)
    train_idx, _ = fold_split(competition.train_labels, 3, 0, 7)
    started = next(e for e in events if isinstance(e, TrainStarted))
    assert started.train_rows == len(train_idx) - len({0, 1, 2} & set(train_idx.tolist()))


def test_cli_cv_refuses_bad_names_and_flags_before_any_work(tmp_path, capsys, monkeypatch):
    from workbench.cli import main

    monkeypatch.chdir(tmp_path)
    for argv, phrase in ((["cv", "--name", "../x"], "cannot name a CV"),
                         (["cv", "--folds", "1", "--model", "linear"], "at least 2 folds"),
                         (["cv", "--combine", "a", "--name", "b"], "at least two CVs"),
                         (["cv", "--combine", "a", "b"], "needs --name"),
                         (["cv", "--pseudo-labels", "nope", "--model", "linear"],
                          "no finished CV")):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert phrase in err and err.count("\n") == 1, err
    assert not (tmp_path / "runs").exists()


def test_cli_reports_a_cv_in_runs_list_and_show(tiny_data, tmp_path, capsys, monkeypatch):
    from workbench.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["cv", "--data", str(tiny_data), "--model", "linear", "--epochs", "1",
                 "--folds", "2", "--name", "tiny"]) == 0
    printed = capsys.readouterr().out
    summary = cv.read_summary("tiny", tmp_path / "runs")
    assert f"out-of-fold accuracy {100 * summary.accuracy:.3f}%" in printed
    assert "Submission: submissions/tiny.csv" in printed
    assert main(["runs", "show", "tiny"]) == 0
    shown = capsys.readouterr().out
    assert f"{100 * summary.accuracy:.3f}%" in shown
    assert shown.count("(finished)") == 2
    assert main(["runs", "list"]) == 0
    assert "tiny" in capsys.readouterr().out
