"""`workbench-engine runs list | show | compare | delete`: the training runs on disk."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict
from pathlib import Path

from rich.table import Column, Table

from workbench.cli.output import NO_COMMON_ROWS, RUNS_DIR_HELP, out
from workbench.engine.errors import WorkbenchError, shown, worded
from workbench.engine.plans.cv import cv_status, list_cvs
from workbench.engine.plans.ensemble import ensemble_status, list_ensembles
from workbench.engine.reports.roles import role_of, roles
from workbench.engine.results.review import confused_pairs
from workbench.engine.runs.listing import delete_run, find_run, list_runs, summarize


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = commands.add_parser("runs", help="list, show, compare and delete training runs")
    sub = group.add_subparsers(title="runs commands", metavar="COMMAND", required=True)
    listing = sub.add_parser("list", help="every run (its data, sample or full, and its part: "
                             "a CV's fold, an ensemble's member), then the CVs and ensembles")
    listing.set_defaults(run=run_list)
    show = sub.add_parser("show", help="one run's configuration, history and files, or a CV's "
                          "out-of-fold accuracy and folds")
    show.add_argument("run_ref", metavar="RUN", help="run id, id prefix, folder, 'last', or a "
                      "CV's name")
    show.set_defaults(run=run_show)
    compare = sub.add_parser("compare", help="runs side by side: settings and accuracy per epoch")
    compare.add_argument("run_refs", metavar="RUN", nargs="+")
    compare.set_defaults(run=run_compare)
    exporting = sub.add_parser("export", help="pictures to keep: the runs' curves (PNG and CSV) "
                               "and each one's confusion matrix; a CV's name exports its folds "
                               "and its out-of-fold matrix")
    exporting.add_argument("run_refs", metavar="RUN", nargs="+", help="run ids, prefixes, "
                           "folders, 'last', or CV names")
    exporting.add_argument("--out", type=Path, metavar="DIR", help="folder to write into "
                           "(default: a new one under exports/ beside the runs folder)")
    exporting.set_defaults(run=run_export)
    delete = sub.add_parser("delete", help="delete a run folder (a damaged one too) and "
                            "everything in it; refused while it trains")
    delete.add_argument("run_ref", metavar="RUN", help="run id, unique id prefix, or folder in "
                        "--runs-dir")
    delete.add_argument("--force", action="store_true", help="delete a CV's fold or an "
                        "ensemble's member too (its CV or ensemble then trains it again)")
    delete.set_defaults(run=run_delete)
    for parser in (listing, show, compare):
        parser.add_argument("--json", action="store_true", help="print it as JSON, for scripts")
    for parser in (listing, show, compare, exporting, delete):
        parser.add_argument("--runs-dir", type=Path, metavar="DIR", help=RUNS_DIR_HELP)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _count(rows: int | None) -> str:
    return f"{rows:,}" if rows else "-"


def _plans_table(kind: str, done: str, accuracy: str, rows: list[tuple[str, ...]]) -> None:
    """The CVs' or the ensembles' table: name, members done, accuracy, rows scored, time."""
    table = Table(Column(kind, overflow="fold"), done, accuracy, "on rows", "training")
    for row in rows:
        table.add_row(*row)
    out.print(table)


def run_list(args: argparse.Namespace) -> int:
    if os.path.lexists(args.runs_dir) and not args.runs_dir.is_dir():
        raise WorkbenchError(f"--runs-dir {shown(str(args.runs_dir))} is a file, not a folder of "
                             "runs; give the runs folder.")
    runs = list_runs(args.runs_dir)
    parts = roles(args.runs_dir)
    cvs = [cv_status(name, args.runs_dir) for name in list_cvs(args.runs_dir)]
    ensembles = [ensemble_status(name, args.runs_dir)
                 for name in list_ensembles(args.runs_dir)]
    if args.json:
        print(json.dumps({"runs_dir": str(args.runs_dir.resolve()),
                          "runs": [run_record(run, parts) for run in runs],
                          "cvs": [cv_record(state) for state in cvs],
                          "ensembles": [ensemble_record(state) for state in ensembles]},
                         indent=2))
        return 0
    if not runs and not cvs and not ensembles:
        out.print(f"No runs in {shown(str(args.runs_dir.resolve()))}; start one with "
                  "'workbench-engine train', or give the runs folder (--runs-dir, or "
                  "$WORKBENCH_HOME for the folder holding it).")
        return 0
    table = Table(Column("run", overflow="fold"), "model", "data", "part", "epochs",
                  "best val acc", "on rows", "status", "duration")
    for run in runs:
        damaged = run.problem is not None
        table.add_row(shown(run.id), shown(run.model), run.data,
                      role_of(run.id, run.config or {}, parts) or "-",
                      "-" if damaged else f"{run.epochs_done}/{run.epochs}",
                      _percent(run.best_val_accuracy), _count(run.held_out), run.status,
                      "-" if damaged else _duration(run.duration_s))
    if runs:
        out.print(table)
    for run in runs:
        if run.problem:
            out.print(f"{shown(run.id)} is damaged: {run.problem}; {worded(run.fix)}.")
    if cvs:
        _plans_table("CV", "folds done", "OOF accuracy (95% CI)", [
            (state.name, "damaged" if state.problem else state.progress,
             _cv_accuracy(state.summary), _count(state.summary.rows if state.summary else None),
             _duration(state.seconds)) for state in cvs])
        for state in cvs:
            if state.problem:
                out.print(f"CV {state.name}: {state.problem}")
    if ensembles:
        _plans_table("ensemble", "members done", "held-out accuracy", [
            (ensemble.name, "damaged" if ensemble.problem else ensemble.progress,
             _percent(ensemble.accuracy), _count(ensemble.rows), _duration(ensemble.seconds))
            for ensemble in ensembles])
        for ensemble in ensembles:
            if ensemble.problem:
                out.print(f"ensemble {ensemble.name}: {ensemble.problem}")
            elif ensemble.accuracy is None and ensemble.finished == len(ensemble.members):
                out.print(f"ensemble {ensemble.name}: no held-out accuracy: {NO_COMMON_ROWS}.")
    return 0


def run_record(run, parts: dict[str, str]) -> dict:
    """A run's line of ``runs list --json``."""
    return {"id": run.id, "path": str(run.path), "model": run.model, "data": run.data,
            "part": role_of(run.id, run.config or {}, parts) or None, "status": run.status,
            "epochs_done": run.epochs_done, "epochs": run.epochs,
            "best_val_accuracy": run.best_val_accuracy, "held_out_rows": run.held_out,
            "seconds": run.duration_s, "problem": run.problem}


