"""The engine's Kaggle functions, with the real `kaggle` client talking to a fake server."""

import numpy as np
import pytest

from tests.conftest import SUBMISSION_IDS as IDS
from tests.fake_kaggle import TRUNCATED, served
from workbench.engine.errors import WorkbenchError
from workbench.engine.kaggle import (
    account,
    calls,
    download as downloading,
    history as kaggle_history,
    leaderboard,
    ledger,
    submit as submitting,
)

SECRET = "fake-key-0123456789abcdef"


@pytest.fixture
def fake(monkeypatch, kaggle):
    """A fake Kaggle server the official client is pointed at, with fake credentials."""
    with served(monkeypatch, SECRET, data_zip=kaggle.zip().read_bytes()) as server:
        yield server


def test_submit_uploads_the_file_and_waits_for_the_score(fake, submission):
    seen = []
    result = submitting.submit(submission, "first try", test_ids=IDS, poll_s=0.01,
                              on_status=seen.append)
    assert list(fake.uploads.values()) == [submission.read_bytes()]
    create = [body for _, method, body in fake.requests if method == "CreateSubmission"]
    assert create[0]["submissionDescription"] == "first try"
    assert create[0]["competitionName"] == "digit-recognizer"
    assert result.status == "COMPLETE" and result.public_score == "0.99123"
    assert result.file_name == "sub.csv"
    assert [s.status for s in seen] == ["PENDING"]


def test_submit_without_waiting(fake, submission):
    result = submitting.submit(submission, "quick", test_ids=IDS, wait=False)
    assert result.status == "PENDING"


def test_invalid_submission_is_never_uploaded(fake, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("ImageId,Label\n1,7\n2,2\n")
    with pytest.raises(WorkbenchError, match="was not uploaded: 3 of the 5 test ImageIds"):
        submitting.submit(bad, "nope", test_ids=IDS)
    assert fake.requests == []


def test_default_check_is_against_kaggles_28000_test_images(fake, submission):
    with pytest.raises(WorkbenchError, match="27995 of the 28000 test ImageIds are missing"):
        submitting.submit(submission, "wrong size")
    assert fake.requests == []


def test_submission_history_is_parsed(fake, submission):
    submitting.submit(submission, "one", test_ids=IDS, poll_s=0.01)
    history = kaggle_history.submissions()
    assert len(history) == 1
    assert (history[0].description, history[0].file_name, history[0].status,
            history[0].public_score) == ("one", "sub.csv", "COMPLETE", "0.99123")


def test_download_keeps_the_zip_and_checks_it(fake, tmp_path, kaggle):
    path = downloading.download(dest=tmp_path / "data")
    assert path == tmp_path / "data/digit-recognizer.zip"
    assert path.read_bytes() == fake.data_zip


@pytest.mark.parametrize("status, body, phrases", [
    (401, {"code": 401, "message": "Unauthenticated"}, ["(401): Unauthenticated",
                                                        "kaggle.com/settings"]),
    (403, {"code": 403, "message": "You must accept this competition's rules"},
     ["(403): You must accept this competition's rules", "/rules"]),
    (400, {"code": 400, "message": "Your team has used its daily Submission allowance (5)"},
     ["(400): Your team has used its daily Submission allowance (5)", "midnight UTC"]),
    (404, {"code": 404, "message": "Competition not found"}, ["(404): Competition not found"]),
])
def test_server_errors_are_one_sentence_with_the_reason(fake, submission, status, body, phrases):
    fake.fail("StartSubmissionUpload", status, body)
    with pytest.raises(WorkbenchError) as caught:
        submitting.submit(submission, "x", test_ids=IDS)
    message = str(caught.value)
    assert message.startswith("submitting failed") and "\n" not in message
    for phrase in phrases:
        assert phrase in message
    assert SECRET not in message
    assert submission.exists()


def test_transient_errors_are_retried_then_succeed(fake, submission):
    """A 429 refused the create, so it is tried again, but only after the history showed that
    nothing was recorded: one submission in the end."""
    fake.fail("ListSubmissions", 503, {"code": 503, "message": "busy"}, times=2)
    fake.fail("CreateSubmission", 429, {"code": 429, "message": "slow down"}, times=1)
    result = submitting.submit(submission, "retry", test_ids=IDS, poll_s=0.01)
    assert result.status == "COMPLETE"
    assert len(fake.submissions) == 1
    methods = [method for _, method, _ in fake.requests
               if method in ("CreateSubmission", "ListSubmissions")]
    first_create = methods.index("CreateSubmission")
    assert methods[first_create + 1] == "ListSubmissions"  # looked before trying again
    assert methods.count("CreateSubmission") == 2


@pytest.mark.parametrize("status, reason, fix", [
    (500, "internal", "Kaggle is having trouble"),
    (429, "slow down", "Kaggle is rate-limiting: wait a few minutes"),
])
def test_retries_are_bounded(fake, status, reason, fix):
    fake.fail("ListSubmissions", status, {"code": status, "message": reason}, times=10)
    with pytest.raises(WorkbenchError, match=rf"listing submissions failed \({status}\): "
                                             rf"{reason}; {fix}"):
        kaggle_history.submissions()
    assert fake.calls("ListSubmissions") == calls.RETRIES + 1


def test_no_credentials(no_credentials):
    with pytest.raises(WorkbenchError, match="no Kaggle credentials found .*kaggle.com/settings"):
        kaggle_history.submissions()


def test_credentials_source_names_where_not_what(monkeypatch, tmp_path):
    monkeypatch.setenv("KAGGLE_USERNAME", "tester")
    monkeypatch.setenv("KAGGLE_KEY", SECRET)
    monkeypatch.delenv("KAGGLE_API_TOKEN", raising=False)
    source = account.credentials_source()
    assert source == "KAGGLE_USERNAME/KAGGLE_KEY" and SECRET not in source
    monkeypatch.delenv("KAGGLE_KEY")
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path))
    (tmp_path / "kaggle.json").write_text(f'{{"username": "tester", "key": "{SECRET}"}}')
    assert account.credentials_source() == str(tmp_path / "kaggle.json")


