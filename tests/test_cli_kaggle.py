"""`workbench-engine kaggle ...` as a process of its own (forked warm, tests/forks.py), the real
client routed to the fake server."""

import json
import os
from pathlib import Path

import pytest

from tests import forks
from tests.fake_kaggle import FakeKaggle
from tests.test_cli import assert_one_line_error

SECRET = "fake-key-fedcba9876543210"


@pytest.fixture
def fake(kaggle):
    with FakeKaggle(data_zip=kaggle.zip().read_bytes()) as server:
        yield server


def client_env(fake, tmp_path) -> dict[str, str]:
    """The environment of a CLI whose client talks to ``fake``, with fake credentials."""
    return {**os.environ, "KAGGLE_API_ENVIRONMENT": "LOCALHOST", "HTTP_PROXY": fake.url,
            "NO_PROXY": "", "no_proxy": "", "KAGGLE_USERNAME": "tester", "KAGGLE_KEY": SECRET,
            "KAGGLE_CONFIG_DIR": str(tmp_path / "kcfg")}


@pytest.fixture
def run_kaggle(fake, tmp_path):
    """Run the CLI with fake credentials, the client routed through HTTP_PROXY to the fake."""

    def run(*args, **env):
        full_env = {**client_env(fake, tmp_path), **env}
        full_env = {k: v for k, v in full_env.items() if v is not None}
        if args[0] == "submit":  # the fake scores in a moment: look again at once, not in 5 s
            args = (*args, "--poll", "0.05")
        result = forks.run_forked(["kaggle", *map(str, args)], tmp_path, full_env, 120)
        assert SECRET not in result.stdout + result.stderr
        return result

    return run


@pytest.fixture
def submission(tmp_path):
    path = tmp_path / "sub.csv"
    path.write_text("ImageId,Label\n" + "".join(f"{i},{i % 10}\n" for i in range(1, 13)))
    return path


def test_submit_waits_for_the_score(run_kaggle, fake, submission, kaggle):
    result = run_kaggle("submit", submission, "-m", "cli test", "--data", kaggle.zip())
    assert result.returncode == 0, result.stderr
    assert "public score 0.99123" in result.stdout
    assert list(fake.uploads.values()) == [submission.read_bytes()]


def test_submissions_json(run_kaggle, submission, kaggle):
    run_kaggle("submit", submission, "-m", "listed", "--no-wait", "--data", kaggle.zip())
    result = run_kaggle("submissions", "--json")
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)
    assert items[0]["description"] == "listed" and items[0]["file_name"] == "sub.csv"


def test_download(run_kaggle, fake, tmp_path):
    result = run_kaggle("download", "--dest", tmp_path / "data")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data/digit-recognizer.zip").read_bytes() == fake.data_zip


def test_rules_not_accepted(run_kaggle, fake, submission, kaggle):
    fake.fail("StartSubmissionUpload", 403, {"code": 403, "message": "Rules not accepted"})
    assert_one_line_error(run_kaggle("submit", submission, "-m", "x", "--data", kaggle.zip()),
                          "(403): Rules not accepted", "/rules")
    assert submission.exists()


def test_invalid_file_is_not_uploaded(run_kaggle, fake, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("ImageId,Label\n1,3\n")
    assert_one_line_error(run_kaggle("submit", bad, "-m", "x"), "was not uploaded")
    assert fake.requests == []


def test_no_credentials(run_kaggle, submission, kaggle):
    result = run_kaggle("submissions", KAGGLE_USERNAME=None, KAGGLE_KEY=None,
                        KAGGLE_API_TOKEN=None)
    assert_one_line_error(result, "no Kaggle credentials found", "KAGGLE_API_TOKEN")


def test_access_token_credentials(run_kaggle, fake, submission, kaggle):
    result = run_kaggle("submit", submission, "-m", "token", "--data", kaggle.zip(),
                        KAGGLE_USERNAME=None, KAGGLE_KEY=None, KAGGLE_API_TOKEN=fake.token)
    assert result.returncode == 0, result.stderr
    assert fake.token not in result.stdout + result.stderr
    assert fake.calls("IntrospectToken") >= 1 and fake.calls("CreateSubmission") == 1


def test_rejected_access_token(run_kaggle, submission, kaggle):
    result = run_kaggle("submissions", KAGGLE_USERNAME=None, KAGGLE_KEY=None,
                        KAGGLE_API_TOKEN="expired-token")
    assert_one_line_error(result, "Kaggle did not accept the credentials")


def test_credentials_never_reach_a_file_or_the_output(run_kaggle, fake, submission, kaggle,
                                                      tmp_path, tiny_data):
    """A known fake key in the environment through download, submit, list and a training:
    it is in no file the tools wrote and in none of their output."""
    outputs = [
        run_kaggle("download", "--dest", tmp_path / "data"),
        run_kaggle("submit", submission, "-m", "leak check", "--data", kaggle.zip()),
        run_kaggle("submissions", "--json"),
    ]
    env = {**os.environ, "KAGGLE_USERNAME": "tester", "KAGGLE_KEY": SECRET}
    outputs.append(forks.run_forked(["train", "--model", "linear", "--epochs", "1", "--data",
                                     str(tiny_data)], tmp_path, env, 300))
    assert all(result.returncode == 0 for result in outputs), [r.stderr for r in outputs]
    for result in outputs:
        assert SECRET not in result.stdout + result.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "submission.csv" for p in written)
    cache = os.environ["WORKBENCH_CACHE_DIR"]
    written += [p for p in Path(cache).rglob("*") if p.is_file()]
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), path


