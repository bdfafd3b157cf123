"""Damaged run folders, the run lock, names that escape their folder, and the messages of
resume (issue 18).

A damaged run is listed as damaged with what is wrong and how to delete it, and no command for
a healthy run notices it; a command aimed at it says what is wrong in one sentence (exit 2) and
changes nothing on disk. "Running" means a process holds the run's lock, never a guess from a
pid. Most tests run the CLI in-process on runs written directly (no training, no Keras).
"""

import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.helpers import synthetic_run
from workbench.cli import main
from workbench.engine.data.competition import load_competition
from workbench.engine.errors import WorkbenchError
from workbench.engine.runs import listing, run as runs
from workbench.engine.runs.listing import list_runs
from workbench.engine.runs.run import Run
from workbench.engine.store import files
from workbench.engine.training.resume import plan_resume

A, B, D = "20260101-120000-simple-cnn", "20260101-130000-simple-cnn", "20260102-120000-simple-cnn"


@pytest.fixture(autouse=True)
def quick_claims(monkeypatch):
    """A claim on a held run gives up after 0.1 s, not 2 (the wait only rides out probes)."""
    monkeypatch.setattr(runs, "CLAIM_PATIENCE_S", 0.1, raising=False)


def healthy(runs_dir: Path, competition, run_id: str) -> Path:
    """A finished run folder with the predictions `predict` and `ensemble` read (no Keras), and
    checkpoints that are whole zip files."""
    run = synthetic_run(runs_dir, competition, run_id)
    probabilities = np.random.default_rng(0).dirichlet(np.ones(10), competition.n_test)
    np.savez(run / "test_predictions.npz", probabilities=probabilities.astype(np.float32),
             image_ids=competition.test_ids)
    for name in ("best.keras", "last.keras"):
        with zipfile.ZipFile(run / name, "w") as archive:
            archive.writestr("config.json", "{}")
    return run


