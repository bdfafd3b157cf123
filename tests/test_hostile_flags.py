"""Odd flags and values, refused once at the edge: exit 2, one sentence, no traceback, nothing
made on disk, before Keras loads; `train` and `search` share the validators. And `search`
killed with -9 and run again: no trial lost, the same result as an uninterrupted search."""

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests import forks
from tests.helpers import tiny_competition_folder
from tests.test_cli import assert_one_line_error
from workbench.cli import main
from workbench.engine.errors import WorkbenchError
from workbench.engine.training.config import TrainConfig


@pytest.fixture
def micro(tmp_path_factory) -> Path:
    """20 labelled rows of real digits (some digits once only)."""
    return tiny_competition_folder(tmp_path_factory.mktemp("micro"), n_train=20, n_test=5)


def refused(capsys, argv, *phrases, cwd: Path) -> str:
    """Run the CLI in-process; exit 2, one error line naming ``phrases``, nothing written."""
    before = sorted(cwd.rglob("*"))
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("workbench-engine: error: "), err
    assert sum("error:" in line for line in lines) == 1, err
    for phrase in phrases:
        assert phrase in lines[-1], lines[-1]
    assert sorted(cwd.rglob("*")) == before, "a refused command left files behind"
    return lines[-1]


RECIPE_CASES = [
    (["--seed", "-1"], "seed -1 is outside 0..2,147,483,647"),
    (["--seed", "4294967296"], "seed 4294967296 is outside"),
    (["--seed", "2147483648"], "seed 2147483648 is outside"),
    (["--batch-size", "0"], "batch size 0 is outside 1..65,536"),
    (["--batch-size", "-5"], "batch size -5 is outside"),
    (["--batch-size", "65537"], "batch size 65537 is outside"),
    (["--batch-size", "1000000000"], "batch size 1000000000 is outside"),
    (["--lr", "nan"], "learning rate must be a finite number (got nan)"),
    (["--lr", "inf"], "learning rate must be a finite number (got inf)"),
    (["--lr=-inf"], "learning rate must be a finite number (got -inf)"),
    (["--lr", "-1"], "learning rate -1.0 is outside (0, 10]"),
    (["--lr", "0"], "learning rate 0.0 is outside (0, 10]"),
    (["--lr", "1e300"], "learning rate 1e+300 is outside (0, 10]"),
    (["--epochs", "-1"], "epochs -1 is outside 1..10,000"),
    (["--epochs", "0"], "epochs 0 is outside 1..10,000"),
    (["--epochs", "100000000"], "epochs 100000000 is outside"),
    (["--label-smoothing", "nan"], "label smoothing must be a finite number"),
    (["--label-smoothing", "inf"], "label smoothing must be a finite number"),
    (["--early-stopping", "0"], "early-stopping patience 0 is outside 1..10,000"),
    (["--early-stopping", "-2"], "early-stopping patience -2 is outside"),
    (["--early-stopping", "1000000"], "early-stopping patience 1000000 is outside"),
]
SPLIT_CASES = [
    (["--val-split", "nan"], "validation split must be a finite number"),
    (["--val-split", "inf"], "validation split must be a finite number"),
]


@pytest.mark.parametrize("flags, phrase", RECIPE_CASES + SPLIT_CASES, ids=str)
def test_train_refuses_odd_values(capsys, tmp_path, monkeypatch, micro, flags, phrase):
    monkeypatch.chdir(tmp_path)
    refused(capsys, ["train", "--model", "linear", "--data", micro, *flags], phrase,
            cwd=tmp_path)


@pytest.mark.parametrize("flags, phrase", RECIPE_CASES + SPLIT_CASES, ids=str)
def test_ensemble_members_refuse_odd_values(capsys, tmp_path, monkeypatch, micro, flags,
                                            phrase):
    monkeypatch.chdir(tmp_path)
    refused(capsys, ["ensemble", "--members", "2", "--model", "linear", "--data", micro,
                     *flags], phrase, cwd=tmp_path)


@pytest.mark.parametrize("flags, phrase", RECIPE_CASES[::3] + [
    (["--pseudo-threshold", "nan"], "pseudo-label threshold must be a finite number"),
    (["--folds", "101"], "folds must be 2 or more and at most 100 (got 101)"),
], ids=str)
def test_cv_refuses_odd_values(capsys, tmp_path, monkeypatch, micro, flags, phrase):
    monkeypatch.chdir(tmp_path)
    refused(capsys, ["cv", "--model", "linear", "--data", micro, *flags], phrase, cwd=tmp_path)


SEARCH = ["search", "--model", "linear", "--optimizers", "adam", "--schedules", "constant"]


