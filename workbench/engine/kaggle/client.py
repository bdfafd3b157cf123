"""Kaggle through the official ``kaggle`` client: download, checked submit, submission history,
and where a score places on the public leaderboard.

``import kaggle`` authenticates at import time, so the client is imported here only, lazily,
after checking that credentials exist. Credentials are never read into messages or logs: this
module only tells *where* the client looks, and checks that the files it will read are whole
(never printing what they hold). Transient faults (429, 5xx, timeouts, dropped connections) of
idempotent calls are retried a bounded number of times; every failure ends as one WorkbenchError
sentence with the server's reason and the fix.

A submission is not idempotent: a create call that timed out or got a 5xx may still have been
recorded. So ``submit`` never repeats it blindly: after a failure it looks the submission up in
the history (same file name and message, made after the attempt began) and tries again only if
it is not there. An attempt whose outcome is unknown is journalled (``pending.json`` in the
cache folder, no credentials), so the same command run again looks first too.

Kaggle's history names only the file ("submission.csv") and the message: so each submission made
here is noted in ``sent.json`` beside the journal (file, run, content hash, message, Kaggle's
ref), and the history read back names the run each row came from.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from workbench.engine.data.cache import cache_dir
from workbench.engine.data.competition import load_competition
from workbench.engine.errors import Option, WorkbenchError, printable
from workbench.engine.results.submission import (
    COMPETITION,
    SubmissionCheck,
    check_submission_file,
    kaggle_test_set,
    run_of,
)
from workbench.engine.store import workspace
from workbench.engine.store.atomic import write_atomic
from workbench.engine.store.files import parse_json, read_small
from workbench.engine.store.locks import locked

RETRIES = 3
BACKOFF_S = 1.0
TIMEOUT_S = 60.0
CLOCK_SLACK_S = 120.0  # Kaggle's clock may run behind ours: a submission this much "older" is ours
SENT_KEPT = 1000  # entries of sent.json: years of daily submissions
SENT_LIMIT = 4 << 20  # bytes: SENT_KEPT entries take ~0.5 MB
SECRET_LIMIT = 64 << 10  # a token or kaggle.json is well under 1 KB
LEADERBOARD_PAGE = 200  # entries asked for per leaderboard call
LEADERBOARD_PAGES = 25  # calls at most: a score below the first 5,000 is said to be so
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
    run: str | None = None  # the run it came from, when it was sent from here (sent.json)
    path: str | None = None  # the file that was sent, when it was sent from here

    @property
    def source(self) -> str:
        """The file and, when known, the run it came from: "submission.csv (run 2026...)"; its
        control characters escaped."""
        name = printable(self.file_name or "?")
        return f"{name} (run {self.run})" if self.run else name

    def shown(self) -> KaggleSubmission:
        """This row fit for a terminal: every text from the server with its control characters
        escaped (a message holding terminal escapes cannot retitle or recolour one)."""
        return replace(self, **{name: printable(value)[:500] for name in (
            "ref", "date", "file_name", "description", "status", "public_score", "error")
            if isinstance(value := getattr(self, name), str)})


class NotUploaded(WorkbenchError):
    """The checker refused the file, so nothing was sent; ``check`` holds every problem."""

    def __init__(self, path: Path, check: SubmissionCheck) -> None:
        count = len(check.problems)
        super().__init__(f"{path} was not uploaded: {check.problems[0]} ({count} problem"
                         f"{'s' if count > 1 else ''} in all; the checker lists each).")
        self.check = check


@dataclass(frozen=True)
class Standing:
    """Where a public score places on the public leaderboard (a tie shares the place)."""

    position: int | None  # None: below every entry read
    read: int  # leaderboard entries read

    def __str__(self) -> str:
        if self.position is None:
            return f"below the top {self.read:,} of the public leaderboard"
        return f"#{self.position:,} on the public leaderboard"


@dataclass(frozen=True)
class Quota:
    """The day's submissions: Kaggle's daily limit (None: unknown) and how many of today's
    (UTC, when Kaggle's day turns) the history holds."""

    limit: int | None
    used: int

    @property
    def left(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)

    def __str__(self) -> str:
        if self.limit is None:
            return f"{self.used} sent today (Kaggle's daily limit unknown)"
        return (f"{self.left} of {self.limit} submissions left today (Kaggle's day ends at "
                "00:00 UTC)")


class AlreadySent(WorkbenchError):
    """This very file (by content) went to this competition before; ``entry`` is its note."""

    def __init__(self, path: Path, entry: dict) -> None:
        when = entry.get("sent")
        day = (time.strftime("%Y-%m-%d %H:%M", time.localtime(when))
               if isinstance(when, (int, float)) else "earlier")
        super().__init__(f"{printable(str(path))} was sent to Kaggle already ({day}, as "
                         f"'{printable(str(entry.get('description', '')))[:80]}'); sending it "
                         "again uses another of the day's submissions for the same score",
                         ("send it again anyway (", Option("again"), ")."))
        self.entry = entry


def credentials_source() -> str:
    """Where the client will find credentials (never their values); raises if nowhere, or if a
    file the client will read is broken (cut short, not JSON, a list, a key missing)."""
    config_dir = _config_dir()
    kaggle_json = config_dir / "kaggle.json"
    saved = _check_kaggle_json(kaggle_json) if os.path.lexists(kaggle_json) else None
    token = os.environ.get("KAGGLE_API_TOKEN")
    if token:
        if os.path.exists(token):
            _check_token_file(Path(token), "the file KAGGLE_API_TOKEN names")
        return "KAGGLE_API_TOKEN"
    for name in ("access_token", "access_token.txt"):
        path = Path.home() / ".kaggle" / name
        if os.path.lexists(path) and _check_token_file(path, printable(str(path))):
            return str(path)
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return "KAGGLE_USERNAME/KAGGLE_KEY"
    if saved is not None:
        for key in ("username", "key"):
            value = os.environ.get(f"KAGGLE_{key.upper()}") or saved.get(key)
            if not isinstance(value, str) or not value.strip():
                raise WorkbenchError(f"{printable(str(kaggle_json))} has no \"{key}\" (the "
                                     "client needs \"username\" and \"key\"); download a new "
                                     "kaggle.json from https://www.kaggle.com/settings (API "
                                     "section) to replace it, or set KAGGLE_API_TOKEN.")
        return str(kaggle_json)
    raise WorkbenchError(f"no Kaggle credentials found (looked at KAGGLE_API_TOKEN, "
                         f"KAGGLE_USERNAME/KAGGLE_KEY and {config_dir}); {TOKEN_HELP}.")


def _config_dir() -> Path:
    """The folder the client reads kaggle.json from: $KAGGLE_CONFIG_DIR, else ~/.kaggle, else
    (on Linux, when ~/.kaggle does not exist) $XDG_CONFIG_HOME/kaggle."""
    if os.environ.get("KAGGLE_CONFIG_DIR"):
        folder = Path(os.environ["KAGGLE_CONFIG_DIR"]).expanduser()
        if os.path.exists(folder) and not folder.is_dir():
            raise WorkbenchError(f"KAGGLE_CONFIG_DIR is {printable(str(folder))}, which is a "
                                 "file, not a folder; point it at the folder that holds "
                                 "kaggle.json.")
        return folder
    home = Path.home() / ".kaggle"
    if sys.platform.startswith("linux") and not home.exists():
        return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "kaggle"
    return home


def _read_secret_file(path: Path, what: str) -> str:
    """The text of a credentials file, or WorkbenchError naming it (never its content)."""
    if not path.is_file():
        raise WorkbenchError(f"{what} is not a file; replace it with the token file from "
                             "https://www.kaggle.com/settings (API section).")
    try:
        data = read_small(path, SECRET_LIMIT)
    except ValueError as error:  # a FIFO, a device, too large, unreadable: never waited on
        reason = str(error).removeprefix(f"{path.name} ")
        raise WorkbenchError(f"{what} {reason}; fix its permissions (chmod 600) or replace it "
                             "with the token file from https://www.kaggle.com/settings (API "
                             "section).") from None
    if data is None:
        raise WorkbenchError(f"{what} is gone; download a new token from "
                             "https://www.kaggle.com/settings (API section).")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise WorkbenchError(f"{what} is not text (damaged); download a new token from "
                             "https://www.kaggle.com/settings (API section) to replace "
                             "it.") from None


def _check_token_file(path: Path, what: str) -> bool:
    """Whether an access-token file holds a token (the client skips an empty one)."""
    return bool(_read_secret_file(path, what).strip())


def _check_kaggle_json(path: Path) -> dict:
    """kaggle.json as the client will read it; the client fails obscurely on anything that is
    not a JSON object (a list crashes it, a cut-short file reads as 'no credentials')."""
    text = _read_secret_file(path, printable(str(path)))
    try:
        saved = parse_json(text, path.name)
    except ValueError:
        saved = _BROKEN
    if not isinstance(saved, dict):
        problem = ("is not valid JSON (cut short or damaged)" if saved is _BROKEN else
                   f"holds {type(saved).__name__ if saved is not None else 'null'}, not "
                   "{\"username\": ..., \"key\": ...}")
        raise WorkbenchError(f"{printable(str(path))} {problem}; download a new kaggle.json "
                             "from https://www.kaggle.com/settings (API section) to replace it, "
                             "or delete it and set KAGGLE_API_TOKEN.")
    return saved


_BROKEN = object()


def _api():
    credentials_source()
    _install_timeout()
    with contextlib.redirect_stdout(io.StringIO()):
        from kaggle.api.kaggle_api_extended import KaggleApi

        api = KaggleApi()
        try:
            api.authenticate()
        except SystemExit:
            raise WorkbenchError(f"Kaggle did not accept the credentials; {TOKEN_HELP}.") from None
    return api


class _Transient(Exception):
    """A fault worth another try (429, 5xx, timeout, dropped connection)."""

    def sentence(self, tries: int) -> str:
        """The one sentence to give when no try is left."""
        return str(self).replace("{tries}", "1 try" if tries == 1 else f"{tries} tries")


class _Refused(WorkbenchError):
    """Kaggle answered no (a 4xx other than 429): nothing was done."""


def _attempt(what: str, competition: str, function: Callable):
    """One client call, quiet. Failures are one sentence: _Refused (a 4xx), _Transient (worth
    another try), or WorkbenchError (an answer the client could not read)."""
    import requests

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return function()
    except requests.HTTPError as error:
        status = error.response.status_code if error.response is not None else None
        message = _http_message(what, competition, status, error)
        if status == 429 or (status or 0) >= 500:
            raise _Transient(message) from None
        raise _Refused(message) from None
    except (requests.ConnectionError, requests.Timeout,
            requests.exceptions.ChunkedEncodingError) as error:
        kind = ("Kaggle timed out" if isinstance(error, requests.Timeout) else
                "the connection broke mid-answer"
                if isinstance(error, requests.exceptions.ChunkedEncodingError)
                else "could not connect to Kaggle")
        raise _Transient(f"{what} failed: {kind} after {{tries}}; check the network and try "
                         "again.") from None
    except ValueError as error:  # a body the client could not parse
        raise WorkbenchError(f"{what} failed: Kaggle sent an answer the client could not "
                             f"read ({str(error)[:80]}); try again later.") from None


def _call(what: str, competition: str, function: Callable):
    """An idempotent client call, retrying transient faults a bounded number of times."""
    for attempt in range(RETRIES + 1):
        try:
            return _attempt(what, competition, function)
        except _Transient as fault:
            if attempt == RETRIES:
                raise WorkbenchError(fault.sentence(attempt + 1)) from None
            time.sleep(BACKOFF_S * 2 ** attempt)


_timeout_lock = threading.Lock()
_timeout_installed = False


def _install_timeout() -> None:
    """Give HTTP calls made without a timeout one of TIMEOUT_S seconds: kaggle 2.2.5 sets none,
    so a silent server would hang a call forever. Installed once per process (patching it per
    call raced when two of the app's workers called Kaggle at once); requests made with their
    own timeout keep it."""
    global _timeout_installed
    with _timeout_lock:
        if _timeout_installed:
            return
        from requests.adapters import HTTPAdapter

        original = HTTPAdapter.send

        def send(self, request, stream=False, timeout=None, **kwargs):
            return original(self, request, stream=stream, timeout=timeout or TIMEOUT_S, **kwargs)

        HTTPAdapter.send = send  # type: ignore[method-assign, assignment]  # once, for all
        _timeout_installed = True


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
    fix = fixes.get(status or 0, "Kaggle is having trouble: try again later" if (status or 0) >= 500
                    else "try again later")
    return f"{what} failed ({status or 'error'}): {reason}; {fix}."


def _reason(error) -> str:
    response = error.response
    try:
        body = response.json()
        reason = body.get("errorDescription") or body.get("message") or body.get("error")
    except (ValueError, AttributeError):
        reason = None
    if not reason and response is not None:  # an error Response is falsy: test against None
        reason = response.reason  # the status line's reason; args[0] also holds the URL
    elif not reason and error.args:
        reason = str(error.args[0])
    reason = reason or "no reason given"
    return " ".join(str(reason).split())[:200].rstrip(".")


def _submission(item) -> KaggleSubmission:
    """A history row, its texts as the server sent them (matched against what was sent); the
    faces escape them when they show them (``KaggleSubmission.shown``)."""
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
    """The competition's submission history, newest first; a row sent from here names the run
    and file it came from (sent.json), one sent from elsewhere what Kaggle knows."""
    api = _api()
    items = _call("listing submissions", competition,
                  lambda: api.competition_submissions(competition)) or []
    sent = [entry for entry in _sent() if entry.get("competition") == competition]
    return [_with_origin(_submission(item), sent) for item in items]


def _with_origin(found: KaggleSubmission, sent: list[dict]) -> KaggleSubmission:
    """``found`` with the run and file it was sent from, if sent.json knows: by Kaggle's ref,
    else (a submission whose ref never came back) by file name and message, newest first."""
    entry = next((e for e in sent if found.ref and e.get("ref") == found.ref), None) or next(
        (e for e in reversed(sent) if not e.get("ref") and e.get("file_name") == found.file_name
         and e.get("description") == found.description), None)
    if entry is None:
        return found
    run, path = entry.get("run"), entry.get("path")
    return replace(found, run=printable(run) if isinstance(run, str) and run else None,
                   path=printable(path) if isinstance(path, str) and path else None)


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
    again: bool = False,
) -> KaggleSubmission | None:
    """Check ``path``, upload it once, and (``wait``) poll until Kaggle has scored it.

    ``test_ids`` default to the competition's on Kaggle (1..28,000 for digit-recognizer).
    Nothing invalid is uploaded (NotUploaded), and nothing twice: a failed attempt is looked up
    in the history before another (module doc). What was sent is noted in sent.json. Returns
    the submission as last seen, naming its run (None if it could not be found in the history).
    A file whose content was sent before is refused (AlreadySent) unless ``again``.
    """
    check_wait(timeout_s, poll_s)
    if test_ids is None:
        test_ids = kaggle_test_set(competition).ids
    check = check_submission_file(path, test_ids)
    if not check.ok:
        raise NotUploaded(path, check)
    if not message.strip():
        raise WorkbenchError("a submission needs a message (-m); say what this one is.")
    api = _api()
    attempt = _Attempt(competition, path, message)
    latest = attempt.earlier(api)
    if latest is None:
        before = _sent_entry(attempt.digest, competition)  # the content hashed once, here
        if before is not None and not again:
            raise AlreadySent(path, before)
        latest = attempt.send(api)
    origin = attempt.note_sent(latest)
    started = time.time()
    while wait and latest is not None and latest.status == "PENDING":
        if on_status:
            on_status(replace(latest, **origin))
        if time.time() - started > timeout_s:
            break
        time.sleep(poll_s)
        # By Kaggle's ref: the history may list it late, and may hold others of the same name.
        latest = _find(competition, api, path.name, message, ref=latest.ref) or latest
    return None if latest is None else replace(latest, **origin)


