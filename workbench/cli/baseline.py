"""`workbench-engine baseline ...`: reference submissions that need no training."""

from __future__ import annotations

import argparse

from workbench.cli.output import out, whole_number
from workbench.cli.submission import check_advice
from workbench.engine.data.competition import load_competition
from workbench.engine.results.baseline import random_baseline
from workbench.engine.results.submission import write_submission


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = commands.add_parser("baseline", help="baselines that need no training")
    sub = group.add_subparsers(title="baselines", metavar="BASELINE", required=True)
    rand = sub.add_parser("random", parents=[common], help="random labels: the noise floor "
                          "(about 10%% accuracy)")
    rand.add_argument("--seed", type=_seed, default=0, help="a whole number, 0 or more")
    rand.add_argument("--name", default="random", help="submission name (submissions/NAME.csv)")
    rand.add_argument("--force", action="store_true", help="overwrite an existing submission")
    rand.set_defaults(run=run_random)


_seed = whole_number(0, "{value} is negative; a seed is 0 or more")


def run_random(args: argparse.Namespace) -> int:
    competition = load_competition(args.data)
    result = random_baseline(competition, seed=args.seed)
    if result.train_accuracy is not None:
        out.print(f"Random labels on the {competition.n_train:,} labelled rows: "
                  f"{100 * result.train_accuracy:.2f}% accuracy (chance is 10%).")
    path = write_submission(competition.test_ids, result.test_labels, args.name, force=args.force)
    out.print(f"Wrote {path} ({competition.n_test:,} rows); {check_advice(path, competition)}.")
    return 0