# -- issue 31 (7, 8): matched by ref, the day's quota, a file sent twice -------------------------


@pytest.fixture
def lagging(kaggle):
    """A history that lists a new submission only at the third look, as Kaggle's may."""
    with FakeKaggle(data_zip=kaggle.zip().read_bytes(), listing_lag=2) as server:
        yield server


def test_a_submission_the_history_lists_late_is_followed_by_its_ref(lagging, tmp_path, kaggle):
    for number in (1, 2):  # an older submission of the same name and message is not it
        path = tmp_path / f"s{number}" / "submission.csv"
        path.parent.mkdir()
        path.write_text("ImageId,Label\n" + "".join(f"{i},{(i + number) % 10}\n"
                                                      for i in range(1, 13)))
    env = client_env(lagging, tmp_path)

    def submit(number: int):
        return forks.run_forked(["kaggle", "submit", str(tmp_path / f"s{number}/submission.csv"),
                                 "-m", "same", "--poll", "0.05", "--data", str(kaggle.zip())],
                                tmp_path, env, 120)

    lagging.score = "0.5"
    first = submit(1)
    assert first.returncode == 0, first.stderr
    lagging.score = "0.9"
    second = submit(2)
    assert second.returncode == 0, second.stderr
    assert "not in the submission history" not in second.stdout
    assert "public score 0.9" in second.stdout


def test_the_day_s_submissions_left_are_said_before_sending(run_kaggle, fake, submission,
                                                            kaggle):
    result = run_kaggle("submit", submission, "-m", "one", "--data", kaggle.zip())
    assert result.returncode == 0, result.stderr
    assert "Kaggle: 5 of 5 submissions left today" in result.stderr
    fake.max_daily = 1
    other = submission.with_name("other.csv")
    other.write_text(submission.read_text().replace(",1\n", ",2\n"))
    refused = run_kaggle("submit", other, "-m", "two", "--data", kaggle.zip())
    assert_one_line_error(refused, "no submissions left today", "Kaggle allows 1 a day")
    assert fake.calls("CreateSubmission") == 1


def test_a_file_sent_before_is_sent_again_only_when_asked(run_kaggle, fake, submission, kaggle):
    assert run_kaggle("submit", submission, "-m", "one", "--data", kaggle.zip()).returncode == 0
    twice = run_kaggle("submit", submission, "-m", "again", "--data", kaggle.zip())
    assert_one_line_error(twice, "was sent to Kaggle already", "--again")
    assert fake.calls("CreateSubmission") == 1
    again = run_kaggle("submit", submission, "-m", "again", "--again", "--data", kaggle.zip())
    assert again.returncode == 0, again.stderr
    assert fake.calls("CreateSubmission") == 2


def test_kaggle_s_reason_for_a_failed_submission_is_shown(run_kaggle, fake, submission, kaggle):
    fake.error = "Submission file has 12 rows, expected 28000"
    result = run_kaggle("submit", submission, "-m", "bad", "--data", kaggle.zip())
    assert result.returncode == 1
    assert "Kaggle could not score it: Submission file has 12 rows" in result.stderr
    listed = run_kaggle("submissions")
    assert "Submission file has 12 rows" in listed.stdout


def test_terminal_escapes_in_a_message_from_the_server_are_shown_escaped(run_kaggle, fake):
    fake.submissions.append({"ref": 9, "date": "2026-11-29T09:00:00Z", "fileName": "s.csv",
                             "description": "\x1b]0;pwned\x07\x1b[31mred", "status": "COMPLETE",
                             "publicScore": "0.9", "polls": 0})
    listed = run_kaggle("submissions")
    assert listed.returncode == 0, listed.stderr
    assert "\x1b" not in listed.stdout and "\\x1b]0;pwned" in listed.stdout
