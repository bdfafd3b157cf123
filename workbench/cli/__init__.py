"""`workbench-engine`: the engine's commands, headless (servers, notebooks, scripts)."""

from __future__ import annotations

import argparse
import errno
import io
import os
import sys
from collections.abc import Sequence

from workbench import __version__
from workbench.cli import baseline, data, kaggle, runs, search, submission, train
from workbench.engine.errors import WorkbenchError, describe_os_error, printable
from workbench.engine.store import workspace

PROG = "workbench-engine"


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors that point at --help."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {printable(message)}; see '{self.prog} --help'.\n")


def build_parser() -> Parser:
    parser = Parser(prog=PROG, description=__doc__)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data", metavar="PATH", help="Kaggle zip, folder or CSV (default: "
                        "$WORKBENCH_DATA, else data/digit-recognizer.zip where 'kaggle download' "
                        "puts it, else the embedded 5,000-row sample)")
    for module in (data, baseline, train, runs, search, submission, kaggle):
        module.register(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _tolerate_unencodable_output()
    try:
        args = build_parser().parse_args(argv)
        if hasattr(args, "runs_dir"):  # every default (submissions, suspects) follows it
            workspace.choose(args.runs_dir)
            args.runs_dir = workspace.runs_dir()
        return args.run(args)
    except WorkbenchError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        if error.errno == errno.EPIPE:
            return _output_closed()
        print(f"{PROG}: error: {describe_os_error(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted.", file=sys.stderr)
        return 130


SIGPIPE_EXIT = 141  # 128 + SIGPIPE: what a shell reports for a Unix tool whose reader went away


def _output_closed() -> int:
    """End quietly, as Unix tools do when the reader of the output goes away (``| head -1``).

    Standard output is pointed at /dev/null so that Python's flush at exit cannot fail again
    and print a traceback of its own."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real stdout (closed, or captured)
        pass
    return SIGPIPE_EXIT


def _tolerate_unencodable_output() -> None:
    """Print what a terminal's encoding cannot show (e.g. PYTHONIOENCODING=ascii) as escapes
    instead of failing with UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
