"""Kaggle under faults: a submission is made once whatever fails, broken credential files are
named (never shown), and the HTTP timeout holds for every call. The real `kaggle` client talks
to the fake server on 127.0.0.1 (tests/fake_kaggle.py)."""

import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import SUBMISSION_IDS as IDS, engine_command
from tests.fake_kaggle import FakeKaggle, served
from tests.helpers import Kaggle
from tests.test_cli import assert_one_line_error
from workbench.engine.errors import WorkbenchError
from workbench.engine.kaggle import (
    account,
    calls,
    download as downloading,
    history as kaggle_history,
    ledger,
    submit as submitting,
)

SECRET = "fake-key-5ec2e7-do-not-print"


@pytest.fixture
def fake(monkeypatch, tmp_path):
    """The fake server, the in-process client pointed at it, fake legacy credentials."""
    with served(monkeypatch, SECRET, tmp_path / "kcfg") as server:
        yield server


def submit(path, message="once", again=False):
    return submitting.submit(path, message, test_ids=IDS, poll_s=0.01, again=again)


# -- one submission, whatever fails -----------------------------------------------------------


def test_a_create_that_landed_then_timed_out_is_found_not_sent_again(fake, submission,
                                                                      monkeypatch):
    monkeypatch.setattr(calls, "TIMEOUT_S", 0.5)
    fake.answer_delay_s["CreateSubmission"] = 2.0  # recorded, but the answer comes too late
    result = submit(submission)
    assert result.status == "COMPLETE" and result.description == "once"
    assert len(fake.submissions) == 1 and fake.calls("CreateSubmission") == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_create_that_landed_behind_a_5xx_is_found_not_sent_again(fake, submission, status):
    fake.fail("CreateSubmission", status, {"code": status, "message": "gateway"}, after=True)
    assert submit(submission).status == "COMPLETE"
    assert len(fake.submissions) == 1 and fake.calls("CreateSubmission") == 1


def test_a_timed_out_submit_then_the_same_command_makes_one_submission(fake, submission,
                                                                      monkeypatch):
    """The create lands but its answer times out, and the history cannot be read either: the
    command stops saying so; run again, it finds the first one instead of sending another."""
    monkeypatch.setattr(calls, "TIMEOUT_S", 0.5)
    fake.answer_delay_s["CreateSubmission"] = 2.0
    fake.fail("ListSubmissions", 503, {"code": 503, "message": "busy"}, times=99)
    with pytest.raises(WorkbenchError) as caught:
        submit(submission)
    message = str(caught.value)
    assert "timed out" in message and "will not submit twice" in message
    assert "\n" not in message and SECRET not in message
    assert len(fake.submissions) == 1
    fake.faults.clear()
    fake.answer_delay_s.clear()
    result = submit(submission)
    assert result.status == "COMPLETE"
    assert len(fake.submissions) == 1 and fake.calls("CreateSubmission") == 1


def test_a_create_that_never_landed_is_looked_up_before_each_retry(fake, submission):
    fake.fail("CreateSubmission", 503, {"code": 503, "message": "busy"}, times=99)
    with pytest.raises(WorkbenchError, match=r"submitting failed \(503\): busy"):
        submit(submission)
    assert fake.submissions == []
    routes = [r for _, r, _ in fake.requests if r in ("CreateSubmission", "ListSubmissions")]
    assert routes == ["CreateSubmission", "ListSubmissions"] * (calls.RETRIES + 1)
    fake.faults.clear()
    assert submit(submission).status == "COMPLETE"  # the same command: not there, so sent
    assert len(fake.submissions) == 1


def test_an_unreadable_answer_to_the_create_is_looked_up(fake, submission):
    fake.fail("CreateSubmission", 200, b"{not json", after=True)
    assert submit(submission).status == "COMPLETE"
    assert len(fake.submissions) == 1 and fake.calls("CreateSubmission") == 1


def test_another_message_is_not_taken_for_this_submission(fake, submission):
    """The look-up matches this file name and this message: an earlier submission of the same
    file with another message is not taken for the one that got a 502."""
    assert submit(submission, "first").status == "COMPLETE"
    fake.fail("CreateSubmission", 502, {"code": 502, "message": "gateway"}, after=True)
    assert submit(submission, "second", again=True).description == "second"
    assert [s["description"] for s in fake.submissions] == ["second", "first"]