def cv_record(state) -> dict:
    summary = state.summary
    return {"name": state.name, "folds": state.folds, "refit": state.refit,
            "finished": sum(state.finished), "members": len(state.finished),
            "runs": [run.name if run else None for run in state.members],
            "seconds": state.seconds, "problem": state.problem,
            "summary": None if summary is None else asdict(summary)}


def ensemble_record(state) -> dict:
    return {"name": state.name, "members": [run.name for run in state.members],
            "finished": state.finished, "held_out_accuracy": state.accuracy,
            "held_out_rows": state.rows, "seconds": state.seconds, "problem": state.problem}


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
    pairs = confused_pairs(summary.confusion)
    if pairs:
        out.print("  most confused (true -> predicted): " + ", ".join(
            f"{true}->{predicted} {count}x" for true, predicted, count in pairs))
    out.print(f"  {summary.suspects} suspect labels proposed (the Review screen lists them)")
    if summary.submission:
        out.print(f"Submission: {summary.submission}")


def run_show(args: argparse.Namespace) -> int:
    if args.run_ref in list_cvs(args.runs_dir) and not (Path(args.run_ref) / "config.json"
                                                         ).is_file():
        if args.json:
            print(json.dumps(cv_record(cv_status(args.run_ref, args.runs_dir)), indent=2))
        else:
            show_cv(args.run_ref, args.runs_dir)
        return 0
    run = find_run(args.run_ref, args.runs_dir)
    summary, config, history = summarize(run), run.config, run.history
    parts = roles(args.runs_dir)
    part = role_of(summary.id, config, parts)
    if args.json:
        print(json.dumps({**run_record(summary, parts),
                          "message": run.message or None, "config": config,
                          "history": history, "files": _files(run.path)}, indent=2))
        return 0
    out.print(f"{summary.id}  {summary.status}, {summary.epochs_done}/{summary.epochs} epochs, "
              f"best val acc {_percent(summary.best_val_accuracy)}"
              + (f" on {summary.held_out:,} held-out rows" if summary.held_out else "")
              + f", {_duration(summary.duration_s)}")
    out.print(f"  data: {summary.data}" + (f"; {part}" if part else ""))
    if run.message:
        out.print(f"  {shown(run.message, 500)}")
    out.print("  " + ", ".join(f"{shown(key)}={_value(value)}" for key, value in config.items()))
    if history:
        table = Table("epoch", "loss", "acc", "val loss", "val acc", "lr", "seconds")
        for row in history:
            table.add_row(str(row["epoch"]), _number(row["loss"], ".4f"),
                          _percent(row["accuracy"]), _number(row["val_loss"], ".4f"),
                          _percent(row["val_accuracy"]), _number(row["learning_rate"], ".2e"),
                          _number(row["seconds"], ".1f"))
        out.print(table)
    out.print("  files: " + ", ".join(shown(name) for name in _files(run.path)))
    return 0


