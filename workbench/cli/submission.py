"""`workbench-engine submission ...`: check a submission file before it goes to Kaggle."""

from __future__ import annotations

import argparse
from pathlib import Path

from workbench.cli.output import bar_chart, err, out
from workbench.engine.data import load_competition
from workbench.engine.errors import printable
from workbench.engine.submission import check_submission_file


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = commands.add_parser("submission", help="check submission files")
    sub = group.add_subparsers(title="submission commands", metavar="COMMAND", required=True)
    check = sub.add_parser("check", parents=[common], help="header ImageId,Label, every test "
                           "ImageId once, labels 0-9")
    check.add_argument("file", type=Path, metavar="FILE")
    check.set_defaults(run=run_check)


def run_check(args: argparse.Namespace) -> int:
    competition = load_competition(args.data)
    check = check_submission_file(args.file, competition.test_ids)
    name = printable(str(args.file))
    if not check.ok:
        for problem in check.problems:
            err.print(f"{name}: {problem}")
        return 2
    out.print(f"{name} is a valid submission: {check.rows:,} rows, ImageId 1..{check.rows:,}"
              f" once each, labels 0-9 ({competition.source}).")
    for line in bar_chart(check.label_counts, width=30):
        out.print(line)
    return 0
