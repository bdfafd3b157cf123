"""A fake Kaggle API on 127.0.0.1 speaking what the official client (kaggle 2.2.5) sends.

Routes: POST /api/v1/competitions.CompetitionApiService/{StartSubmissionUpload,
CreateSubmission, ListSubmissions, GetLeaderboard, DownloadDataFiles},
POST /api/v1/security.OAuthService/IntrospectToken (an access token is valid when it equals
``token``), PUT /upload/<token>, GET /files/<name>. Requests may come with absolute URLs
(through HTTP_PROXY), as a proxied client sends them.

The leaderboard is ``leaderboard`` (public scores, best first), served in pages of the
``pageSize`` asked for (at most ``max_page``) with a ``nextPageToken``, as Kaggle serves it.

Faults: ``fail`` answers a call with an error instead of doing it, or (``after=True``) does it
and then answers with the error, as a gateway that lost Kaggle's answer does; with ``reason``
the status line carries that reason and the body is empty (no JSON to read it from);
``delay_s`` holds a call before doing it, ``answer_delay_s`` after doing it (a create that
lands, then times out); ``hold`` keeps a call waiting until the test sets its event (a request
in flight, no timing).
Submissions are dated now (UTC), as Kaggle dates them, or ``date`` if given (for snapshots).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

TRUNCATED = b"<truncated>"  # as a fault body: promise a long answer, send half, hang up


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A client that gave up (timeout) is expected here: no traceback."""