@pytest.mark.parametrize("flags, phrase", [
    (["--epochs", "0"], "epochs 0 is outside 1..10,000"),
    (["--epochs", "-3"], "epochs -3 is outside"),
    (["--epochs", "99999"], "epochs 99999 is outside"),
    (["--batch-size", "0"], "batch size 0 is outside"),
    (["--batch-size", "1000000000"], "batch size 1000000000 is outside"),
    (["--lrs", "-1"], "learning rate -1.0 is outside (0, 10]"),
    (["--lrs", "0.1", "nan"], "learning rate must be a finite number (got nan)"),
    (["--lrs", "inf"], "learning rate must be a finite number (got inf)"),
    (["--lrs", "0"], "learning rate 0.0 is outside"),
    (["--lrs", "50"], "learning rate 50.0 is outside"),
    (["--val-split", "0"], "a search ranks by validation accuracy, so it needs validation "
                           "rows; give a validation split above 0 (--val-split)"),
    (["--val-split", "1.0"], "validation split 1.0 is outside"),
    (["--val-split", "nan"], "validation split must be a finite number"),
    (["--val-split", "-0.5"], "validation split -0.5 is outside"),
    (["--seed", "-1"], "seed -1 is outside"),
    (["--seed", "99999999999"], "seed 99999999999 is outside"),
], ids=str)
def test_search_refuses_what_train_refuses(capsys, tmp_path, monkeypatch, micro, flags, phrase):
    monkeypatch.chdir(tmp_path)
    refused(capsys, [*SEARCH, "--lrs", "0.1", "--data", micro, *flags], phrase, cwd=tmp_path)


def test_train_and_search_give_the_same_sentence_for_a_rate(capsys, tmp_path, monkeypatch,
                                                            micro):
    monkeypatch.chdir(tmp_path)
    train = refused(capsys, ["train", "--lr", "-1", "--data", micro], cwd=tmp_path)
    search = refused(capsys, [*SEARCH, "--lrs", "-1", "--data", micro], cwd=tmp_path)
    assert train == search == ("workbench-engine: error: learning rate -1.0 is outside (0, 10];"
                               " use e.g. 0.001.")


def test_a_search_split_that_leaves_no_training_rows_makes_no_folder(capsys, tmp_path,
                                                                     monkeypatch, micro):
    monkeypatch.chdir(tmp_path)
    refused(capsys, [*SEARCH, "--lrs", "0.1", "--val-split", "0.9999", "--data", micro],
            "holds out all 20 labelled rows, leaving none to train on", cwd=tmp_path)


def test_a_refused_search_leaves_an_existing_search_folder_as_it_was(capsys, tmp_path,
                                                                      monkeypatch, micro):
    folder = tmp_path / "runs/search-linear"
    folder.mkdir(parents=True)
    (folder / "search.json").write_text('{"model": "linear"}')
    monkeypatch.chdir(tmp_path)
    refused(capsys, [*SEARCH, "--lrs", "nan", "--data", micro], "finite", cwd=tmp_path)
    assert (folder / "search.json").read_text() == '{"model": "linear"}'


def test_a_damaged_search_json_is_named(capsys, tmp_path, monkeypatch, micro):
    folder = tmp_path / "runs/search-linear"
    folder.mkdir(parents=True)
    (folder / "search.json").write_bytes(b'{"model": "lin')
    monkeypatch.chdir(tmp_path)
    refused(capsys, [*SEARCH, "--lrs", "0.1", "--epochs", "1", "--data", micro],
            "search.json is damaged", "delete it", cwd=tmp_path)


@pytest.mark.parametrize("value", ["nan", "-1", "-inf", "inf"])
@pytest.mark.parametrize(("flag", "what"), [("--timeout", "the time to wait for a score"),
                                            ("--poll", "the poll interval")])
def test_kaggle_submit_refuses_a_bad_wait_before_anything(capsys, tmp_path, monkeypatch,
                                                          flag, what, value):
    path = tmp_path / "sub.csv"
    path.write_text("ImageId,Label\n1,1\n")
    monkeypatch.chdir(tmp_path)
    refused(capsys, ["kaggle", "submit", path, "-m", "x", f"{flag}={value}"],
            f"{what} must be a finite number of seconds", flag, cwd=tmp_path)


# -- values that only the data can refuse ----------------------------------------------------


def test_a_split_that_holds_out_every_row_is_refused():
    labels = __import__("numpy").arange(20) % 10
    with pytest.raises(WorkbenchError, match="holds out all 20 labelled rows"):
        TrainConfig(val_split=0.9999).resolved().held_out(labels)
    assert len(TrainConfig(val_split=0.5).resolved().held_out(labels)[0]) == 10


