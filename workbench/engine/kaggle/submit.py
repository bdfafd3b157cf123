"""Submitting a file to Kaggle: checked first, uploaded once, scored.

A submission is not idempotent: a create call that timed out or got a 5xx may still have been
recorded. So ``submit`` never repeats it blindly: after a failure it looks the submission up in
the history (same file name and message, made after the attempt began) and tries again only if
it is not there. An attempt whose outcome is unknown is journalled (``ledger``), so the same
command run again looks first too, and each submission made here is noted, so that the same
file is not sent twice by mistake.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from workbench.engine.errors import Option, WorkbenchError, printable
from workbench.engine.kaggle import calls, ledger
from workbench.engine.kaggle.history import KaggleSubmission, find
from workbench.engine.kaggle.leaderboard import standing
from workbench.engine.results.submission import (
    COMPETITION,
    SubmissionCheck,
    check_submission_file,
    kaggle_test_set,
    run_of,
)


class NotUploaded(WorkbenchError):
    """The checker refused the file, so nothing was sent; ``check`` holds every problem."""

    def __init__(self, path: Path, check: SubmissionCheck) -> None:
        count = len(check.problems)
        super().__init__(f"{path} was not uploaded: {check.problems[0]} ({count} problem"
                         f"{'s' if count > 1 else ''} in all; the checker lists each).")
        self.check = check


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
    api = calls.api()
    attempt = _Attempt(competition, path, message)
    latest = attempt.earlier(api)
    if latest is None:
        before = ledger.sent_entry(attempt.digest, competition)  # the content hashed once, here
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
        latest = find(competition, api, path.name, message, ref=latest.ref) or latest
    return None if latest is None else replace(latest, **origin)


def check_wait(timeout_s: object, poll_s: object = 5.0) -> None:
    """How long to wait for a score, and how often to ask: finite seconds, 0 or more."""
    for name, value, option in (("the time to wait for a score", timeout_s, Option("timeout")),
                                ("the poll interval", poll_s, Option("poll"))):
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value < 0:
            raise WorkbenchError(f"{name} must be a finite number of seconds >= 0 (got {value})",
                                 ("give such a number (", option, ")."))


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
        ledger.note_sent(entry)
        return origin

    def earlier(self, api) -> KaggleSubmission | None:
        """The submission an earlier, unfinished attempt of this same submit made, if Kaggle
        recorded it; the journal entry is cleared once the history has answered."""
        started = ledger.journal().get(self.key)
        if not isinstance(started, (int, float)):
            return None
        found = find(self.competition, api, self.path.name, self.message, since=started)
        self._forget()
        return found

    def send(self, api) -> KaggleSubmission | None:
        """Upload and create the submission. After a failure whose outcome is unknown (a
        timeout, a 5xx, an unreadable answer), look it up before trying again (RETRIES times at
        most); the journal entry stays until the outcome is known."""
        first = time.time()
        self._remember(first)
        for attempt in range(calls.RETRIES + 1):
            try:
                response = calls.call_once(
                    "submitting", self.competition, lambda: api.competition_submit(
                        str(self.path), self.message, self.competition, quiet=True))
            except calls.Refused:
                self._forget()  # Kaggle said no (limit reached, rules, token): nothing made
                raise
            except (calls.Transient, WorkbenchError) as fault:
                sentence = (fault.sentence(attempt + 1) if isinstance(fault, calls.Transient)
                            else str(fault))
                found = self._look(api, first, sentence)
                if found is not None:
                    self._forget()
                    return found
                if attempt == calls.RETRIES or not isinstance(fault, calls.Transient):
                    raise WorkbenchError(sentence) from None
                time.sleep(calls.BACKOFF_S * 2 ** attempt)
                continue
            self._forget()
            if getattr(response, "message", "") == api.COMPETITION_SUBMIT_UPLOAD_FAILED_MESSAGE:
                raise WorkbenchError(f"submitting failed: the upload of {self.path.name} did "
                                     "not complete; try again.")
            ref = str(getattr(response, "ref", "") or "")
            if not ref or ref == "0":
                return find(self.competition, api, self.path.name, self.message)
            # Made: Kaggle named it. The history may not list it yet; until it does, it waits.
            return find(self.competition, api, self.path.name, self.message, ref=ref) or \
                KaggleSubmission(ref, "", self.path.name, self.message, "PENDING", None, None)
        return None  # not reached: the last attempt returns or raises

    def _look(self, api, since: float, failure: str) -> KaggleSubmission | None:
        """The submission if Kaggle recorded it after all; if the history cannot be read
        either, stop (the journal entry stays, so the next command looks first)."""
        try:
            return find(self.competition, api, self.path.name, self.message, since=since)
        except WorkbenchError:
            raise WorkbenchError(f"{failure.rstrip('.')}, and the submission history could "
                                 "not be read to see whether Kaggle recorded it; run the same "
                                 "command again: it looks before it submits, so it will not "
                                 "submit twice.") from None

    def _remember(self, started: float) -> None:
        ledger.write_journal({**ledger.journal(), self.key: started})

    def _forget(self) -> None:
        entries = ledger.journal()
        if entries.pop(self.key, None) is not None:
            ledger.write_journal(entries)