def check_wait(timeout_s: object, poll_s: object = 5.0) -> None:
    """How long to wait for a score, and how often to ask: finite seconds, 0 or more."""
    for name, value, option in (("the time to wait for a score", timeout_s, Option("timeout")),
                                ("the poll interval", poll_s, None)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value < 0:
            raise WorkbenchError(f"{name} must be a finite number of seconds >= 0 (got {value})",
                                 ("give such a number (", option, ").") if option else
                                 "give such a number.")


def sent_before(path: Path, competition: str = COMPETITION) -> dict | None:
    """The newest note of this file's content sent to ``competition`` from here, if any."""
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
    return _sent_entry(digest, competition)


def _sent_entry(digest: str, competition: str) -> dict | None:
    """The newest note in sent.json of content ``digest`` sent to ``competition``."""
    return next((entry for entry in reversed(_sent()) if entry.get("sha256") == digest
                 and entry.get("competition") == competition), None)


def quota(competition: str = COMPETITION) -> Quota:
    """Today's submissions against Kaggle's daily limit, read through the client (the
    competition's listing holds the limit; the history, today's submissions)."""
    api = _api()
    listed = _call("reading the competition", competition,
                   lambda: api.competitions_list(search=competition)) or []
    found = [item for item in getattr(listed, "competitions", listed) or []
             if str(getattr(item, "ref", "")).rstrip("/").rsplit("/", 1)[-1] == competition]
    limit = getattr(found[0], "max_daily_submissions", None) if found else None
    items = _call("listing submissions", competition,
                  lambda: api.competition_submissions(competition)) or []
    today = datetime.now(UTC).date()
    days = [_utc(getattr(item, "date", None)) for item in items]
    used = sum(1 for date in days if date is not None and date.date() == today)
    return Quota(limit if isinstance(limit, int) and limit > 0 else None, used)


def _utc(date) -> datetime | None:
    """A history date as an aware UTC datetime (the client's are naive UTC datetimes or ISO
    text); None if it cannot be read."""
    if isinstance(date, str):
        with contextlib.suppress(ValueError):
            date = datetime.fromisoformat(date.replace("Z", "+00:00"))
    if not isinstance(date, datetime):
        return None
    return date.replace(tzinfo=UTC) if date.tzinfo is None else date.astimezone(UTC)


def _score(text) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def standing(score: str, competition: str = COMPETITION) -> Standing:
    """Where ``score`` places on the public leaderboard, read best first (one page at a time,
    until a worse score; LEADERBOARD_PAGES pages at most) through the official client's
    leaderboard call: the request ``competition_leaderboard_view`` makes, whose next-page token
    that method prints instead of returning."""
    from kagglesdk.competitions.types.competition_api_service import ApiGetLeaderboardRequest

    value = _score(score)
    if value is None:
        raise WorkbenchError(f"'{printable(str(score))[:40]}' is not a score to place on the "
                             "leaderboard.")
    api = _api()

    def page(token: str):
        with api.build_kaggle_client() as client:
            request = ApiGetLeaderboardRequest()
            request.competition_name = competition
            request.page_size = LEADERBOARD_PAGE
            request.page_token = token
            return client.competitions.competition_api_client.get_leaderboard(request)

    ahead = read = 0
    token, higher_is_better = "", None
    for _ in range(LEADERBOARD_PAGES):
        response = _call("reading the leaderboard", competition,
                         lambda token=token: page(token))
        scores = [found for found in (_score(getattr(entry, "score", None))
                                      for entry in response.submissions or [])
                  if found is not None]
        if higher_is_better is None and scores:  # the list is best first
            higher_is_better = scores[0] >= scores[-1]
        for other in scores:
            read += 1
            if not (other > value if higher_is_better else other < value):
                return Standing(ahead + 1, read)
            ahead += 1
        token = response.next_page_token
        if not token:
            return Standing(ahead + 1, read)
    return Standing(None, read)


def outcome(result: KaggleSubmission | None, competition: str = COMPETITION) -> str:
    """The sentence that states how a submission ended, naming its file and run: scored (with
    its place on the public leaderboard, or why that is unknown), refused, or still waiting."""
    if result is None:
        return "Submitted; it is not in the submission history yet (list it again later)."
    result = result.shown()
    if result.status == "ERROR":
        return f"{result.source}: Kaggle could not score it: {result.error or 'no reason given'}."
    if result.status != "COMPLETE":
        return f"{result.source}: {result.status}, not scored yet; the history will show its score."
    line = f"{result.source} scored: public score {result.public_score or '-'}"
    try:
        return f"{line}, {standing(result.public_score or '', competition)}."
    except WorkbenchError as error:
        return f"{line} (no leaderboard position: {str(error).rstrip('.')})."


def _find(competition: str, api, file_name: str, message: str,
          since: float | None = None, ref: str = "") -> KaggleSubmission | None:
    """The submission Kaggle gave ``ref``, if given; else the newest of ``file_name`` with
    ``message`` (made after ``since``, less the clock slack, if given); a submission whose
    date cannot be read counts as recent."""
    items = _call("checking the submission", competition,
                  lambda: api.competition_submissions(competition)) or []
    for item in items:
        found = _submission(item)
        if ref:
            if found.ref == ref:
                return found
            continue
        if found.file_name == file_name and found.description == message and (
                since is None or _made_after(getattr(item, "date", None), since)):
            return found
    return None


def _made_after(date, since: float) -> bool:
    when = _utc(date)
    return when is None or when.timestamp() >= since - CLOCK_SLACK_S


class _Attempt:
    """One submit of one file with one message, and its journal entry while its outcome is
    unknown (keyed by competition, file name, content and message; no credentials)."""

    def __init__(self, competition: str, path: Path, message: str) -> None:
        self.path = path
        self.competition, self.message = competition, message
        self.digest = hashlib.sha256(path.read_bytes()).hexdigest()
        self.key = hashlib.sha256(json.dumps(
            [competition, path.name, self.digest, message]).encode()).hexdigest()[:32]

    def note_sent(self, found: KaggleSubmission | None) -> dict:
        """Note in sent.json which file, run and content went to Kaggle under this message
        (with Kaggle's ref, if the history showed it); the run and path, as fields of a
        KaggleSubmission."""
        origin = {"run": run_of(self.path), "path": str(self.path)}
        entry = {"competition": self.competition, "ref": found.ref if found else "",
                 "file_name": self.path.name, "description": self.message,
                 "sha256": self.digest, "sent": time.time(), **origin}
        with contextlib.suppress(OSError), locked(_sent_path().with_name(".sent.lock")):
            entries = [e for e in _sent() if not (found and found.ref and e.get("ref") == found.ref
                                                  and e.get("competition") == self.competition)]
            write_atomic(_sent_path(), json.dumps((entries + [entry])[-SENT_KEPT:]).encode())
        return origin

    def earlier(self, api) -> KaggleSubmission | None:
        """The submission an earlier, unfinished attempt of this same submit made, if Kaggle
        recorded it; the journal entry is cleared once the history has answered."""
        started = _journal().get(self.key)
        if not isinstance(started, (int, float)):
            return None
        found = _find(self.competition, api, self.path.name, self.message, since=started)
        self._forget()
        return found

    def send(self, api) -> KaggleSubmission | None:
        """Upload and create the submission. After a failure whose outcome is unknown (a
        timeout, a 5xx, an unreadable answer), look it up before trying again (RETRIES times
        at most); the journal entry stays until the outcome is known."""
        first = time.time()
        self._remember(first)
        for attempt in range(RETRIES + 1):
            try:
                response = _attempt("submitting", self.competition, lambda: api.competition_submit(
                    str(self.path), self.message, self.competition, quiet=True))
            except _Refused:
                self._forget()  # Kaggle said no (limit reached, rules, token): nothing made
                raise
            except (_Transient, WorkbenchError) as fault:
                sentence = (fault.sentence(attempt + 1) if isinstance(fault, _Transient)
                            else str(fault))
                found = self._look(api, first, sentence)
                if found is not None:
                    self._forget()
                    return found
                if attempt == RETRIES or not isinstance(fault, _Transient):
                    raise WorkbenchError(sentence) from None
                time.sleep(BACKOFF_S * 2 ** attempt)
                continue
            self._forget()
            if getattr(response, "message", "") == api.COMPETITION_SUBMIT_UPLOAD_FAILED_MESSAGE:
                raise WorkbenchError(f"submitting failed: the upload of {self.path.name} did "
                                     "not complete; try again.")
            ref = str(getattr(response, "ref", "") or "")
            if not ref or ref == "0":
                return _find(self.competition, api, self.path.name, self.message)
            # Made: Kaggle named it. The history may not list it yet; until it does, it waits.
            return _find(self.competition, api, self.path.name, self.message, ref=ref) or \
                KaggleSubmission(ref, "", self.path.name, self.message, "PENDING", None, None)
        return None  # not reached: the last attempt returns or raises

    def _look(self, api, since: float, failure: str) -> KaggleSubmission | None:
        """The submission if Kaggle recorded it after all; if the history cannot be read
        either, stop (the journal entry stays, so the next command looks first)."""
        try:
            return _find(self.competition, api, self.path.name, self.message, since=since)
        except WorkbenchError:
            raise WorkbenchError(f"{failure.rstrip('.')}, and the submission history could "
                                 "not be read to see whether Kaggle recorded it; run the same "
                                 "command again: it looks before it submits, so it will not "
                                 "submit twice.") from None

    def _remember(self, started: float) -> None:
        _write_journal({**_journal(), self.key: started})

    def _forget(self) -> None:
        entries = _journal()
        if entries.pop(self.key, None) is not None:
            _write_journal(entries)


def _journal_path() -> Path:
    return cache_dir() / "kaggle" / "pending.json"


def _journal() -> dict:
    """Unfinished submits: key -> start time. An unreadable journal counts as empty."""
    entries = _saved(_journal_path())
    return entries if isinstance(entries, dict) else {}


def _sent_path() -> Path:
    return cache_dir() / "kaggle" / "sent.json"


def _sent() -> list[dict]:
    """What was sent from here, oldest first; an unreadable log counts as empty (the history
    then shows what Kaggle knows)."""
    entries = _saved(_sent_path())
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _saved(path: Path) -> object:
    """The JSON in one of this module's own files; None if it is missing or cannot be read as
    JSON (a FIFO, a device, too large, damaged, nested too deep): both are advisory."""
    try:
        data = read_small(path, SENT_LIMIT)
        return None if data is None else parse_json(data, path.name)
    except ValueError:
        return None


def _write_journal(entries: dict) -> None:
    """Best effort: a cache folder that cannot be written must not stop a submission (only
    the next command's look-first is lost)."""
    with contextlib.suppress(OSError):
        write_atomic(_journal_path(), json.dumps(entries).encode())


def download(competition: str = COMPETITION, dest: Path | None = None) -> Path:
    """Download the competition zip into ``dest`` (default: the workspace's data/, where
    every command finds it) and check that it loads.

    The client writes into a temporary folder beside ``dest``; only a complete zip (every
    member's CRC checked) replaces the one already there, so a broken download loses nothing."""
    api = _api()
    dest = dest or workspace.root() / "data"
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
