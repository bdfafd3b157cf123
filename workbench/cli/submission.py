"""`workbench-engine submission ...`: check a submission file before it goes to Kaggle."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from workbench.cli.output import digit_bars, err, out
from workbench.engine.data.competition import Competition, sample_path
from workbench.engine.errors import printable
from workbench.engine.results.submission import (
    COMPETITION,
    Expectation,
    SubmissionCheck,
    check_submission_file,
    expected_test_set,
    problem_lines,
    run_of,
)


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = commands.add_parser("submission", help="check submission files")
    sub = group.add_subparsers(title="submission commands", metavar="COMMAND", required=True)
    check = sub.add_parser("check", help="header ImageId,Label, every test ImageId once, labels "
                           "0-9: against the test set 'kaggle submit' checks against too")
    check.add_argument("file", type=Path, metavar="FILE")
    add_data_flag(check)
    check.add_argument("--competition", default=COMPETITION, help="whose test set on Kaggle "
                       "is the default (default: %(default)s)")
    check.set_defaults(run=run_check)


def add_data_flag(parser: argparse.ArgumentParser) -> None:
    """--data as `submission check` and `kaggle submit` both take it: the one test set they
    check a file against (the others' default, the embedded sample, cannot be sent to Kaggle)."""
    parser.add_argument("--data", metavar="PATH", help="Kaggle zip, folder or CSV whose test "
                        "set the file is checked against (default: $WORKBENCH_DATA, else "
                        "Kaggle's own: ImageId 1..28,000)")


def check_advice(path: Path, competition: Competition) -> str:
    """How to check a file written from ``competition``: against Kaggle's test set when it is
    Kaggle's data; else against that data, and why Kaggle would reject it."""
    if competition.kind == "full":
        return f"check it with 'workbench-engine submission check {shlex.quote(str(path))}'"
    other = competition.kind == "other"
    data = shlex.quote(str(competition.source if other else sample_path()))
    what = competition.source if other else "the embedded sample"
    return (f"it answers the {competition.n_test:,} test images of {what}, not Kaggle's "
            f"28,000, so Kaggle would reject it; check it with 'workbench-engine submission "
            f"check {shlex.quote(str(path))} --data {data}', or run the same command on Kaggle's "
            "data ('workbench-engine kaggle download' puts it where every command finds it)")


def print_problems(name: str, check: SubmissionCheck, expected: Expectation) -> None:
    """One line per problem, as both `submission check` and `kaggle submit` print them."""
    for line in problem_lines(check, expected, run_of(Path(name))):
        err.print(f"{name}: {line}")


def run_check(args: argparse.Namespace) -> int:
    expected = expected_test_set(args.data, args.competition)
    check = check_submission_file(args.file, expected.ids)
    name = printable(str(args.file))
    if not check.ok:
        print_problems(name, check, expected)
        return 2
    out.print(f"{name} is a valid submission: {check.rows:,} rows, ImageId 1..{check.rows:,}"
              f" once each, labels 0-9 ({expected.source}).")
    out.print(digit_bars(check.label_counts, 30))
    return 0
