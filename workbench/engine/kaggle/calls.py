"""Calls through the official ``kaggle`` client: the client itself, imported lazily (``import
kaggle`` authenticates at import time, so only after the credentials are checked), each call
quiet and with a timeout, transient faults (429, 5xx, timeouts, dropped connections) of
idempotent calls retried a bounded number of times, and every failure one WorkbenchError
sentence with the server's reason and the fix."""

from __future__ import annotations

import contextlib
import io
import threading
import time
from collections.abc import Callable

from workbench.engine.errors import WorkbenchError
from workbench.engine.kaggle.account import TOKEN_HELP, credentials_source

RETRIES = 3
BACKOFF_S = 1.0
TIMEOUT_S = 60.0


def api():
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


class Transient(Exception):
    """A fault worth another try (429, 5xx, timeout, dropped connection)."""

    def sentence(self, tries: int) -> str:
        """The one sentence to give when no try is left."""
        return str(self).replace("{tries}", "1 try" if tries == 1 else f"{tries} tries")


class Refused(WorkbenchError):
    """Kaggle answered no (a 4xx other than 429): nothing was done."""


def call_once(what: str, competition: str, function: Callable):
    """One client call, quiet. Failures are one sentence: Refused (a 4xx), Transient (worth
    another try), or WorkbenchError (an answer the client could not read)."""
    import requests

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return function()
    except requests.HTTPError as error:
        status = error.response.status_code if error.response is not None else None
        message = _http_message(what, competition, status, error)
        if status == 429 or (status or 0) >= 500:
            raise Transient(message) from None
        raise Refused(message) from None
    except (requests.ConnectionError, requests.Timeout,
            requests.exceptions.ChunkedEncodingError) as error:
        kind = ("Kaggle timed out" if isinstance(error, requests.Timeout) else
                "the connection broke mid-answer"
                if isinstance(error, requests.exceptions.ChunkedEncodingError)
                else "could not connect to Kaggle")
        raise Transient(f"{what} failed: {kind} after {{tries}}; check the network and try "
                         "again.") from None
    except ValueError as error:  # a body the client could not parse
        raise WorkbenchError(f"{what} failed: Kaggle sent an answer the client could not "
                             f"read ({str(error)[:80]}); try again later.") from None


def call(what: str, competition: str, function: Callable):
    """An idempotent client call, retrying transient faults a bounded number of times."""
    for attempt in range(RETRIES + 1):
        try:
            return call_once(what, competition, function)
        except Transient as fault:
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

