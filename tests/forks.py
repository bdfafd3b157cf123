"""Engine processes forked from a server that has imported Keras once.

A command that trains imports TensorFlow, seconds of CPU each time; forked from a warm server it
starts in a fraction of one and is still a process of its own (its exit code, its output, its
files, its signals, a kill). The server imports Keras and nothing of TensorFlow's runs before a
fork (no thread of its pools), so a fork is safe.

- ``run_forked(argv, ...)``: ``workbench-engine ARGS`` to its end, as ``subprocess.run``;
- ``Popen(argv, ...)``: the same, or ``python -m MODULE ARGS``, running, as
  ``subprocess.Popen`` (its pipes, ``pass_fds``, ``start_new_session``); ``as_subprocess``
  hands it to a module in place of ``subprocess`` (the app's training child, say).

Tests of the real entry point (the console script, how Keras loads) start it with
``engine_command()`` instead.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import resource
import runpy
import signal
import subprocess
import sys
import threading
import types
from multiprocessing import reduction
from pathlib import Path

_context: multiprocessing.context.ForkServerContext | None = None


def _server() -> multiprocessing.context.ForkServerContext:
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(["tests.warm"])
    return _context


def start_server() -> None:
    """Start the server now, while this process's stderr is its own: multiprocessing hands its
    resource tracker ``sys.stderr.fileno()``, which a running app's capture cannot give."""
    from multiprocessing import forkserver

    _server()
    forkserver.ensure_running()


class _Fd:
    """A file descriptor of this process, given to the forked one (the server passes it)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self):
        return _received, (reduction.DupFd(self.fd),)


def _received(dup) -> int:
    return dup.detach()


def _start(argv: list[str], cwd: str, env: dict[str, str], fds: dict[int, int],
           new_session: bool, max_file_bytes: int | None) -> None:
    """The forked process: ``fds`` in place (each at the number it is known by), then
    ``workbench-engine ARGV``, or ``python -m MODULE ARGS`` for ``argv`` ["-m", MODULE, ...]."""
    if new_session:
        os.setsid()
    if max_file_bytes is not None:  # a full disk: writes past it fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))
    high = {}  # out of the way first: a received fd may sit at another's number
    for number, fd in fds.items():
        high[number] = fcntl.fcntl(fd, fcntl.F_DUPFD, 256)
        os.close(fd)
    for number, fd in high.items():
        os.dup2(fd, number, inheritable=number < 3)
        os.close(fd)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115  # as a new interpreter's, on the new fds
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    if argv[:1] == ["-m"]:
        sys.argv = [argv[1], *argv[2:]]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        sys.exit(0)
    from workbench.cli import main

    sys.exit(main(argv))


def _python_argv(args: list[str]) -> list[str]:
    """``[sys.executable, "-m", MODULE, ...]`` as ``["-m", MODULE, ...]``; engine args as
    they are."""
    if args[:1] == [sys.executable]:
        return args[1:]
    return args


class Popen:
    """As ``subprocess.Popen([workbench-engine, *argv], ...)`` (or ``[sys.executable, "-m",
    MODULE, ...]``), forked from the warm server: stdin, stdout and stderr each PIPE, DEVNULL,
    None (this process's) or a file; ``pass_fds`` keep their numbers; ``max_file_bytes``
    limits the size of any file it writes."""

    def __init__(self, args, *, stdin=None, stdout=None, stderr=None, text: bool = False,
                 cwd=None, env=None, pass_fds=(), start_new_session: bool = False,
                 max_file_bytes: int | None = None) -> None:
        self.args = list(map(str, args))
        fds: dict[int, int] = {}
        ours: list[int] = []  # the child's ends: closed here once it has them
        self.stdin = self.stdout = self.stderr = None
        for number, how in ((0, stdin), (1, stdout), (2, stderr)):
            if how == subprocess.PIPE:
                read, write = os.pipe()
                child, mine = (read, write) if number == 0 else (write, read)
                fds[number] = child
                ours.append(child)
                setattr(self, ("stdin", "stdout", "stderr")[number],
                        os.fdopen(mine, ("w" if number == 0 else "r") + ("" if text else "b")))
            elif how == subprocess.DEVNULL:
                fds[number] = os.open(os.devnull, os.O_RDWR)
                ours.append(fds[number])
            elif how is None:
                fds[number] = number
            else:
                fds[number] = how if isinstance(how, int) else how.fileno()
        for fd in pass_fds:
            fds[fd] = fd
        self._process = _server().Process(target=_start, args=(
            _python_argv(self.args), str(cwd or os.getcwd()), dict(env or os.environ),
            {number: _Fd(fd) for number, fd in fds.items()}, start_new_session,
            max_file_bytes))
        try:
            self._process.start()
        finally:
            for fd in ours:
                os.close(fd)
        self.pid = self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self._process.exitcode

    def communicate(self, input=None, timeout: float | None = None):
        """What the child wrote to its PIPEs, once it has ended (``input`` to its stdin)."""
        if self.stdin is not None:
            if input:
                self.stdin.write(input)
            self.stdin.close()
        read: dict[str, object] = {}
        readers = [threading.Thread(target=lambda name=name, pipe=pipe: read.update(
            {name: pipe.read()}), daemon=True)
            for name, pipe in (("out", self.stdout), ("err", self.stderr)) if pipe is not None]
        for reader in readers:
            reader.start()
        self.wait(timeout)
        for reader in readers:
            reader.join()
        return read.get("out"), read.get("err")

    def send_signal(self, number: int) -> None:
        if self._process.exitcode is None:
            os.kill(self.pid, number)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def __enter__(self) -> Popen:
        return self

    def __exit__(self, *exc) -> None:
        for pipe in (self.stdin, self.stdout, self.stderr):
            if pipe is not None:
                pipe.close()
        self.wait()


# ``subprocess`` as a module sees it, its processes forked: ``monkeypatch.setattr(module,
# "subprocess", as_subprocess)``.
as_subprocess = types.SimpleNamespace(Popen=Popen, PIPE=subprocess.PIPE,
                                      DEVNULL=subprocess.DEVNULL,
                                      TimeoutExpired=subprocess.TimeoutExpired)


def run_forked(argv: list[str], cwd: Path, env: dict[str, str], timeout: float,
               max_file_bytes: int | None = None) -> subprocess.CompletedProcess:
    """As ``subprocess.run([workbench-engine, *argv], capture_output=True, text=True)``."""
    child = Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                  stdin=subprocess.DEVNULL, text=True, max_file_bytes=max_file_bytes)
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        raise subprocess.TimeoutExpired(["workbench-engine", *argv], timeout) from None
    return subprocess.CompletedProcess(["workbench-engine", *argv], child.returncode, out, err)