def _files(run: Path) -> list[str]:
    return sorted(p.name for p in run.iterdir() if not p.name.startswith("."))


def _value(value: object) -> str:
    """A config value as a person reads it: '-' for none (not Python's None)."""
    return "-" if value is None else shown(str(value), 200)


def run_compare(args: argparse.Namespace) -> int:
    runs = [find_run(ref, args.runs_dir) for ref in args.run_refs]
    if len(runs) < 2:
        raise WorkbenchError("compare needs at least two runs.")
    configs = [run.config for run in runs]
    histories = [run.history for run in runs]
    summaries = [summarize(run) for run in runs]
    parts = roles(args.runs_dir)
    if args.json:
        print(json.dumps([{**run_record(summary, parts), "config": config, "history": history}
                          for summary, config, history in zip(summaries, configs, histories)],
                         indent=2))
        return 0
    table = Table("", *(Column(run.id, overflow="fold") for run in runs))
    table.add_row("data", *(s.data for s in summaries), style="bold")
    table.add_row("part", *(role_of(s.id, s.config or {}, parts) or "-" for s in summaries))
    keys = [key for key in configs[0] if key not in ("keras", "workbench")]
    for key in keys:
        values = [_value(config.get(key)) for config in configs]
        style = "bold" if len(set(values)) > 1 else None
        table.add_row(shown(key), *values, style=style)
    table.add_row("best val acc", *(_percent(s.best_val_accuracy) for s in summaries),
                  style="bold green")
    table.add_row("on held-out rows", *(f"{s.held_out:,}" for s in summaries))
    table.add_row("duration", *(_duration(s.duration_s) for s in summaries))
    for epoch in range(max(len(h) for h in histories)):
        table.add_row(f"epoch {epoch + 1} val acc", *(
            _percent(h[epoch]["val_accuracy"]) if epoch < len(h) else "" for h in histories))
    out.print(table)
    return 0


def run_export(args: argparse.Namespace) -> int:
    from workbench.engine.reports.figures import export

    exported = export(args.run_refs, args.runs_dir, args.out)
    out.print(f"Wrote {len(exported.files)} files to {shown(str(exported.folder))}:")
    for path in exported.files:
        out.print(f"  {shown(path.name)}")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    run = find_run(args.run_ref, args.runs_dir, damaged=True).path
    if os.path.realpath(run.parent) != os.path.realpath(args.runs_dir):
        raise WorkbenchError(f"{shown(str(run))} is not in {args.runs_dir}; only runs there are "
                             "deleted (give --runs-dir for another runs folder).")
    part = roles(args.runs_dir).get(run.name)
    if part and not args.force:
        raise WorkbenchError(f"{shown(run.name)} is {part}: deleting it takes it from that plan, "
                             "whose figures then wait until the same command trains it again; "
                             "give --force to delete it anyway.")
    delete_run(run)
    out.print(f"Deleted {shown(str(run))}" + (f" ({part}: the same command trains it again)."
                                              if part else "."))
    return 0
