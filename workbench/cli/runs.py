"""`workbench-engine runs list | show | compare | delete`: the training runs on disk."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.table import Table

from workbench.cli.output import out
from workbench.engine.cv import cv_status, list_cvs
from workbench.engine.errors import WorkbenchError
from workbench.engine.runs import (RUNS_DIR, delete_run, find_run, list_runs, read_history,
                                   read_json, shown, summarize)


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = commands.add_parser("runs", help="list, show, compare and delete training runs")
    sub = group.add_subparsers(title="runs commands", metavar="COMMAND", required=True)
    listing = sub.add_parser("list", help="every run: model, epochs, best val acc, status")
    listing.set_defaults(run=run_list)
    show = sub.add_parser("show", help="one run's configuration, history and files, or a CV's "
                          "out-of-fold accuracy and folds")
    show.add_argument("run_ref", metavar="RUN", help="run id, id prefix, folder, 'last', or a "
                      "CV's name")
    show.set_defaults(run=run_show)
    compare = sub.add_parser("compare", help="runs side by side: settings and accuracy per epoch")
    compare.add_argument("run_refs", metavar="RUN", nargs="+")
    compare.set_defaults(run=run_compare)
    delete = sub.add_parser("delete", help="delete a run folder (a damaged one too) and "
                            "everything in it; refused while it trains")
    delete.add_argument("run_ref", metavar="RUN", help="run id, unique id prefix, or folder in "
                        "--runs-dir")
    delete.set_defaults(run=run_delete)
    for parser in (listing, show, compare, delete):
        parser.add_argument("--runs-dir", type=Path, default=RUNS_DIR)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def run_list(args: argparse.Namespace) -> int:
    if os.path.lexists(args.runs_dir) and not args.runs_dir.is_dir():
        raise WorkbenchError(f"--runs-dir {shown(str(args.runs_dir))} is a file, not a folder of "
                             "runs; give the runs folder.")
    runs = list_runs(args.runs_dir)
    cvs = list_cvs(args.runs_dir)
    if not runs and not cvs:
        out.print(f"No runs in {args.runs_dir}; start one with 'workbench-engine train'.")
        return 0
    table = Table("run", "model", "epochs", "best val acc", "status", "duration")
    for run in runs:
        damaged = run.problem is not None
        table.add_row(shown(run.id), shown(run.model),
                      "-" if damaged else f"{run.epochs_done}/{run.epochs}",
                      _percent(run.best_val_accuracy), run.status,
                      "-" if damaged else _duration(run.duration_s))
    if runs:
        out.print(table)
    for run in runs:
        if run.problem:
            out.print(f"{shown(run.id)} is damaged: {run.problem}.")
    if cvs:
        table = Table("CV", "folds done", "OOF accuracy (95% CI)", "training")
        states = [cv_status(name, args.runs_dir) for name in cvs]
        for state in states:
            table.add_row(state.name, "damaged" if state.problem else state.progress,
                          _cv_accuracy(state.summary), _duration(state.seconds))
        out.print(table)
        for state in states:
            if state.problem:
                out.print(f"CV {state.name}: {state.problem}")
    return 0


def _cv_accuracy(summary) -> str:
    if summary is None:
        return "-"
    low, high = summary.interval
    return f"{100 * summary.accuracy:.3f}% ({100 * low:.3f}-{100 * high:.3f})"


def show_cv(name: str, runs_dir: Path) -> None:
    state = cv_status(name, runs_dir)
    if state.problem:
        raise WorkbenchError(state.problem)
    if state.summary is not None:
        print_cv_summary(state.summary)
    else:
        out.print(f"CV {name}: {state.progress} members finished; the same cv command "
                  "continues it.")
    for index, (run, finished) in enumerate(zip(state.members, state.finished)):
        kind = f"fold {index}" if index < state.folds else f"refit {index - state.folds}"
        out.print(f"  {kind}: {run.name if run else '-'} "
                  f"({'finished' if finished else 'not finished'})")


def print_cv_summary(summary) -> None:
    low, high = summary.interval
    out.print(f"CV {summary.name}: out-of-fold accuracy {100 * summary.accuracy:.3f}% "
              f"(95% CI {100 * low:.3f}-{100 * high:.3f}%) on {summary.rows:,} rows, "
              f"{summary.folds} folds' last epochs; {summary.seconds / 60:.1f} min of training.")
    out.print("  folds: " + ", ".join(f"{100 * a:.2f}%" for a in summary.fold_accuracies))
    out.print("  errors by true label: " + ", ".join(
        f"{digit}: {count}" for digit, count in enumerate(summary.class_errors)))
    out.print(f"  {summary.suspects} suspect labels proposed (the Review screen lists them)")
    if summary.submission:
        out.print(f"Submission: {summary.submission}")


def run_show(args: argparse.Namespace) -> int:
    if args.run_ref in list_cvs(args.runs_dir) and not (Path(args.run_ref) / "config.json"
                                                         ).is_file():
        show_cv(args.run_ref, args.runs_dir)
        return 0
    run = find_run(args.run_ref, args.runs_dir)
    summary = summarize(run)
    out.print(f"{summary.id}  {summary.status}, {summary.epochs_done}/{summary.epochs} epochs, "
              f"best val acc {_percent(summary.best_val_accuracy)}, "
              f"{_duration(summary.duration_s)}")
    status = read_json(run / "status.json")
    if status.get("message"):
        out.print(f"  {shown(str(status['message']), 500)}")
    config = read_json(run / "config.json")
    out.print("  " + ", ".join(f"{shown(key)}={shown(str(value), 200)}"
                               for key, value in config.items()))
    history = read_history(run)
    if history:
        table = Table("epoch", "loss", "acc", "val loss", "val acc", "lr", "seconds")
        for row in history:
            table.add_row(str(row["epoch"]), _number(row["loss"], ".4f"),
                          _percent(row["accuracy"]), _number(row["val_loss"], ".4f"),
                          _percent(row["val_accuracy"]), _number(row["learning_rate"], ".2e"),
                          _number(row["seconds"], ".1f"))
        out.print(table)
    out.print("  files: " + ", ".join(sorted(shown(p.name) for p in run.iterdir()
                                            if not p.name.startswith("."))))
    return 0


def run_compare(args: argparse.Namespace) -> int:
    runs = [find_run(ref, args.runs_dir) for ref in args.run_refs]
    if len(runs) < 2:
        raise WorkbenchError("compare needs at least two runs.")
    configs = [read_json(run / "config.json") for run in runs]
    histories = [read_history(run) for run in runs]
    table = Table("", *(run.name for run in runs))
    keys = [key for key in configs[0] if key not in ("keras", "workbench")]
    for key in keys:
        values = [shown(str(config.get(key)), 200) for config in configs]
        style = "bold" if len(set(values)) > 1 else None
        table.add_row(shown(key), *values, style=style)
    summaries = [summarize(run) for run in runs]
    table.add_row("best val acc", *(_percent(s.best_val_accuracy) for s in summaries),
                  style="bold green")
    table.add_row("duration", *(_duration(s.duration_s) for s in summaries))
    for epoch in range(max(len(h) for h in histories)):
        table.add_row(f"epoch {epoch + 1} val acc", *(
            _percent(h[epoch]["val_accuracy"]) if epoch < len(h) else "" for h in histories))
    out.print(table)
    return 0


def run_delete(args: argparse.Namespace) -> int:
    run = find_run(args.run_ref, args.runs_dir, damaged=True)
    if os.path.realpath(run.parent) != os.path.realpath(args.runs_dir):
        raise WorkbenchError(f"{shown(str(run))} is not in {args.runs_dir}; only runs there are "
                             "deleted (give --runs-dir for another runs folder).")
    delete_run(run)
    out.print(f"Deleted {shown(str(run))}.")
    return 0
