"""`workbench-engine train / runs / predict / ensemble / search` through the real entry point."""

import json
import os
import signal
import subprocess

import pytest

from tests import forks
from tests.helpers import eventually
from tests.test_cli import assert_one_line_error

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cli-train")]  # one module fixture


@pytest.fixture(scope="module")
def trained(tiny_data, tmp_path_factory):
    """Two finished linear runs made by the CLI, in a shared working folder."""
    cwd = tmp_path_factory.mktemp("work")
    outputs = []
    for seed in ("0", "1"):
        outputs.append(forks.run_forked(
            ["train", "--model", "linear", "--epochs", "2", "--seed", seed, "--data",
             str(tiny_data)], cwd, dict(os.environ), timeout=300))
    return cwd, outputs


def test_train_prints_progress_and_writes_a_run(trained):
    cwd, outputs = trained
    result = outputs[0]
    assert result.returncode == 0, result.stderr
    assert "linear on CPU" in result.stderr
    assert "epoch   2/2" in result.stderr and "val_acc" in result.stderr
    assert "Finished runs/" in result.stdout
    runs = sorted((cwd / "runs").iterdir())
    assert len(runs) == 2 and (runs[0] / "submission.csv").is_file()


def test_runs_list_show_compare(trained, cli):
    cwd, _ = trained
    listing = cli("runs", "list", cwd=cwd)
    assert listing.returncode == 0
    assert listing.stdout.count("│ linear ") == 2 and "2/2" in listing.stdout
    assert "finished" in listing.stdout
    show = cli("runs", "show", "last", cwd=cwd)
    assert show.returncode == 0 and "seed=1" in show.stdout and "best.keras" in show.stdout
    ids = [p.name for p in sorted((cwd / "runs").iterdir())]
    compare = cli("runs", "compare", *ids, cwd=cwd)
    assert compare.returncode == 0 and "epoch 2 val acc" in compare.stdout


def test_predict_and_ensemble_write_submissions(trained, cli, tiny_data):
    cwd, _ = trained
    ids = [p.name for p in sorted((cwd / "runs").iterdir())]
    predict = cli("predict", ids[0], cwd=cwd)
    assert predict.returncode == 0, predict.stderr
    assert "Validation accuracy" in predict.stdout
    submission = cwd / "submissions" / f"{ids[0]}.csv"
    assert submission.is_file()
    assert cli("submission", "check", submission, "--data", tiny_data).returncode == 0
    ensemble = cli("ensemble", *ids, "--name", "both", cwd=cwd)
    assert ensemble.returncode == 0, ensemble.stderr
    assert (cwd / "submissions/both.csv").is_file()
    assert "with their last epochs" in ensemble.stdout
    assert_one_line_error(cli("ensemble", *ids, "--name", "both", cwd=cwd), "already exists")


@pytest.mark.parametrize("args, phrase", [
    (["train", "--model", "vgg"], "invalid choice: 'vgg'"),
    (["train", "--preset", "Nope"], "unknown preset 'Nope'; choose one of"),
    (["train", "--val-split", "1.5"], "validation split 1.5 is outside"),
    (["train", "--resume", "nope"], "no run 'nope'"),
    (["predict", "nope"], "no run 'nope'"),
    (["search", "--optimizers", "adamw"], "unknown optimizer 'adamw'"),
    (["ensemble"], "give the runs to average"),
    (["ensemble", "some-run", "--members", "2"], "not both"),
    (["ensemble", "--members", "2", "--preset", "Nope"], "unknown preset 'Nope'"),
    (["train", "--label-smoothing", "1"], "label smoothing 1.0 is outside"),
])
def test_bad_training_flags(cli, args, phrase):
    assert_one_line_error(cli(*args), phrase)


def test_ensemble_trains_members_and_writes_one_submission(tiny_data, cli, tmp_path):
    args = ["ensemble", "--members", "2", "--model", "linear", "--epochs", "1", "--data",
            tiny_data]
    result = cli(*args)
    assert result.returncode == 0, result.stderr
    assert "Member 1 of 2: a new run" in result.stderr and "Member 2 of 2" in result.stderr
    assert result.stdout.count("best val acc") == 2
    assert "Validation accuracy" in result.stdout and "with their last epochs" in result.stdout
    submission = tmp_path / "submissions" / "linear-x2-seed0.csv"
    assert submission.is_file()
    assert cli("submission", "check", submission, "--data", tiny_data).returncode == 0
    again = cli(*args)  # all members done: nothing trains again
    assert again.returncode == 0 and "a new run" not in again.stderr
    # Two runs started in one second are named STAMP-linear and STAMP-linear-2.
    assert len(list((tmp_path / "runs").glob("*/config.json"))) == 2


def test_an_ensemble_with_no_held_out_rows_is_a_refit_on_every_row(tiny_data, cli, tmp_path):
    result = cli("ensemble", "--members", "2", "--model", "linear", "--epochs", "1",
                 "--val-split", "0", "--data", tiny_data)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("trained on every row") == 2
    assert "Validation accuracy" not in result.stdout
    assert (tmp_path / "submissions" / "linear-x2-seed0-all.csv").is_file()


def test_sigint_keeps_a_checkpoint_and_resume_continues(tiny_data, tmp_path, cli):
    process = forks.Popen(
        ["train", "--model", "mlp", "--epochs", "400", "--batch-size", "16", "--data",
         str(tiny_data)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    def an_epoch_done() -> bool:
        found = list(tmp_path.glob("runs/*/state.json"))
        return bool(found) and json.loads(found[0].read_text() or "{}").get("epoch", 0) >= 1

    assert eventually(an_epoch_done, 120, step=0.1), "training never finished an epoch"
    (state,) = tmp_path.glob("runs/*/state.json")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Interrupted after" in stderr and "Traceback" not in stderr
    run = state.parent
    assert json.loads((run / "status.json").read_text())["status"] == "interrupted"
    done = json.loads(state.read_text())["epoch"]
    assert done < 400
    from workbench.engine.network.inference import load_checkpoint

    assert load_checkpoint(run / "last.keras").name == "mlp"  # whole: the stop waited for it
    resumed = cli("train", "--resume", run.name, "--epochs", str(done + 1), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming after epoch {done}" in resumed.stderr
    history = (run / "history.csv").read_text().splitlines()
    assert len(history) == done + 2  # header + every epoch once


def test_search_ranks_and_resumes(tiny_data, cli, tmp_path):
    args = ["search", "--model", "linear", "--optimizers", "adam", "sgd", "--lrs", "0.01",
            "--schedules", "constant", "--epochs", "1", "--data", tiny_data]
    first = cli(*args)
    assert first.returncode == 0, first.stderr
    assert "[2/2]" in first.stderr and "2 trials, best first" in first.stdout
    trials = (tmp_path / "runs/search-linear/trials.csv").read_text().splitlines()
    assert trials[0].startswith("trial,optimizer,learning_rate,schedule,best_val_accuracy")
    assert len(trials) == 3
    again = cli(*args, "--json")
    assert again.returncode == 0 and "[1/2]" not in again.stderr
    assert (tmp_path / "runs/search-linear/trials.csv").read_text().splitlines() == trials
    ranked = json.loads(again.stdout)["trials"]
    assert [trial["optimizer"] for trial in ranked] in (["adam", "sgd"], ["sgd", "adam"])
    assert ranked[0]["best_val_accuracy"] >= ranked[1]["best_val_accuracy"]