def test_more_folds_than_the_rarest_digit_has_rows_are_refused():
    labels = __import__("numpy").array([*range(10)] * 3 + [1, 2])
    with pytest.raises(WorkbenchError, match="4 folds need at least 4 rows of every digit, but "
                                             "digit 0 has only 3 rows"):
        TrainConfig(folds=4, fold=0).resolved().held_out(labels)
    assert len(TrainConfig(folds=3, fold=0).resolved().held_out(labels)[1]) >= 10


@pytest.mark.parametrize("field, value, phrase", [
    ("epochs", "5", "epochs must be a whole number"),
    ("epochs", 2.5, "epochs must be a whole number"),
    ("seed", True, "seed must be a whole number"),
    ("batch_size", 64.0, "batch size must be a whole number"),
    ("learning_rate", "0.1", "learning rate must be a number"),
    ("optimizer", 3, "optimizer must be a name"),
    ("split_seed", -3, "split seed -3 is outside"),
    ("pseudo_threshold", float("nan"), "pseudo-label threshold must be a finite number"),
])
def test_a_recipe_read_from_a_file_is_checked_like_flags(field, value, phrase):
    """config.json is read back with from_dict: a hand-edited value gets the same sentence."""
    with pytest.raises(WorkbenchError, match=phrase):
        TrainConfig.from_dict({"model": "linear", field: value}).resolved()


# -- the Keras backend, checked before Keras loads --------------------------------------------


@pytest.mark.parametrize("env, phrase", [
    ({"KERAS_BACKEND": "nonsense"}, "'nonsense', which is not one that trains"),
    ({"KERAS_BACKEND": "numpy"}, "'numpy', which is not one that trains"),
    ({"KERAS_BACKEND": "Tensorflow"}, "'Tensorflow', which is not one that trains"),
])
def test_an_unknown_keras_backend_is_one_sentence(cli_process, tmp_path, micro, monkeypatch, env,
                                                  phrase):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for command in (["train", "--model", "linear", "--epochs", "1"],
                    [*SEARCH, "--lrs", "0.1", "--epochs", "1"]):
        result = cli_process(*command, "--data", micro)
        assert_one_line_error(result, phrase, "tensorflow, jax, torch", "installed here:")
    assert not (tmp_path / "runs").exists()


def test_a_backend_that_is_not_installed_is_named(cli_process, tmp_path, micro, monkeypatch):
    from workbench.engine.network.backend import BACKENDS

    missing = [name for name, package in BACKENDS.items()
               if __import__("importlib.util").util.find_spec(package) is None]
    if not missing:
        pytest.skip("every Keras backend is installed here")
    monkeypatch.setenv("KERAS_BACKEND", missing[0])
    result = cli_process("train", "--model", "linear", "--epochs", "1", "--data", micro)
    assert_one_line_error(result, f"'{missing[0]}', but", "is not installed")
    assert not (tmp_path / "runs").exists()


def test_a_keras_json_that_breaks_the_import_is_one_sentence(cli_process, tmp_path, micro,
                                                             monkeypatch):
    home = tmp_path / "kerashome"
    home.mkdir()
    (home / "keras.json").write_text('{"backend": "tensorflow", "floatx": "float8"}')
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    result = cli_process(*SEARCH, "--lrs", "0.1", "--epochs", "1", "--data", micro)
    assert_one_line_error(result, "Keras could not start", "floatx", str(home / "keras.json"))
    assert not (tmp_path / "runs").exists()


# -- search: kill -9, then the same command ---------------------------------------------------

GRID = ["--optimizers", "adam", "sgd", "--lrs", "0.1", "0.01", "--schedules", "constant",
        "--epochs", "1"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, tiny_data):
    """The grid's trials from one search that nobody killed (in-process: Keras loads once)."""
    from workbench.engine.plans.search import SearchSpace, run_search

    folder = tmp_path_factory.mktemp("clean") / "search"
    trials = run_search(folder, SearchSpace(("adam", "sgd"), (0.1, 0.01), ("constant",)),
                        model="linear", epochs=1, data=str(tiny_data))
    return folder, {(t.optimizer, t.learning_rate, t.schedule): t.best_val_accuracy
                    for t in trials}


def results(folder: Path) -> dict:
    from workbench.engine.plans.search import read_trials

    return {(t.optimizer, t.learning_rate, t.schedule): t.best_val_accuracy
            for t in read_trials(folder)}


def search_command(folder: Path, data: Path) -> list[str]:
    return ["search", "--model", "linear", *GRID, "--data", str(data), "--dir", str(folder)]