class FakeKaggle:
    def __init__(self, data_zip: bytes = b"", pending_polls: int = 1, score: str = "0.99123",
                 token: str = "fake-access-token-42", leaderboard: list[str] | None = None,
                 max_page: int = 50, date: str | None = None, max_daily: int = 5,
                 listing_lag: int = 0, error: str | None = None):
        self.data_zip = data_zip
        self.token = token
        self.pending_polls = pending_polls
        self.score = score
        self.leaderboard = leaderboard or []
        self.max_page = max_page
        self.date = date
        self.max_daily = max_daily  # the competition's daily submission limit
        self.listing_lag = listing_lag  # history listings before a new submission shows
        self.error = error  # set: submissions end as ERROR with this reason
        self.uploads: dict[str, bytes] = {}
        self.submissions: list[dict] = []
        self.requests: list[tuple[str, str, dict]] = []  # method, route, JSON body
        self.faults: dict[str, list[tuple[int, object, bool, str | None]]] = {}  # method -> answers
        self.delay_s: dict[str, float] = {}
        self.answer_delay_s: dict[str, float] = {}
        self.hold: dict[str, threading.Event] = {}  # method -> answered once the event is set
        self.truncate_files = 0  # how many file downloads to cut short
        self._started: dict[str, str] = {}
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeKaggle:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, method: str, status: int, body: object = None, times: int = 1,
             after: bool = False, reason: str | None = None) -> None:
        """Answer the next ``times`` calls of ``method`` with ``status`` and ``body``; with
        ``after``, do what the call asks first; with ``reason``, that reason on the status line
        and no body."""
        self.faults.setdefault(method, []).extend([(status, body, after, reason)] * times)

    def calls(self, method: str) -> int:
        return sum(1 for _, route, _ in self.requests if route == method)

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: object = b"", headers: dict | None = None,
                      truncate: bool = False, reason: str | None = None):
                override, self.override = getattr(self, "override", None), None
                if override is not None:
                    self._answer(*override)
                    return
                time.sleep(fake.answer_delay_s.get(getattr(self, "method", ""), 0))
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status, reason)
                if not isinstance(body, bytes) or truncate:
                    self.send_header("Content-Type", "application/json")
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[:len(data) // 2] if truncate else data)
                if truncate:
                    self.wfile.flush()
                    self.close_connection = True

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_PUT(self):
                path = urlsplit(self.path).path
                self.method = "PUT"
                fake.uploads[path.rsplit("/", 1)[-1]] = self._body()
                fake.requests.append(("PUT", path, {}))
                self._send(200, {})

            def do_GET(self):
                path = urlsplit(self.path).path
                self.method = "GET"
                fake.requests.append(("GET", path, {}))
                truncate = fake.truncate_files > 0
                fake.truncate_files -= truncate
                self._send(200, fake.data_zip, {"Last-Modified": formatdate(usegmt=True)},
                           truncate=truncate)

            def do_POST(self):
                path = urlsplit(self.path).path
                body = json.loads(self._body() or b"{}")
                method = path.rsplit("/", 1)[-1]
                self.method = method
                fake.requests.append(("POST", method, body))
                time.sleep(fake.delay_s.get(method, 0))
                if method in fake.hold:
                    fake.hold[method].wait(timeout=60)
                handler = getattr(self, f"_{method}", None)
                if fake.faults.get(method):
                    status, answer, after, reason = fake.faults[method].pop(0)
                    if not (after and handler):
                        self._answer(status, answer, reason)
                        return
                    self.override = (status, answer, reason)
                if handler is None:
                    self._send(404, {"code": 404, "message": f"no route {method}"})
                else:
                    handler(body)

            def _answer(self, status: int, answer: object, reason: str | None = None) -> None:
                if answer is TRUNCATED:
                    self._send(status, {"submissions": [], "padding": "x" * 200}, truncate=True)
                elif reason is not None:
                    self._send(status, b"", reason=reason)
                else:
                    self._send(status, answer if answer is not None else {})

            def _IntrospectToken(self, body):
                active = body.get("token") == fake.token
                self._send(200, {"active": active, "username": "tester" if active else ""})

            def _StartSubmissionUpload(self, body):
                token = f"blob-{len(fake.uploads) + len(fake._started) + 1}"
                fake._started[token] = body.get("fileName", "")
                self._send(200, {"token": token, "createUrl": f"{fake.url}/upload/{token}"})

            def _CreateSubmission(self, body):
                token = body.get("blobFileTokens")
                ref = len(fake.submissions) + 1
                fake.submissions.insert(0, {
                    "ref": ref,
                    "date": fake.date or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "description": body.get("submissionDescription", ""),
                    "fileName": fake._started.get(token, ""), "status": "PENDING",
                    "polls": 0, "hidden": fake.listing_lag})
                self._send(200, {"message": "Successfully submitted to Digit Recognizer",
                                 "ref": ref})

            def _ListSubmissions(self, body):
                shown = []
                for item in fake.submissions:
                    if item.get("hidden"):
                        item["hidden"] -= 1
                        continue
                    if item["status"] == "PENDING" and fake.error is not None:
                        item["status"], item["errorDescription"] = "ERROR", fake.error
                    elif item["status"] == "PENDING":
                        item["polls"] += 1
                        if item["polls"] > fake.pending_polls:
                            item["status"], item["publicScore"] = "COMPLETE", fake.score
                    shown.append({k: v for k, v in item.items() if k not in ("polls", "hidden")})
                self._send(200, {"submissions": shown})

            def _ListCompetitions(self, body):
                self._send(200, {"competitions": [
                    {"ref": "https://www.kaggle.com/competitions/digit-recognizer",
                     "title": "Digit Recognizer", "maxDailySubmissions": fake.max_daily}]})

            def _GetLeaderboard(self, body):
                start = int(body.get("pageToken") or 0)
                size = min(int(body.get("pageSize") or 20), fake.max_page)
                page = fake.leaderboard[start:start + size]
                following = start + size if start + size < len(fake.leaderboard) else None
                self._send(200, {
                    "submissions": [{"teamId": start + i + 1, "teamName": f"team {start + i + 1}",
                                     "submissionDate": "2026-11-01T00:00:00Z", "score": score}
                                    for i, score in enumerate(page)],
                    "nextPageToken": "" if following is None else str(following)})

            def _DownloadDataFiles(self, body):
                self._send(302, b"", {"Location": f"{fake.url}/files/digit-recognizer.zip"})

        return Handler


@contextlib.contextmanager
def served(monkeypatch, key: str = "fake-key", config_dir: Path | None = None,
           **server) -> Iterator[FakeKaggle]:
    """A ``FakeKaggle(**server)`` as the in-process client's endpoint, with fake legacy
    credentials (user "tester", ``key``; no access token, no proxy, ``config_dir`` as
    KAGGLE_CONFIG_DIR if given) and the engine's retry backoff cut to 10 ms."""
    monkeypatch.setenv("KAGGLE_USERNAME", "tester")
    monkeypatch.setenv("KAGGLE_KEY", key)
    if config_dir is not None:
        monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(config_dir))
    monkeypatch.delenv("KAGGLE_API_TOKEN", raising=False)
    for proxy in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setattr("workbench.engine.kaggle.calls.BACKOFF_S", 0.01)
    from kaggle.api.kaggle_api_extended import KaggleApi
    from kagglesdk import kaggle_env

    assert "--local" in KaggleApi.args, "the client was imported before LOCALHOST was set"
    with FakeKaggle(**server) as fake:
        monkeypatch.setitem(kaggle_env._env_to_endpoint, kaggle_env.KaggleEnv.LOCAL, fake.url)
        yield fake