@pytest.fixture
def folder(kaggle, tmp_path, monkeypatch):
    """tmp_path as the working folder, with runs/A and runs/B healthy and runs/D about to be
    damaged (D sorts last, so 'last' would be it)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "300")
    competition = load_competition(kaggle.folder())
    for run_id in (A, B, D):
        healthy(tmp_path / "runs", competition, run_id)
    return tmp_path


def write(path: Path, content) -> None:
    path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())


def history_lines(run: Path) -> list[bytes]:
    return (run / "history.csv").read_bytes().splitlines()


def set_history(run: Path, lines: list[bytes]) -> None:
    (run / "history.csv").write_bytes(b"\n".join(lines) + b"\n")


def replace_folder(run: Path, make) -> None:
    import shutil

    shutil.rmtree(run)
    make(run)


def fifo(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


def as_folder(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.mkdir()


def npy_bytes() -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))
    return buffer.getvalue()


def truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


# (damage done to runs/D, a phrase of the reason `runs list` and the commands give)
DAMAGE = {
    "config null": (lambda r: write(r / "config.json", None), "config.json holds null"),
    "config list": (lambda r: write(r / "config.json", [1, 2]), "config.json holds list"),
    "config string": (lambda r: write(r / "config.json", "cnn"), "config.json holds str"),
    "config number": (lambda r: write(r / "config.json", 42), "config.json holds int"),
    "config truncated": (lambda r: write(r / "config.json", b'{"model": "simple-c'),
                         "config.json is not valid JSON"),
    "config not UTF-8": (lambda r: write(r / "config.json", b'{"model": "\xff\xfe"}'),
                         "config.json is not UTF-8"),
    "config empty": (lambda r: write(r / "config.json", b""), "config.json is empty"),
    "config missing": (lambda r: (r / "config.json").unlink(), "config.json is missing"),
    "config model a number": (lambda r: write(r / "config.json", {"model": 3, "epochs": 3}),
                              "no model name or number of epochs"),
    "config epochs negative": (lambda r: write(r / "config.json", {"model": "x", "epochs": -1}),
                               "no model name or number of epochs"),
    "config epochs a bool": (lambda r: write(r / "config.json", {"model": "x", "epochs": True}),
                             "no model name or number of epochs"),
    "config folds a string": (lambda r: write(r / "config.json", {
        "model": "x", "epochs": 3, "folds": "five"}), "folds is not a number"),
    "config a folder": (lambda r: as_folder(r / "config.json"),
                        "config.json is not a regular file"),
    "config a FIFO": (lambda r: fifo(r / "config.json"), "config.json is not a regular file"),
    "config -> /dev/zero": (lambda r: ((r / "config.json").unlink(),
                                       (r / "config.json").symlink_to("/dev/zero")),
                            "config.json is not a regular file"),
    "status null": (lambda r: write(r / "status.json", None), "status.json holds null"),
    "status list": (lambda r: write(r / "status.json", []), "status.json holds list"),
    "status truncated": (lambda r: write(r / "status.json", b'{"status": "fini'),
                         "status.json is not valid JSON"),
    "status not UTF-8": (lambda r: write(r / "status.json", b"\x80\x81"),
                         "status.json is not UTF-8"),
    "status unknown": (lambda r: write(r / "status.json", {"status": "exploded"}),
                       "status is not one a run has"),
    "status seconds a string": (lambda r: write(r / "status.json", {
        "status": "finished", "seconds": "long"}), "times are not numbers"),
    "state null": (lambda r: write(r / "state.json", None), "state.json holds null"),
    "state string": (lambda r: write(r / "state.json", "3"), "state.json holds str"),
    "state truncated": (lambda r: write(r / "state.json", b'{"epoch": 3, "best_'),
                        "state.json is not valid JSON"),
    "state epoch negative": (lambda r: write(r / "state.json", {"epoch": -1}),
                             "epoch is not a count"),
    "state epoch a string": (lambda r: write(r / "state.json", {"epoch": "3"}),
                             "epoch is not a count"),
    "state accuracy a string": (lambda r: write(r / "state.json", {
        "epoch": 3, "best_val_accuracy": "high"}), "best_val_accuracy is not a number"),
    "state ahead of history": (lambda r: write(r / "state.json", {"epoch": 9}),
                               "history.csv has 3 epochs where state.json says 9"),
    "history not UTF-8": (lambda r: set_history(r, [*history_lines(r)[:2],
                                                    history_lines(r)[2] + b"\xff"]),
                          "history.csv is not UTF-8"),
    "history extra cell": (lambda r: set_history(r, [*history_lines(r)[:3],
                                                     history_lines(r)[3] + b",9"]),
                           "history.csv row 3 has 8 cells, not 7"),
    "history row cut": (lambda r: write(r / "history.csv",
                                        (r / "history.csv").read_bytes()[:-25]),
                        "history.csv row 3 has"),
    "history not a number": (lambda r: set_history(r, [*history_lines(r)[:2], b"2,x,0.8,"
                                                       b"0.6,0.8,0.001,2.0"]),
                             "'x' for loss, not a number"),
    "history empty": (lambda r: write(r / "history.csv", b""), "history.csv is empty"),
    "history NUL": (lambda r: set_history(r, [*history_lines(r)[:2], b"2,0.5\x00,0.8,0.6,0.8,"
                                              b"0.001,2.0"]), "history.csv"),
    "history header": (lambda r: set_history(r, [b"when,what", *history_lines(r)[1:]]),
                       "history.csv's header"),
    "history epochs out of order": (lambda r: set_history(r, [history_lines(r)[0],
                                                              *history_lines(r)[:0:-1]]),
                                    "history.csv row 1 is for epoch 3"),
    "history a folder": (lambda r: as_folder(r / "history.csv"),
                         "history.csv is not a regular file"),
    "val npz truncated": (lambda r: truncated(r / "val_predictions.npz"),
                          "val_predictions.npz is cut short"),
    "test npz garbage": (lambda r: write(r / "test_predictions.npz", b"PK\x03\x04garbage"),
                         "test_predictions.npz is cut short"),
    "test npz a .npy": (lambda r: (r / "test_predictions.npz").write_bytes(npy_bytes()),
                        "test_predictions.npz is cut short"),
    "best.keras truncated": (lambda r: truncated(r / "best.keras"), "best.keras is cut short"),
    "last.keras garbage": (lambda r: write(r / "last.keras", b"garbage"),
                           "last.keras is cut short"),
    "a file": (lambda r: replace_folder(r, lambda p: p.write_text("x")),
               "it is a file, not a folder"),
    "a link loop": (lambda r: replace_folder(r, lambda p: p.symlink_to(p.name)),
                    "it is a link to itself"),
    "a link to nothing": (lambda r: replace_folder(r, lambda p: p.symlink_to("nowhere")),
                          "it is a link to nothing"),
    "an empty folder": (lambda r: replace_folder(r, lambda p: p.mkdir()),
                        "config.json is missing"),
}


def snapshot(path: Path) -> dict:
    """Every regular file under ``path`` (not following links) with its bytes."""
    if path.is_symlink() or not path.is_dir():
        return {".": os.readlink(path) if path.is_symlink() else path.read_bytes()}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file() and not p.is_symlink() and not p.is_fifo()}


def damage_d(folder: Path, case) -> tuple[Path, str, dict]:
    """Run D damaged as ``case`` (its damage, its reason) says: its folder, the reason, and its
    files as they are now (what no command may change)."""
    damage, reason = case
    damaged = folder / "runs" / D
    damage(damaged)
    return damaged, reason, snapshot(damaged)


def one_line_error(capsys, *phrases) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("workbench-engine: error: "), captured.err
    assert "Traceback" not in captured.err
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("case", DAMAGE)
def test_a_damaged_run_is_listed_as_damaged_and_stops_no_other_run(folder, case, capsys):
    damaged, reason, before = damage_d(folder, DAMAGE[case])

    assert main(["runs", "list"]) == 0
    listed = capsys.readouterr().out
    assert listed.count("finished") == 2 and listed.count("damaged") == 2, listed
    assert f"{D} is damaged: " in listed and reason in listed
    assert f"workbench-engine runs delete {D}" in listed
    assert [r.status for r in list_runs(folder / "runs")] == ["finished", "finished", "damaged"]

    # Every command works for the healthy runs, and 'last' is the newest healthy one.
    assert main(["runs", "show", A]) == 0
    assert main(["runs", "compare", A, B]) == 0
    assert main(["predict", "last", "--name", "b"]) == 0
    assert main(["ensemble", A, B, "--name", "ab"]) == 0
    capsys.readouterr()
    assert (folder / "submissions" / "b.csv").is_file()
    assert (folder / "submissions" / "ab.csv").is_file()
    assert listing.find_run("last").path == Path("runs") / B

    # Commands aimed at the damaged run say what is wrong, in one sentence, and change nothing.
    for argv in (["runs", "show", D], ["runs", "compare", A, D], ["predict", D],
                 ["ensemble", A, D], ["train", "--resume", D], ["train", "--resume", D,
                                                                "--epochs", "9"]):
        assert main(argv) == 2, argv
        one_line_error(capsys, f"run {D} is damaged", reason, "runs delete")
    assert snapshot(damaged) == before
    assert not (folder / "submissions" / f"{D}.csv").exists()

    assert main(["runs", "delete", D]) == 0
    assert not os.path.lexists(damaged)
    assert [r.id for r in list_runs(folder / "runs")] == [A, B]


# Damage that only shows when a file is read whole: `runs list` cannot see it cheaply.
def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF
    path.write_bytes(bytes(data))


LATE_DAMAGE = {
    "a flipped byte in test_predictions.npz": (
        lambda r: flip_a_byte(r / "test_predictions.npz"), "test_predictions.npz cannot be read"),
    "test_predictions.npz without ids": (
        lambda r: np.savez(r / "test_predictions.npz", probabilities=np.ones((12, 10))),
        "test_predictions.npz has no 'image_ids' array"),
    "test_predictions.npz of the wrong shape": (
        lambda r: np.savez(r / "test_predictions.npz", probabilities=np.ones((12, 3)),
                           image_ids=np.arange(1, 13)), "do not fit together"),
    "val_predictions.npz with a label 12": (
        lambda r: np.savez(r / "val_predictions.npz", probabilities=np.ones((3, 10)),
                           labels=np.array([1, 12, 3]), ids=np.array([1, 2, 3])),
        "do not fit together"),
    "val_predictions.npz holding objects": (
        lambda r: np.savez(r / "val_predictions.npz", probabilities=np.array([None, 1]),
                           labels=np.zeros(2), ids=np.zeros(2)),
        "val_predictions.npz cannot be read"),
}


@pytest.mark.parametrize("case", LATE_DAMAGE)
def test_damage_found_when_predictions_are_read_is_one_sentence(folder, case, capsys):
    damaged, reason, before = damage_d(folder, LATE_DAMAGE[case])
    for argv in (["predict", D], ["ensemble", A, D]):
        assert main(argv) == 2, argv
        one_line_error(capsys, f"run {D} is damaged", reason)
    assert main(["ensemble", A, B, "--name", "ab"]) == 0
    assert snapshot(damaged) == before


def test_a_damaged_cv_manifest_is_listed_and_refused_but_not_rewritten(folder, capsys):
    manifest = folder / "runs" / "cv" / "broken.json"
    manifest.parent.mkdir()
    for content in (b"null", b'{"recipe": {}, "runs": {"0": "../../etc"}}', b'{"recipe": '):
        manifest.write_bytes(content)
        assert main(["runs", "list"]) == 0
        listed = capsys.readouterr().out
        assert "broken" in listed and "is damaged" in listed and listed.count("finished") == 3
        assert main(["runs", "show", "broken"]) == 2
        one_line_error(capsys, "broken.json is damaged", "delete it")
        assert main(["cv", "--model", "linear", "--folds", "2", "--name", "broken",
                     "--data", "nowhere"]) == 2
        capsys.readouterr()
        assert manifest.read_bytes() == content


def test_a_damaged_ensemble_manifest_is_refused_before_any_member_trains(folder, tiny_data,
                                                                         capsys):
    from workbench.engine.plans.ensemble import train_ensemble
    from workbench.engine.training.config import TrainConfig

    manifest = folder / "runs" / "ensembles" / "mine.json"
    manifest.parent.mkdir()
    manifest.write_bytes(b'{"recipe": {}, "members": ["/etc"]}')
    with pytest.raises(WorkbenchError, match="mine.json is damaged"):
        train_ensemble(TrainConfig(model="linear", data=str(tiny_data)), 2, name="mine",
                       runs_dir=folder / "runs")
    assert manifest.read_bytes() == b'{"recipe": {}, "members": ["/etc"]}'
    assert len(listing.run_folders(folder / "runs")) == 3


HOSTILE_NAMES = ["../../x", "../x", "/tmp/x", "a/b", "a\\b", ".", "..", ".hidden", "", "a" * 201,
                 "a\x00b", "a\nb", "a b", "-x", "ä", "x" * 150 + "/" + "y"]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=lambda n: repr(n)[:20])
def test_a_name_that_escapes_its_folder_is_refused_before_any_work(folder, tiny_data, name,
                                                                    capsys):
    before = sorted(folder.parent.rglob("*"))
    for argv, what in ((["ensemble", "--members", "2", "--model", "linear", "--epochs", "1",
                         "--data", str(tiny_data)], "cannot name an ensemble"),
                       (["ensemble", A, B], "cannot name an ensemble"),
                       (["predict", A], "cannot name a submission"),
                       (["cv", "--model", "linear", "--epochs", "1", "--folds", "2",
                         "--data", str(tiny_data)], "cannot name a CV")):
        assert main([*argv, f"--name={name}"]) == 2, argv
        message = one_line_error(capsys, what)
        assert "\n" not in message and "\x00" not in message and len(message) < 300
    assert sorted(folder.parent.rglob("*")) == before  # nothing made, inside or out


def test_the_engine_refuses_a_bad_ensemble_name_before_anything(tmp_path):
    from workbench.engine.plans.ensemble import train_ensemble
    from workbench.engine.training.config import TrainConfig

    with pytest.raises(WorkbenchError, match="cannot name an ensemble"):
        train_ensemble(TrainConfig(model="linear"), 2, name="../../x", runs_dir=tmp_path / "r")
    assert not (tmp_path / "r").exists()


# -- the lock ------------------------------------------------------------------------------------

def test_a_run_reads_each_of_its_files_once(folder, monkeypatch):
    """Issue 33: a run is one object that reads each file once (its properties re-read them at
    every access, and listing a run read config.json three times); its holder's writes are what
    it reads next."""
    from workbench.engine.store import files as store_files

    reads: list[str] = []
    real = store_files.read_small

    def counted(path: Path, *args, **options):
        reads.append(Path(path).name)
        return real(path, *args, **options)

    monkeypatch.setattr(store_files, "read_small", counted)
    listed = list_runs(Path("runs"))
    assert [summary.status for summary in listed] == ["finished"] * 3
    for name in ("config.json", "status.json", "state.json", "history.csv"):
        assert reads.count(name) == 3, name  # once for each of the three runs
    reads.clear()
    run = listing.find_run(A)
    listing.summarize(run)
    assert (run.config["model"], len(run.history), run.message, run.recorded_status) == (
        "simple-cnn", run.epochs_done, "", "finished")
    assert sorted(reads) == ["config.json", "history.csv", "state.json", "status.json"]
    with runs.Run.claim(Path("runs") / B) as held:
        held.write_state({**held.state, "epoch": 1})
        held.set_status("interrupted", "stopped")
        assert (held.epochs_done, held.recorded_status, held.message) == (1, "interrupted",
                                                                          "stopped")
    assert Run(Path("runs") / B).epochs_done == 1


def test_running_is_read_from_the_lock_not_from_a_recorded_pid(folder):
    run = folder / "runs" / D
    # A recorded "running" with a live pid (1, init: a restarted container reuses pids) but no
    # process holding the run's lock: the run was interrupted, and can be resumed.
    write(run / "status.json", {"status": "running", "pid": 1})
    assert Run(run).status == "interrupted"
    with runs.Run.claim(run):
        assert Run(run).status == "running" and Run(run).running
        with pytest.raises(runs.RunBusy, match="being trained by another process"):
            runs.Run.claim(run)  # another open file description: as another process would be
        with pytest.raises(WorkbenchError, match="still training"):
            listing.delete_run(run)
    assert Run(run).status == "interrupted"
    assert plan_resume(Run(run), 5)[0].epochs == 5


def test_a_lock_dies_with_the_process_that_holds_it(folder, capsys):
    run = folder / "runs" / D
    write(run / "status.json", {"status": "running", "pid": os.getpid()})
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys; f = open(sys.argv[1], 'a'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()",
         str(run / ".lock")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        assert Run(run).status == "running"
        assert main(["train", "--resume", D, "--epochs", "9"]) == 2
        one_line_error(capsys, f"run {D} is being trained by another process")
        assert main(["runs", "delete", D]) == 2
        one_line_error(capsys, "still training")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert Run(run).status == "interrupted"  # no stale lock: nothing to clean up


def test_runs_delete_removes_only_runs_of_its_folder(folder, tmp_path, capsys):
    outside = tmp_path / "elsewhere" / "20260101-000000-x"
    outside.mkdir(parents=True)
    (outside / "config.json").write_text('{"model": "x", "epochs": 1}')
    assert main(["runs", "delete", str(outside)]) == 2
    one_line_error(capsys, "only runs there are deleted")
    assert outside.is_dir()
    assert main(["runs", "delete", "nosuch"]) == 2
    one_line_error(capsys, "no run 'nosuch'")
    assert main(["runs", "delete", A]) == 0 and not (folder / "runs" / A).exists()


def test_nonsense_around_runs_is_refused_in_one_sentence(folder, capsys):
    (folder / "afile").write_text("x")
    for argv, phrase in ((["runs", "list", "--runs-dir", "afile"], "is a file, not a folder"),
                         (["ensemble", A, A], f"run {A} is given more than once"),
                         (["ensemble", A, f"runs/{A}"], "is given more than once"),
                         (["ensemble", A, B, "--model", "linear"], "--model is a flag of the "
                                                                   "members' recipe"),
                         (["ensemble", "--members", "1", "--model", "linear"], "at least 2")):
        assert main(argv) == 2, argv
        one_line_error(capsys, phrase)
    assert not (folder / "submissions").exists()


# -- resume: what it refuses, in one sentence, before Keras --------------------------------------

@pytest.mark.parametrize("argv, phrase", [
    (["--epochs", "-5"], "--epochs must be at least 1 (got -5)"),
    (["--epochs", "0"], "--epochs must be at least 1 (got 0)"),
    (["--epochs", "2"], f"{D} has done 3 epochs already; give more than 3 epochs in all"),
    ([], f"{D} has done all 3 of its epochs; give more than 3 epochs in all (--epochs)"),
    (["--lr", "0.1"], "--lr cannot be given with it"),
    (["--no-augment"], "--no-augment/--augment cannot be given with it"),
    (["--data", "elsewhere"], "--data cannot be given with it"),
])
def test_resume_refuses_what_cannot_be_resumed_in_one_sentence(folder, argv, phrase, capsys):
    run = folder / "runs" / D
    before = snapshot(run)
    assert main(["train", "--resume", D, *argv]) == 2
    one_line_error(capsys, phrase)
    assert snapshot(run) == before


@pytest.mark.parametrize("ref, phrase", [
    ("", "give a run"),
    ("tiny", "'tiny' is a CV, not a run"),
    ("a\x1b[31mred", "no run 'a\\x1b[31mred'"),
])
def test_resume_of_what_is_not_a_run_says_so(folder, ref, phrase, capsys):
    (folder / "runs" / "cv").mkdir()
    (folder / "runs" / "cv" / "tiny.json").write_text('{"recipe": {"folds": 2}, "runs": {}}')
    assert main(["train", "--resume", ref]) == 2
    one_line_error(capsys, phrase)


def test_resume_of_a_run_killed_before_its_first_epoch_trains_it_in_place(folder):
    run = folder / "runs" / D
    for name in ("state.json", "last.keras", "best.keras"):
        (run / name).unlink()
    write(run / "status.json", {"status": "running", "pid": 1})
    config, resumed = plan_resume(Run(run))
    assert (config.model, config.epochs, resumed) == ("simple-cnn", 3, False)


# -- with Keras: a damaged config is never rewritten, a stale "running" resumes ------------------

def test_resume_never_rewrites_a_damaged_run(tiny_data, tmp_path):
    from workbench.engine.training import fit as training
    from workbench.engine.training.config import TrainConfig

    config = TrainConfig(model="linear", epochs=2, batch_size=64, data=str(tiny_data))
    stop = __import__("threading").Event()
    first = training.train(config, runs_dir=tmp_path, stop=stop, subscribers=[
        lambda event: stop.set() if type(event).__name__ == "EpochEnded" else None])
    assert first.status == "interrupted" and Run(first.run).status == "interrupted"
    # status.json says running, with a live pid: interrupted all the same, and it resumes.
    write(first.run / "status.json", {**files.read_json(first.run / "status.json"),
                                      "status": "running", "pid": 1})
    assert training.resume(first.run).status == "finished"
    assert [row["epoch"] for row in runs.read_history(first.run)] == [1, 2]
    # A damaged TTA cache is a cache: made anew, not an error.
    from workbench.engine.training.predict import predict_run

    tta = predict_run(Run.open(first.run), tta=True)
    (first.run / "tta_predictions.npz").write_bytes(b"PK\x03\x04 cut")
    np.testing.assert_allclose(predict_run(Run.open(first.run), tta=True).test_probabilities,
                               tta.test_probabilities, rtol=1e-5)
    assert zipfile.is_zipfile(first.run / "tta_predictions.npz")
    (first.run / "config.json").write_bytes(b'{"model": "linear", "epo')
    before = snapshot(first.run)
    with pytest.raises(runs.RunDamaged, match="config.json is not valid JSON"):
        training.resume(first.run, epochs=3)
    assert snapshot(first.run) == before
    # A checkpoint that is a zip file but not a model: one sentence naming it.
    with zipfile.ZipFile(first.run / "best.keras", "w") as archive:
        archive.writestr("nothing", "")
    from workbench.engine.network.inference import load_checkpoint

    with pytest.raises(WorkbenchError, match="best.keras cannot be loaded as a Keras model"):
        load_checkpoint(first.run / "best.keras")


def test_a_damaged_suspects_list_is_refused_for_training_and_kept_by_a_toggle(tmp_path):
    from workbench.engine.data.suspects import read_suspects, toggle_suspect

    path = tmp_path / "suspects.csv"
    path.write_bytes(b"id\n5\n\xff\xfe note\n12a\n")
    assert read_suspects(path) == {5}
    with pytest.raises(WorkbenchError, match="not UTF-8"):
        read_suspects(path, strict=True)
    assert toggle_suspect(7, path) and not toggle_suspect(5, path)
    assert path.read_bytes() == b"id\n\xff\xfe note\n12a\n7\n"  # nothing of the file is lost
    path.write_text("id\n5\n12a\n")
    with pytest.raises(WorkbenchError, match="line 3 .* is not a train id"):
        read_suspects(path, strict=True)
    path.write_text("id\n²\n")
    assert read_suspects(path) == set()


# -- property: no bytes in a run's files make a reader raise anything but RunDamaged -------------

RUN_FILES = ("config.json", "status.json", "state.json", "history.csv")


@st.composite
def damaged_file(draw):
    """A run file and what replaces it: random bytes, or its own bytes cut, flipped or grown."""
    name = draw(st.sampled_from(RUN_FILES))
    how = draw(st.sampled_from(["bytes", "cut", "flip", "insert"]))
    return name, how, draw(st.binary(max_size=64)), draw(st.integers(0, 10_000))


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(damage=damaged_file())
def test_no_bytes_in_a_run_file_break_the_readers(folder, damage):
    name, how, data, at = damage
    run = folder / "runs" / D
    path = run / name
    original = path.read_bytes()
    at %= len(original) + 1
    path.write_bytes({"bytes": data, "cut": original[:at],
                      "flip": original[:at] + bytes([original[at] ^ 0x55]) + original[at + 1:]
                      if at < len(original) else original + data,
                      "insert": original[:at] + data + original[at:]}[how])
    try:
        listed = {r.id: r for r in list_runs(folder / "runs")}
        assert listed[A].status == listed[B].status == "finished"
        summary = listed[D]
        try:
            opened = runs.Run.open(run)
        except runs.RunDamaged as error:
            assert summary.status == "damaged" and summary.problem.startswith(error.reason)
            assert "\n" not in str(error)
        else:
            assert summary.status in runs.STATUSES and summary.problem is None
            listing.summarize(opened)
        assert isinstance(runs.read_history(run), list) and isinstance(Run(run).status, str)
        assert listing.find_run("last").path == Path("runs") / (D if summary.problem is None else B)
    finally:
        path.write_bytes(original)
