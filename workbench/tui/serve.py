"""``workbench --serve``: the same app in a browser, through textual-serve, for a GPU box reached
without a good terminal (an SSH tunnel to the port is the safe way in: the page has no login).
Each browser tab gets its own app process, started with this one's --data and --runs-dir."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from workbench.engine.errors import WorkbenchError


def command(data: str | None, runs_dir: Path | None) -> str:
    """The app's command line for each browser tab (paths made absolute: the server's current
    folder is the app's)."""
    parts = [sys.executable, "-m", "workbench.tui"]
    if data:
        parts += ["--data", str(Path(data).expanduser().absolute())]
    if runs_dir is not None:
        parts += ["--runs-dir", str(runs_dir.expanduser().absolute())]
    return shlex.join(parts)


def serve(data: str | None, runs_dir: Path | None, host: str, port: int) -> None:
    """Serve until Ctrl-C; a port that cannot be bound is one sentence."""
    from textual_serve.server import Server

    if not 1 <= port <= 65535:
        raise WorkbenchError(f"--port {port} is not a port; give one of 1-65535 (e.g. 8000).")
    server = Server(command(data, runs_dir), host=host, port=port, title="Digit Workbench")
    print(f"Serving Digit Workbench at http://{host}:{port} (Ctrl-C stops); from another "
          f"machine: ssh -L {port}:localhost:{port} THIS-HOST, then open that address.",
          flush=True)
    try:
        server.serve()
    except OSError as error:
        raise WorkbenchError(f"cannot serve on {host}:{port} ({error.strerror or error}); "
                             "give another --port.") from None