@pytest.mark.slow
def test_search_killed_after_its_first_trial_resumes_without_losing_it(tmp_path, tiny_data,
                                                                       uninterrupted):
    folder = tmp_path / "search"
    process = forks.Popen(search_command(folder, tiny_data), stderr=subprocess.PIPE,
                          stdout=subprocess.DEVNULL, text=True,
                          env={**os.environ, "COLUMNS": "200"})
    for line in process.stderr:  # kill on the event: the first trial's line
        if line.startswith("[1/4]"):
            process.send_signal(signal.SIGKILL)
            break
    assert process.wait(timeout=120) == -signal.SIGKILL
    first = results(folder)
    assert len(first) == 1
    again = forks.run_forked(search_command(folder, tiny_data), Path.cwd(),
                             {**os.environ, "COLUMNS": "200"}, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr
    assert "[1/4]" not in again.stderr and "[4/4]" in again.stderr  # the first was kept
    assert results(folder) == uninterrupted[1]
    assert again.stdout.lstrip().startswith("4 trials, best first")  # no KerasTuner chatter


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", [4, 5, 6])
def test_search_killed_at_a_write_resumes_to_the_same_trials(tmp_path, tiny_data,
                                                             uninterrupted, kill_at):
    """WORKBENCH_KILL_AT=N: SIGKILL at the Nth write point (search.json's two, the grid
    file's two, then each trial's trials.csv, before and after its bytes: 5 and 6 are the first
    trial's); then the same command, uninterrupted."""
    folder = tmp_path / "search"
    killed = forks.run_forked(search_command(folder, tiny_data), Path.cwd(),
                              {**os.environ, "WORKBENCH_KILL_AT": str(kill_at)}, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    again = forks.run_forked(search_command(folder, tiny_data), Path.cwd(), dict(os.environ),
                             timeout=300)
    assert again.returncode == 0, again.stderr
    assert results(folder) == uninterrupted[1]
    assert not list(folder.glob(".*.tmp"))


@pytest.mark.parametrize("damage", ["cut", "empty", "folder"])
def test_search_resumes_past_a_damaged_grid_file(tmp_path, tiny_data, uninterrupted, damage):
    """The grid file only shows the app the cells to come: a damaged one (cut short, empty, a
    folder in its place) neither stops the same search nor retrains a trial."""
    import shutil

    from workbench.engine.plans.search import SearchSpace, read_search, run_search

    folder = tmp_path / "search"
    shutil.copytree(uninterrupted[0], folder)
    (path,) = folder.glob("grid-*.json")
    data = path.read_bytes()
    if damage == "folder":
        path.unlink()
        path.mkdir()
    else:
        path.write_bytes(b"" if damage == "empty" else data[:len(data) // 2])
    trained = []
    trials = run_search(folder, SearchSpace(("adam", "sgd"), (0.1, 0.01), ("constant",)),
                        model="linear", epochs=1, data=str(tiny_data),
                        subscribers=[trained.append])
    assert trained == []
    assert {(t.optimizer, t.learning_rate, t.schedule): t.best_val_accuracy
            for t in trials} == uninterrupted[1]
    assert read_search(folder).space.size == 4


def test_search_with_a_damaged_row_in_trials_csv_reruns_only_that_trial(tmp_path, tiny_data,
                                                                        uninterrupted):
    import shutil

    from workbench.engine.plans.search import SearchSpace, run_search

    folder = tmp_path / "search"
    shutil.copytree(uninterrupted[0], folder)
    lines = (folder / "trials.csv").read_bytes().splitlines(keepends=True)
    (folder / "trials.csv").write_bytes(b"".join(lines[:-1]) + lines[-1][:12])  # cut mid-row
    trained = []
    run_search(folder, SearchSpace(("adam", "sgd"), (0.1, 0.01), ("constant",)),
               model="linear", epochs=1, data=str(tiny_data),
               subscribers=[trained.append])
    assert len(trained) == 1
    assert results(folder) == uninterrupted[1]


def test_the_same_search_twice_at_once_is_refused_not_interleaved(tmp_path, tiny_data,
                                                                  uninterrupted):
    """Two processes rewriting one trials.csv would drop each other's rows; the second is told
    the search is running (the lock dies with its holder, so a killed search still resumes)."""
    import fcntl
    import shutil

    from workbench.engine.plans.search import SearchSpace, run_search

    folder = tmp_path / "search"
    shutil.copytree(uninterrupted[0], folder)
    before = (folder / "trials.csv").read_bytes()
    with open(folder / ".trials.csv.lock", "w") as held:  # what a running search holds
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(WorkbenchError, match="is running in another process; let it finish"):
            run_search(folder, SearchSpace(("adam", "sgd"), (0.1, 0.01), ("constant",)),
                       model="linear", epochs=1, data=str(tiny_data))
    assert (folder / "trials.csv").read_bytes() == before
