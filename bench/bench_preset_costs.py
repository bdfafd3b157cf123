"""What each preset costs to train on this machine, before anyone waits for it: a step of the
preset's model timed on random images (the engine's own estimate, `engine.estimate`), times the
steps of a run on Kaggle's 37,800 training rows (a 10% split) and of one 5-fold CV fold
(33,600 rows). Prints a Markdown table; no data needed.

    python bench/bench_preset_costs.py [--precision auto|float32|mixed_bfloat16]
"""

from __future__ import annotations

import argparse
import os
import platform

from workbench.engine.network import backend
from workbench.engine.recipes import PRESETS
from workbench.engine.training.config import TrainConfig
from workbench.engine.training.estimate import _steps, _time_steps


def duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args()
    device = backend.device(False)
    policy = backend.precision_policy(args.precision, device)
    backend.set_precision(policy)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {device}, "
          f"{policy}\n")
    print("| preset | model | epochs | s a step | a run (37,800 rows) | a CV fold (33,600) | "
          "5-fold CV |")
    print("|---|---|---|---|---|---|---|")
    for name in PRESETS:
        config = TrainConfig(preset=name, precision=args.precision).resolved()
        step = _time_steps(config)
        run = step * _steps(config, 37_800) * config.epochs
        fold = step * _steps(config, 33_600) * config.epochs
        print(f"| {name} | {config.model} | {config.epochs} | {step:.3f} | {duration(run)} | "
              f"{duration(fold)} | {duration(5 * fold)} |")


if __name__ == "__main__":
    main()