def test_a_silent_server_times_out_with_bounded_retries(fake, monkeypatch):
    monkeypatch.setattr(calls, "TIMEOUT_S", 0.3)
    fake.delay_s["ListSubmissions"] = 1.0
    with pytest.raises(WorkbenchError, match=r"listing submissions failed: Kaggle timed out "
                                             r"after 4 tries; check the network"):
        kaggle_history.submissions()
    assert fake.calls("ListSubmissions") == calls.RETRIES + 1


@pytest.mark.parametrize("body, phrase", [
    (TRUNCATED, "the connection broke"),
    (b"{not json", "could not read"),
])
def test_a_broken_answer_is_one_sentence_and_retries_are_bounded(fake, body, phrase):
    fake.fail("ListSubmissions", 200, body, times=10)
    with pytest.raises(WorkbenchError) as caught:
        kaggle_history.submissions()
    message = str(caught.value)
    assert message.startswith("listing submissions failed") and phrase in message
    assert "\n" not in message and SECRET not in message
    assert fake.calls("ListSubmissions") <= calls.RETRIES + 1


def test_a_broken_answer_once_is_retried(fake):
    fake.fail("ListSubmissions", 200, TRUNCATED, times=1)
    assert kaggle_history.submissions() == []
    assert fake.calls("ListSubmissions") == 2


def test_a_truncated_download_keeps_the_zip_already_there(fake, tmp_path):
    good = downloading.download(dest=tmp_path / "data")
    before = good.read_bytes()
    fake.truncate_files = 10
    with pytest.raises(WorkbenchError, match="downloading failed"):
        downloading.download(dest=tmp_path / "data")
    assert good.read_bytes() == before
    assert [p.name for p in (tmp_path / "data").iterdir()] == [good.name]  # no leftovers
    fake.truncate_files = 1  # once: the retry gets the whole file
    assert downloading.download(dest=tmp_path / "data").read_bytes() == before


# -- issue 19/20: the reason on the status line, the leaderboard, the run each row came from ----


def test_an_error_without_a_body_keeps_the_reason_of_its_status_line(fake):
    """An error Response is falsy: testing it as a bool dropped the reason, and the client's own
    exception text carries the URL; the sentence has the reason alone."""
    fake.fail("ListSubmissions", 403, reason="Competition rules not accepted")
    with pytest.raises(WorkbenchError) as caught:
        kaggle_history.submissions()
    message = str(caught.value)
    assert message.startswith("listing submissions failed (403): Competition rules not "
                              "accepted; accept the rules at")
    assert "http://127.0.0.1" not in message


def test_the_leaderboard_place_is_read_page_by_page_until_a_worse_score(fake):
    fake.leaderboard = ["1.00000", "1.00000", "0.99800", "0.99500", "0.99500", "0.99000",
                        "0.98000"]
    fake.max_page = 2
    assert str(leaderboard.standing("0.99500")) == "#4 on the public leaderboard"
    assert fake.calls("GetLeaderboard") == 2  # the second page holds a score not better
    assert leaderboard.standing("1.0").position == 1
    assert leaderboard.standing("0.5").position == 8  # below every entry: last
    fake.leaderboard = ["1.00000"] * 10
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(leaderboard, "LEADERBOARD_PAGES", 2)
        assert str(leaderboard.standing("0.9")) == "below the top 4 of the public leaderboard"


def test_the_history_names_the_run_a_submission_came_from(fake, tmp_path, kaggle):
    from tests.helpers import synthetic_run
    from workbench.engine.data.competition import load_competition

    run = synthetic_run(tmp_path / "runs", load_competition(kaggle.zip()))
    sent = submitting.submit(run / "submission.csv", "from a run", test_ids=np.arange(1, 13),
                            poll_s=0.01)
    assert (sent.run, sent.source) == (run.name, f"submission.csv (run {run.name})")
    listed = kaggle_history.submissions()
    assert listed[0].run == run.name and listed[0].path == str(run / "submission.csv")
    log = ledger.sent_path()
    log.write_bytes(b"[{\"ref\": cut sho")  # damaged: the history shows what Kaggle knows
    assert kaggle_history.submissions()[0].source == "submission.csv"
