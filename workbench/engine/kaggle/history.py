"""The competition's submission history, each row naming the run and file it was sent from
when it was sent from here (``ledger``)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from workbench.engine.errors import printable
from workbench.engine.kaggle import calls, ledger
from workbench.engine.results.submission import COMPETITION

CLOCK_SLACK_S = 120.0  # Kaggle's clock may run behind ours: a submission this much "older" is ours


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
    api = calls.api()
    items = calls.call("listing submissions", competition,
                  lambda: api.competition_submissions(competition)) or []
    sent = [entry for entry in ledger.sent() if entry.get("competition") == competition]
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


def find(competition: str, api, file_name: str, message: str,
          since: float | None = None, ref: str = "") -> KaggleSubmission | None:
    """The submission Kaggle gave ``ref``, if given; else the newest of ``file_name`` with
    ``message`` (made after ``since``, less the clock slack, if given); a submission whose
    date cannot be read counts as recent."""
    items = calls.call("checking the submission", competition,
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
    when = utc(date)
    return when is None or when.timestamp() >= since - CLOCK_SLACK_S


def utc(date) -> datetime | None:
    """A history date as an aware UTC datetime (the client's are naive UTC datetimes or ISO
    text); None if it cannot be read."""
    if isinstance(date, str):
        with contextlib.suppress(ValueError):
            date = datetime.fromisoformat(date.replace("Z", "+00:00"))
    if not isinstance(date, datetime):
        return None
    return date.replace(tzinfo=UTC) if date.tzinfo is None else date.astimezone(UTC)

