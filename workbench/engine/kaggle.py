"""Kaggle through the official ``kaggle`` client: download, checked submit, submission history.

``import kaggle`` authenticates at import time, so the client is imported here only, lazily,
after checking that credentials exist. Credentials are never read into messages or logs: this
module only tells *where* the client looks. Transient faults (429, 5xx, timeouts, dropped
connections) are retried a bounded number of times; every failure ends as one WorkbenchError
sentence with the server's reason and the fix.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.engine.errors import WorkbenchError
from workbench.engine.submission import check_submission_file

COMPETITION = "digit-recognizer"
TEST_ROWS = {"digit-recognizer": 28000}
RETRIES = 3
BACKOFF_S = 1.0
TIMEOUT_S = 60.0
TOKEN_HELP = ("create an API token at https://www.kaggle.com/settings (API section) and set "
              "KAGGLE_API_TOKEN, or save it as ~/.kaggle/access_token (kaggle.json with "
              "KAGGLE_USERNAME/KAGGLE_KEY works too)")


@dataclass(frozen=True)
class KaggleSubmission:
    """One row of the competition's submission history."""

    ref: str
    date: str
    file_name: str
    description: str
    status: str
    public_score: str | None
    error: str | None


def credentials_source() -> str:
    """Where the client will find credentials (never their values); raises if nowhere."""
    config_dir = Path(os.environ.get("KAGGLE_CONFIG_DIR") or Path.home() / ".kaggle")
    if os.environ.get("KAGGLE_API_TOKEN"):
        return "KAGGLE_API_TOKEN"
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return "KAGGLE_USERNAME/KAGGLE_KEY"
    for name in ("access_token", "kaggle.json"):
        if (config_dir / name).is_file():
            return str(config_dir / name)
    raise WorkbenchError(f"no Kaggle credentials found (looked at KAGGLE_API_TOKEN, "
                         f"KAGGLE_USERNAME/KAGGLE_KEY and {config_dir}); {TOKEN_HELP}.")


def _api():
    credentials_source()
    with contextlib.redirect_stdout(io.StringIO()):
        from kaggle.api.kaggle_api_extended import KaggleApi

        api = KaggleApi()
        try:
            api.authenticate()
        except SystemExit:
            raise WorkbenchError(f"Kaggle did not accept the credentials; {TOKEN_HELP}.") from None
    return api


def _call(what: str, competition: str, function: Callable):
    """Run a client call quietly, retrying transient faults; map failures to one sentence."""
    import requests

    for attempt in range(RETRIES + 1):
        try:
            with contextlib.redirect_stdout(io.StringIO()), _http_timeout(TIMEOUT_S):
                return function()
        except requests.HTTPError as error:
            status = error.response.status_code if error.response is not None else None
            if (status == 429 or (status or 0) >= 500) and attempt < RETRIES:
                time.sleep(BACKOFF_S * 2 ** attempt)
                continue
            raise WorkbenchError(_http_message(what, competition, status, error)) from None
        except (requests.ConnectionError, requests.Timeout,
                requests.exceptions.ChunkedEncodingError) as error:
            if attempt < RETRIES:
                time.sleep(BACKOFF_S * 2 ** attempt)
                continue
            kind = ("Kaggle timed out" if isinstance(error, requests.Timeout) else
                    "the connection broke mid-answer"
                    if isinstance(error, requests.exceptions.ChunkedEncodingError)
                    else "could not connect to Kaggle")
            raise WorkbenchError(f"{what} failed: {kind} after {RETRIES + 1} tries; check the "
                                 "network and try again.") from None
        except ValueError as error:  # a body the client could not parse
            raise WorkbenchError(f"{what} failed: Kaggle sent an answer the client could not "
                                 f"read ({str(error)[:80]}); try again later.") from None


@contextlib.contextmanager
def _http_timeout(seconds: float):
    """Give the client's HTTP calls a timeout: kaggle 2.2.5 sets none, so a silent server would
    hang the call forever. Applies to requests made without an explicit timeout."""
    from requests.adapters import HTTPAdapter

    original = HTTPAdapter.send

    def send(self, request, stream=False, timeout=None, **kwargs):
        return original(self, request, stream=stream, timeout=timeout or seconds, **kwargs)

    HTTPAdapter.send = send
    try:
        yield
    finally:
        HTTPAdapter.send = original


