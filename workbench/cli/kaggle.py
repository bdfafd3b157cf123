"""`workbench-engine kaggle download | submit | submissions`, through the official client."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from rich.table import Column, Table

from workbench.cli.output import RUNS_DIR_HELP, err, out
from workbench.cli.submission import add_data_flag, print_problems
from workbench.engine.data.competition import data_path, load_competition
from workbench.engine.errors import WorkbenchError, printable
from workbench.engine.results.submission import (
    COMPETITION,
    check_submission_file,
    default_message,
    expected_test_set,
)
from workbench.engine.runs.listing import find_run
from workbench.engine.store import workspace


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = commands.add_parser("kaggle", help="download the data, submit, list submissions")
    sub = group.add_subparsers(title="kaggle commands", metavar="COMMAND", required=True)
    download = sub.add_parser("download", help="download the competition zip and check it")
    download.add_argument("--dest", type=Path, metavar="DIR", help="where to put it (default: "
                          "data/ of the workspace, where every command then finds it)")
    download.set_defaults(run=run_download)
    submit = sub.add_parser("submit", help="check a submission (against the "
                            "test set of --data or $WORKBENCH_DATA, else Kaggle's 28,000 "
                            "ImageIds, as 'submission check' does), upload it, wait for its "
                            "score and its place on the public leaderboard")
    submit.add_argument("target", metavar="FILE|RUN", help="a submission CSV, or a run whose "
                        "submission.csv to send")
    add_data_flag(submit)
    submit.add_argument("-m", "--message", help="what this submission is (default: names the "
                        "run, its model and val acc, e.g. 'simple-cnn run 20261130-101010, val "
                        "acc 99.12%%')")
    submit.add_argument("--no-wait", action="store_true", help="do not wait for the score")
    submit.add_argument("--again", action="store_true", help="send a file whose content was "
                        "sent before (refused without it: it would use one of the day's "
                        "submissions for the same score)")
    submit.add_argument("--timeout", type=float, default=600, help="seconds to wait for the "
                        "score (default 600)")
    submit.add_argument("--poll", type=float, default=5.0, metavar="SECONDS", help="seconds "
                        "between looks at the submission history while waiting (default 5)")
    submit.add_argument("--runs-dir", type=Path, metavar="DIR", help=RUNS_DIR_HELP)
    submit.set_defaults(run=run_submit)
    history = sub.add_parser("submissions", help="the competition's submission history")
    history.add_argument("--json", action="store_true")
    history.set_defaults(run=run_submissions)
    for parser in (download, submit, history):
        parser.add_argument("--competition", default=COMPETITION)


def run_download(args: argparse.Namespace) -> int:
    from workbench.engine.kaggle.download import download

    dest = args.dest or workspace.downloaded_data().parent
    err.print(f"Downloading {args.competition} into {printable(str(dest))} ...")
    path = download(args.competition, dest)
    rows = load_competition(path)
    use = ("every command now uses it when no --data is given" if path == data_path()
           else f"use --data {printable(str(path))}")
    out.print(f"Downloaded {printable(str(path))} ({rows.n_train:,} train and {rows.n_test:,} "
              f"test rows); {use}.")
    return 0


def run_submit(args: argparse.Namespace) -> int:
    from workbench.engine.kaggle.leaderboard import quota
    from workbench.engine.kaggle.ledger import sent_before
    from workbench.engine.kaggle.submit import NotUploaded, check_wait, outcome, submit

    check_wait(args.timeout, args.poll)  # every flag before the file, and the file before Kaggle

    path = Path(args.target)
    if not path.is_file():
        path = find_run(args.target, args.runs_dir).submission
    expected = expected_test_set(args.data, args.competition)
    message = default_message(path) if args.message is None else args.message
    try:
        check = check_submission_file(path, expected.ids)  # before any call to Kaggle
        if not check.ok:
            raise NotUploaded(path, check)
        if sent_before(path, args.competition) is None or args.again:
            _say_quota(quota, args.competition)
        err.print(f"Submitting {printable(str(path))} to {args.competition} as "
                  f"'{printable(message)}' ...")
        result = submit(path, message, args.competition, test_ids=expected.ids,
                        wait=not args.no_wait, timeout_s=args.timeout, poll_s=args.poll,
                        again=args.again,
                        on_status=lambda s: err.print(f"  {s.status} ..."))
    except NotUploaded as refused:
        name = printable(str(path))
        print_problems(name, refused.check, expected)
        raise WorkbenchError(f"{name} was not uploaded: it has the problems above against "
                             f"{expected.source} (the same that 'workbench-engine submission "
                             "check' finds with the same --data).") from None
    line = outcome(result, args.competition)
    if result is not None and result.status == "ERROR":
        err.print(line)
        return 1
    out.print(line if result is not None and result.status == "COMPLETE" else
              f"{line} See 'workbench-engine kaggle submissions'.")
    return 0


def _say_quota(quota, competition: str) -> None:
    """The day's submissions left, before one is used; none left stops here (Kaggle would
    refuse it). A history that cannot be read is no reason not to try."""
    try:
        today = quota(competition)
    except WorkbenchError:
        return
    if today.left == 0:
        raise WorkbenchError(f"no submissions left today: Kaggle allows {today.limit} a day and "
                             f"{today.used} were made since 00:00 UTC; submit after then.")
    err.print(f"Kaggle: {today}.")


def run_submissions(args: argparse.Namespace) -> int:
    from workbench.engine.kaggle.history import submissions

    items = submissions(args.competition)
    if args.json:
        print(json.dumps([asdict(item) for item in items], indent=2))
        return 0
    table = Table("date", Column("file (run)", overflow="fold"), "message", "status",
                  "public score")
    for item in (item.shown() for item in items):
        table.add_row(item.date, item.source, item.description, item.status,
                      item.public_score or item.error or "")
    out.print(table)
    return 0
