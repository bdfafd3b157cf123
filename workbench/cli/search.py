"""`workbench-engine search`: the convergence search over optimizers, learning rates, schedules."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from dataclasses import asdict
from pathlib import Path

from rich.table import Table

from workbench.cli.output import err, out
from workbench.cli.train import EXIT_INTERRUPTED, ray_line, scale_flags, scale_of
from workbench.engine.events import Event, Trial, TrialFinished
from workbench.engine.network.models import MODELS
from workbench.engine.plans.search import (
    DEFAULT_LEARNING_RATES,
    DEFAULT_OPTIMIZERS,
    DEFAULT_SCHEDULES,
    SETTINGS,
    SearchSpace,
)
from workbench.engine.store import workspace


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    search = commands.add_parser("search", parents=[common], help="grid search over optimizers x "
                                 "learning rates x schedules (resumable; trials at once on "
                                 "Ray with --parallel or --cluster)")
    search.add_argument("--model", choices=MODELS, default=SETTINGS["model"],
                        help="default %(default)s")
    search.add_argument("--optimizers", nargs="+", default=list(DEFAULT_OPTIMIZERS),
                        help=f"default: {' '.join(DEFAULT_OPTIMIZERS)}")
    search.add_argument("--lrs", nargs="+", type=float, default=list(DEFAULT_LEARNING_RATES),
                        metavar="LR", help="default: "
                        f"{' '.join(f'{rate:g}' for rate in DEFAULT_LEARNING_RATES)}")
    search.add_argument("--schedules", nargs="+", default=list(DEFAULT_SCHEDULES),
                        help=f"default: {' '.join(DEFAULT_SCHEDULES)}")
    search.add_argument("--epochs", type=int, default=SETTINGS["epochs"],
                        help=f"epochs per trial (default {SETTINGS['epochs']})")
    search.add_argument("--batch-size", type=int, default=SETTINGS["batch_size"],
                        help="default %(default)s")
    search.add_argument("--val-split", type=float, default=SETTINGS["val_split"],
                        help="default %(default)s")
    search.add_argument("--seed", type=int, default=SETTINGS["seed"], help="seeds the weights "
                        "and the validation split (default %(default)s)")
    search.add_argument("--cpu", action="store_true")
    search.add_argument("--dir", type=Path, help="search folder; run the same command again to "
                        "resume (default runs/search-MODEL)")
    search.add_argument("--json", action="store_true", help="print the ranked trials as JSON on "
                        "stdout (progress stays on stderr), for scripts")
    scale_flags(search, "trials")
    search.set_defaults(run=run_search_command)


def _row(trial: Trial) -> list[str]:
    return [trial.optimizer, f"{trial.learning_rate:g}", trial.schedule,
            f"{100 * trial.best_val_accuracy:.2f}%", str(trial.epochs_to_converge),
            f"{trial.seconds:.1f}"]


def run_search_command(args: argparse.Namespace) -> int:
    from workbench.engine.plans.search import check_search, run_search, trials_file

    space = check_search(SearchSpace(args.optimizers, args.lrs, args.schedules),
                         model=args.model, epochs=args.epochs, batch_size=args.batch_size,
                         val_split=args.val_split, seed=args.seed)
    scale = scale_of(args, space.size)
    folder = args.dir or workspace.runs_dir() / f"search-{args.model}"
    workspace.check_writable(folder)
    err.print(f"Search {folder}: {space.size} trials of {args.epochs} epochs ({args.model}); "
              "trials already in trials.csv are skipped. "
              + ("Loading Keras ..." if scale.in_process else ray_line(scale)))

    def on_trial(event: Event) -> None:
        if not isinstance(event, TrialFinished):
            return
        trial = event.trial
        err.print(f"[{event.done}/{event.total}] {trial.optimizer} lr {trial.learning_rate:g} "
                  f"{trial.schedule}: best val acc {100 * trial.best_val_accuracy:.2f}% "
                  f"(epoch {trial.epochs_to_converge}), {trial.seconds:.1f} s")

    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        trials = run_search(folder, space, model=args.model, epochs=args.epochs,
                            batch_size=args.batch_size, val_split=args.val_split, seed=args.seed,
                            data=args.data, cpu=args.cpu, subscribers=[on_trial], stop=stop,
                            scale=scale)
    except KeyboardInterrupt:
        err.print(f"Interrupted; run the same command again to resume ({folder}/trials.csv "
                  "keeps the finished trials).")
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGINT, previous)
    if args.json:
        print(json.dumps({"folder": str(folder), "trials": [asdict(trial) for trial in trials]},
                         indent=2))
        return 0
    table = Table("rank", "optimizer", "lr", "schedule", "best val acc", "epochs to converge",
                  "seconds", title=f"{len(trials)} trials, best first")
    for rank, trial in enumerate(trials, 1):
        table.add_row(str(rank), *_row(trial))
    out.print(table)
    out.print(f"All trials: {trials_file(folder)}")
    return 0