def test_the_pending_journal_holds_no_credentials(fake, submission, monkeypatch):
    monkeypatch.setattr(calls, "TIMEOUT_S", 0.5)
    fake.answer_delay_s["CreateSubmission"] = 2.0
    fake.fail("ListSubmissions", 200, b"{not json", times=99)
    with pytest.raises(WorkbenchError, match="run the same command again"):
        submit(submission)
    journal = ledger.journal_path()
    assert len(json.loads(journal.read_bytes())) == 1  # this attempt, outcome unknown
    assert SECRET.encode() not in journal.read_bytes()
    assert b"tester" not in journal.read_bytes()
    fake.faults.clear()
    fake.answer_delay_s.clear()
    assert submit(submission).status == "COMPLETE"  # found: the entry is cleared
    assert json.loads(journal.read_bytes()) == {}
    fake.fail("CreateSubmission", 400, {"code": 400, "message": "daily limit (5)"})
    with pytest.raises(WorkbenchError, match=r"\(400\): daily limit"):
        submit(submission, "refused", again=True)  # a refusal: nothing made, nothing left
    assert json.loads(journal.read_bytes()) == {}
    assert fake.calls("CreateSubmission") == 2 and len(fake.submissions) == 1


def test_a_timed_out_submit_then_the_same_cli_command_makes_one_submission(tmp_path):
    """Through the real CLI: a 504 after the create landed, an unreadable history, exit 2 in
    one sentence; the same command again reports the first submission's score."""
    path = tmp_path / "sub.csv"
    path.write_text("ImageId,Label\n" + "".join(f"{i},{i % 10}\n" for i in range(1, 13)))
    data = Kaggle(tmp_path).folder("comp")  # 12 test images
    with FakeKaggle() as server:
        env = {**os.environ, "KAGGLE_API_ENVIRONMENT": "LOCALHOST", "HTTP_PROXY": server.url,
               "NO_PROXY": "", "no_proxy": "", "KAGGLE_USERNAME": "tester",
               "KAGGLE_KEY": SECRET, "KAGGLE_CONFIG_DIR": str(tmp_path / "kcfg")}
        env.pop("KAGGLE_API_TOKEN", None)
        command = [*engine_command(), "kaggle", "submit", str(path), "-m", "cli once",
                   "--data", str(data)]
        server.fail("CreateSubmission", 504, {"code": 504, "message": "gateway timeout"},
                    after=True)
        server.fail("ListSubmissions", 200, b"{not json", times=99)
        first = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True,
                               timeout=120)
        assert_one_line_error(first, "(504)", "will not submit twice")
        server.faults.clear()
        again = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True,
                               timeout=120)
        assert again.returncode == 0, again.stderr
        assert "public score 0.99123" in again.stdout
        assert len(server.submissions) == 1 and server.calls("CreateSubmission") == 1
    for result in (first, again):
        assert SECRET not in result.stdout + result.stderr


# -- credentials files: named, never shown, nothing sent -------------------------------------


@pytest.fixture
def config_dir(fake, monkeypatch, tmp_path):
    """KAGGLE_CONFIG_DIR with no credentials in the environment: kaggle.json is the source."""
    monkeypatch.delenv("KAGGLE_USERNAME")
    monkeypatch.delenv("KAGGLE_KEY")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.kaggle/access_token
    folder = tmp_path / "kcfg"
    # The client's first import in a process makes KAGGLE_CONFIG_DIR (a class attribute's
    # side effect): it exists already when this test is the first in its worker to import it.
    folder.mkdir(exist_ok=True)
    return folder


@pytest.mark.parametrize("content, phrase", [
    (b'{"username": "tester", "key": "' + SECRET.encode()[:9], "not valid JSON"),
    (b"", "not valid JSON"),
    (b'["tester", "' + SECRET.encode() + b'"]', "holds list"),
    (b"null", "holds null"),
    (b'"' + SECRET.encode() + b'"', "holds str"),
    (b"42", "holds int"),
    (b'{"username": "tester"}', 'has no "key"'),
    (b'{"key": "' + SECRET.encode() + b'"}', 'has no "username"'),
    (b'{"username": "tester", "key": ""}', 'has no "key"'),
    (b'{"username": "tester", "key": 12345}', 'has no "key"'),
    (b'{"username": "tester", "key": "\xff\xfe"}', "is not text"),
])
def test_a_broken_kaggle_json_is_named_with_the_fix(fake, config_dir, content, phrase):
    (config_dir / "kaggle.json").write_bytes(content)
    for call in (kaggle_history.submissions, lambda: downloading.download(dest=config_dir / "d")):
        with pytest.raises(WorkbenchError) as caught:
            call()
        message = str(caught.value)
        assert str(config_dir / "kaggle.json") in message and phrase in message, message
        assert "kaggle.com/settings" in message and "did not accept" not in message
        assert SECRET not in message and SECRET[:9] not in message
    assert fake.requests == []


def test_a_list_in_kaggle_json_is_refused_even_with_credentials_in_the_environment(
        fake, monkeypatch, tmp_path):
    """The client reads kaggle.json whatever the environment says, and a list crashes it."""
    folder = tmp_path / "kcfg"
    folder.mkdir(exist_ok=True)  # made by the client's first import, as in config_dir
    (folder / "kaggle.json").write_text("[]")
    with pytest.raises(WorkbenchError, match="kaggle.json holds list"):
        kaggle_history.submissions()
    assert fake.requests == []


