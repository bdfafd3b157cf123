"""`workbench-engine kaggle download | submit | submissions`, through the official client."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from rich.table import Table

from workbench.cli.output import err, out
from workbench.engine.kaggle import COMPETITION
from workbench.engine.runs import RUNS_DIR, find_run


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = commands.add_parser("kaggle", help="download the data, submit, list submissions")
    sub = group.add_subparsers(title="kaggle commands", metavar="COMMAND", required=True)
    download = sub.add_parser("download", help="download the competition zip and check it")
    download.add_argument("--dest", type=Path, default=Path("data"))
    download.set_defaults(run=run_download)
    submit = sub.add_parser("submit", parents=[common], help="check a submission, upload it, "
                            "wait for its score")
    submit.add_argument("target", metavar="FILE|RUN", help="a submission CSV, or a run whose "
                        "submission.csv to send")
    submit.add_argument("-m", "--message", required=True)
    submit.add_argument("--no-wait", action="store_true", help="do not wait for the score")
    submit.add_argument("--timeout", type=float, default=600, help="seconds to wait for the "
                        "score (default 600)")
    submit.add_argument("--runs-dir", type=Path, default=RUNS_DIR)
    submit.set_defaults(run=run_submit)
    history = sub.add_parser("submissions", help="the competition's submission history")
    history.add_argument("--json", action="store_true")
    history.set_defaults(run=run_submissions)
    for parser in (download, submit, history):
        parser.add_argument("--competition", default=COMPETITION)


def run_download(args: argparse.Namespace) -> int:
    from workbench.engine.kaggle import download

    err.print(f"Downloading {args.competition} into {args.dest} ...")
    path = download(args.competition, args.dest)
    out.print(f"Downloaded {path}; it loads: use --data {path}")
    return 0


def run_submit(args: argparse.Namespace) -> int:
    from workbench.engine.kaggle import submit

    path = Path(args.target)
    if not path.is_file():
        path = find_run(args.target, args.runs_dir) / "submission.csv"
    test_ids = None
    if args.data:
        from workbench.engine.data import load_competition

        test_ids = load_competition(args.data).test_ids
    err.print(f"Submitting {path} to {args.competition} ...")
    result = submit(path, args.message, args.competition, test_ids=test_ids,
                    wait=not args.no_wait, timeout_s=args.timeout,
                    on_status=lambda s: err.print(f"  {s.status} ..."))
    if result is None:
        out.print("Submitted; it is not in the submission history yet: see "
                  "'workbench-engine kaggle submissions'.")
    elif result.status == "COMPLETE":
        out.print(f"Scored: public score {result.public_score} ({path.name}, '{result.description}').")
    elif result.status == "ERROR":
        err.print(f"Kaggle could not score it: {result.error or 'no reason given'}.")
        return 1
    else:
        out.print(f"Submitted; status {result.status}. See 'workbench-engine kaggle submissions'.")
    return 0


def run_submissions(args: argparse.Namespace) -> int:
    from workbench.engine.kaggle import submissions

    items = submissions(args.competition)
    if args.json:
        print(json.dumps([asdict(item) for item in items], indent=2))
        return 0
    table = Table("date", "file", "message", "status", "public score")
    for item in items:
        table.add_row(item.date, item.file_name, item.description, item.status,
                      item.public_score or item.error or "")
    out.print(table)
    return 0