def _http_message(what: str, competition: str, status: int | None, error) -> str:
    reason = _reason(error)
    fixes = {
        401: TOKEN_HELP,
        403: f"accept the rules at https://www.kaggle.com/competitions/{competition}/rules "
             "and check the token's permissions",
        400: "check the message above: a daily submission limit resets at midnight UTC; join "
             f"the competition at https://www.kaggle.com/competitions/{competition}",
        404: f"check the competition name ('{competition}') and that you have joined it",
        429: "Kaggle is rate-limiting: wait a few minutes and try again",
    }
    fix = fixes.get(status, "Kaggle is having trouble: try again later" if (status or 0) >= 500
                    else "try again later")
    return f"{what} failed ({status or 'error'}): {reason}; {fix}."


def _reason(error) -> str:
    response = error.response
    try:
        body = response.json()
        reason = body.get("errorDescription") or body.get("message") or body.get("error")
    except (ValueError, AttributeError):
        reason = None
    if not reason:
        reason = str(error.args[0]) if error.args else (response.reason if response else "")
    return " ".join(str(reason).split())[:200].rstrip(".")


def _submission(item) -> KaggleSubmission:
    def text(name):
        value = getattr(item, name, None)
        return None if value in (None, "") else str(value)

    status = text("status") or "?"
    return KaggleSubmission(
        ref=text("ref") or "", date=text("date") or "", file_name=text("file_name") or "",
        description=text("description") or "", status=status.split(".")[-1].replace(
            "SUBMISSION_STATUS_", "").upper(),
        public_score=text("public_score"), error=text("error_description"))


def submissions(competition: str = COMPETITION) -> list[KaggleSubmission]:
    """The competition's submission history, newest first."""
    api = _api()
    items = _call("listing submissions", competition,
                  lambda: api.competition_submissions(competition)) or []
    return [_submission(item) for item in items]


def submit(
    path: Path,
    message: str,
    competition: str = COMPETITION,
    *,
    test_ids: np.ndarray | None = None,
    wait: bool = True,
    poll_s: float = 5.0,
    timeout_s: float = 600.0,
    on_status: Callable[[KaggleSubmission], None] | None = None,
) -> KaggleSubmission | None:
    """Check ``path``, upload it, and (``wait``) poll until Kaggle has scored it.

    ``test_ids`` default to 1..28,000 for digit-recognizer. Nothing invalid is uploaded.
    Returns the submission as last seen (None if it could not be found in the history).
    """
    if test_ids is None:
        if competition not in TEST_ROWS:
            raise WorkbenchError(f"no test set size known for '{competition}'; pass --data with "
                                 "its test.csv so the submission can be checked.")
        test_ids = np.arange(1, TEST_ROWS[competition] + 1)
    check = check_submission_file(path, test_ids)
    if not check.ok:
        raise WorkbenchError(f"{path} was not uploaded: {check.problems[0]} "
                             f"({len(check.problems)} problem(s); see 'workbench-engine "
                             f"submission check {path}').")
    if not message.strip():
        raise WorkbenchError("a submission needs a message (-m); say what this one is.")
    api = _api()
    started = time.time()
    response = _call("submitting", competition,
                     lambda: api.competition_submit(str(path), message, competition, quiet=True))
    answer = getattr(response, "message", "") or ""
    if answer == api.COMPETITION_SUBMIT_UPLOAD_FAILED_MESSAGE:
        raise WorkbenchError(f"submitting failed: the upload of {path.name} did not complete; "
                             "try again.")
    latest = _find(competition, api, path.name, message)
    while wait and latest is not None and latest.status == "PENDING":
        if on_status:
            on_status(latest)
        if time.time() - started > timeout_s:
            break
        time.sleep(poll_s)
        latest = _find(competition, api, path.name, message)
    return latest


def _find(competition: str, api, file_name: str, message: str) -> KaggleSubmission | None:
    items = _call("checking the submission", competition,
                  lambda: api.competition_submissions(competition)) or []
    for item in map(_submission, items):
        if item.file_name == file_name and item.description == message:
            return item
    return None


def download(competition: str = COMPETITION, dest: Path = Path("data")) -> Path:
    """Download the competition zip into ``dest`` and check that it loads.

    The client writes into a temporary folder beside ``dest``; only a complete zip (every
    member's CRC checked) replaces the one already there, so a broken download loses nothing."""
    from workbench.engine.data import load_competition

    api = _api()
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{competition}.zip"
    with tempfile.TemporaryDirectory(dir=dest, prefix=".download-") as folder:
        _call("downloading", competition,
              lambda: api.competition_download_files(competition, path=folder, force=True,
                                                     quiet=True))
        got = Path(folder) / path.name
        if not got.is_file():
            raise WorkbenchError(f"downloading failed: Kaggle sent no {path.name}; try again.")
        if not _complete_zip(got):
            raise WorkbenchError(f"downloading failed: {path.name} arrived incomplete or "
                                 "damaged; try again (the file already there is kept).")
        os.replace(got, path)
    load_competition(path)
    return path


def _complete_zip(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError):
        return False