def test_a_folder_named_kaggle_json_or_a_config_dir_that_is_a_file(fake, config_dir,
                                                                   monkeypatch, tmp_path):
    (config_dir / "kaggle.json").mkdir()
    with pytest.raises(WorkbenchError, match="kaggle.json is not a file"):
        kaggle_history.submissions()
    afile = tmp_path / "afile"
    afile.write_text("x")
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(afile))
    with pytest.raises(WorkbenchError, match="KAGGLE_CONFIG_DIR is .*afile, which is a file"):
        kaggle_history.submissions()
    assert fake.requests == []
    from kaggle.api.kaggle_api_extended import KaggleApi

    # Whole again, it is used. (The client fixed its kaggle.json path when first imported.)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(config_dir))
    monkeypatch.setattr(KaggleApi, "config", str(config_dir / "kaggle.json"))
    (config_dir / "kaggle.json").rmdir()
    (config_dir / "kaggle.json").write_text(json.dumps({"username": "tester", "key": SECRET}))
    assert account.credentials_source() == str(config_dir / "kaggle.json")
    assert kaggle_history.submissions() == []


def test_a_token_file_that_is_not_text_is_named(fake, config_dir, monkeypatch, tmp_path):
    token = tmp_path / "token"
    token.write_bytes(b"\xff\xfe\x00" + SECRET.encode())
    monkeypatch.setenv("KAGGLE_API_TOKEN", str(token))
    with pytest.raises(WorkbenchError) as caught:
        kaggle_history.submissions()
    assert "KAGGLE_API_TOKEN names is not text" in str(caught.value)
    assert SECRET not in str(caught.value)
    home_token = tmp_path / "home/.kaggle/access_token"
    home_token.parent.mkdir(parents=True)
    home_token.write_bytes(b"\xff" + SECRET.encode())
    monkeypatch.delenv("KAGGLE_API_TOKEN")
    with pytest.raises(WorkbenchError, match=r"\.kaggle/access_token is not text"):
        kaggle_history.submissions()
    assert fake.requests == []


# -- the HTTP timeout and the server's reason --------------------------------------------------


@pytest.fixture
def silent_server():
    """A socket that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_the_timeout_is_installed_once_and_holds_after_a_call_ends(fake, monkeypatch,
                                                                   silent_server):
    """Patched per call, the timeout was removed when one call ended, so another thread's call
    then in flight ran without one (and could hang for ever): it must stay installed."""
    from requests.adapters import HTTPAdapter

    monkeypatch.setattr(calls, "TIMEOUT_S", 0.3)
    kaggle_history.submissions()
    installed = HTTPAdapter.send
    kaggle_history.submissions()
    assert HTTPAdapter.send is installed  # not wrapped again
    outcome = []

    def other_worker():  # what another app worker's client call does mid-flight
        start = time.monotonic()
        try:
            requests.Session().get(silent_server)
        except requests.Timeout:
            outcome.append(time.monotonic() - start)

    thread = threading.Thread(target=other_worker, daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive() and outcome and outcome[0] < 5


def test_an_error_response_without_a_body_keeps_its_reason():
    response = requests.Response()
    response.status_code, response.reason, response._content = 502, "Bad Gateway", b""
    assert not response  # an error Response is falsy: the old test dropped its reason
    message = calls._http_message("submitting", "digit-recognizer", 502,
                                      requests.HTTPError(response=response))
    assert message.startswith("submitting failed (502): Bad Gateway; Kaggle is having trouble")


@pytest.mark.parametrize("timeout", [float("nan"), float("-inf"), -1.0])
def test_a_bad_wait_timeout_is_refused_before_anything_is_sent(fake, submission, timeout):
    with pytest.raises(WorkbenchError, match="the time to wait for a score must be a finite"):
        submitting.submit(submission, "x", test_ids=IDS, timeout_s=timeout)
    assert fake.requests == []


def test_two_workers_submitting_at_once_each_submit_once(fake, tmp_path):
    """Two threads (the app's workers) submitting two files at once, each create answered
    late: one submission each, none repeated."""
    paths = []
    for name in ("a.csv", "b.csv"):
        path = tmp_path / name
        path.write_text("ImageId,Label\n1,7\n2,2\n3,1\n4,0\n5,4\n")
        paths.append(path)
    fake.fail("CreateSubmission", 502, {"code": 502, "message": "gateway"}, times=2, after=True)
    errors = []

    def worker(path: Path):
        try:
            submit(path, f"from {path.name}")
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(p,)) for p in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(s["fileName"] for s in fake.submissions) == ["a.csv", "b.csv"]
