"""`workbench-engine ARGS` in a process forked from a server that has imported Keras once.

A command that trains imports TensorFlow, seconds of CPU each time; forked from a warm server it
starts in a fraction of one and is still a process of its own (its exit code, its output, its
files, a kill). The server imports Keras and nothing of TensorFlow's runs before a fork (no
thread of its pools), so a fork is safe. Tests of the real entry point (the console script, a
signal, a pipe) start it with ``engine_command()`` instead.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
from pathlib import Path

_context: multiprocessing.context.ForkServerContext | None = None


def _server() -> multiprocessing.context.ForkServerContext:
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(["tests.warm"])
    return _context


def _command(argv: list[str], cwd: str, env: dict[str, str], out: str, err: str) -> None:
    """The forked child: the CLI in-process, its output in ``out`` and ``err``."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for fd, path, flags in ((0, os.devnull, os.O_RDONLY), (1, out, os.O_WRONLY),
                            (2, err, os.O_WRONLY)):
        opened = os.open(path, flags)
        os.dup2(opened, fd)
        os.close(opened)
    from workbench.cli import main

    sys.exit(main(argv))


def run_forked(argv: list[str], cwd: Path, env: dict[str, str],
               timeout: float) -> subprocess.CompletedProcess:
    """As ``subprocess.run([workbench-engine, *argv], capture_output=True, text=True)``."""
    with tempfile.TemporaryDirectory() as folder:
        out, err = Path(folder, "out"), Path(folder, "err")
        out.touch()
        err.touch()
        child = _server().Process(target=_command,
                                  args=(argv, str(cwd), env, str(out), str(err)))
        child.start()
        child.join(timeout)
        if child.exitcode is None:
            child.kill()
            child.join()
            raise subprocess.TimeoutExpired(["workbench-engine", *argv], timeout)
        return subprocess.CompletedProcess(
            ["workbench-engine", *argv], child.exitcode,
            out.read_text(errors="replace"), err.read_text(errors="replace"))
