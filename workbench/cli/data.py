"""`workbench-engine data ...`: look at the competition's data."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from workbench.cli.output import (
    CliConsole,
    digit_bars,
    err,
    labelled,
    out,
    progress_bar,
    whole_number,
)
from workbench.engine.data.competition import load_competition
from workbench.engine.errors import WorkbenchError, printable


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = commands.add_parser("data", help="look at the data: info, show, export-png")
    sub = group.add_subparsers(title="data commands", metavar="COMMAND", required=True)

    info = sub.add_parser("info", parents=[common], help="rows, class balance, pixel statistics, "
                          "duplicate images")
    info.add_argument("--json", action="store_true", help="print the report as JSON")
    info.set_defaults(run=run_info)

    show = sub.add_parser("show", parents=[common], help="draw one digit in the terminal")
    show.add_argument("id", type=int, metavar="ID", help="1-based row of train.csv, or the "
                      "ImageId in test.csv")
    show.add_argument("--split", choices=("train", "test"), default="train")
    show.add_argument("--style", choices=("blocks", "ascii"),
                      help="half-block greyscale or pure ASCII (default: blocks on a terminal)")
    show.set_defaults(run=run_show)

    export = sub.add_parser("export-png", parents=[common], help="write every digit as a PNG: "
                            "train/<label>/<id>.png and test/<id>.png (resumable)")
    export.add_argument("out", type=Path, metavar="OUT", help="output folder")
    export.add_argument("--workers", type=_positive_int, help="processes (default: one per core)")
    export.set_defaults(run=run_export)


_positive_int = whole_number(1, "{value} is not a number of processes; give 1 or more")


def run_info(args: argparse.Namespace) -> int:
    from workbench.engine.data.stats import data_info

    info = data_info(load_competition(args.data))
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
        return 0
    dup = info.duplicates
    out.print(labelled("Data", info.source))
    out.print(labelled("Rows", f"{info.train_rows:,} train (labelled), {info.test_rows:,} test"))
    if info.train_rows:
        out.print()
        out.print(labelled("Class balance", "(train)"))
        out.print(digit_bars(info.class_counts, 40))
        out.print(labelled("Ink", "lit pixels per digit, mean: " + "  ".join(
            f"{d}: {v:.0f}" for d, v in info.mean_ink_per_class.items())))
    out.print(labelled("Pixels", f"mean {info.pixel_mean:.1f}, std {info.pixel_std:.1f}, "
              f"{100 * info.zero_fraction:.1f}% zero; {info.always_zero_pixels} of 784 positions "
              "are 0 in every image"))
    out.print(labelled("Duplicates", f"train: {dup.train_groups} images repeated "
              f"({dup.train_extra_copies} extra copies, {dup.train_conflicting_labels} with "
              f"conflicting labels); test: {dup.test_groups} repeated; in both train and test: "
              f"{dup.train_test_shared}"))
    return 0


def run_show(args: argparse.Namespace) -> int:
    from workbench.render import digit_ascii, digit_blocks

    competition = load_competition(args.data)
    images = competition.train_images if args.split == "train" else competition.test_images
    if not len(images):
        other = "test" if args.split == "train" else "train"
        raise WorkbenchError(f"{competition.source} has no {args.split} images (only {other} "
                             f"ones); use --split {other}, or point --data at data with a "
                             f"{args.split}.csv.")
    if not 1 <= args.id <= len(images):
        raise WorkbenchError(f"{args.split} has ids 1..{len(images):,}; {args.id} is not one of "
                             "them.")
    image = images[args.id - 1]
    if args.split == "train":
        title = f"train #{args.id}: label {competition.train_labels[args.id - 1]}"
    else:
        title = f"test ImageId {args.id} (unlabelled)"
    style = args.style or ("blocks" if sys.stdout.isatty() else "ascii")
    out.print(title)
    if style == "blocks":
        console = out if out.is_terminal else CliConsole(force_terminal=True,
                                                          color_system="truecolor")
        console.print(digit_blocks(image))
    else:
        print(digit_ascii(image))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from workbench.engine.data.export import export_png

    if args.out.exists() and not args.out.is_dir():
        raise WorkbenchError(f"{args.out} is a file; give a folder (new or existing) for the "
                             "PNGs.")
    competition = load_competition(args.data)
    start = time.perf_counter()
    with progress_bar() as bar:
        task = bar.add_task("Writing PNGs", total=None)
        result = export_png(competition, args.out, workers=args.workers,
                            on_progress=lambda done, total: bar.update(task, completed=done,
                                                                       total=total))
    err.print(f"Wrote {result.written:,} PNGs to {printable(str(args.out))} in "
              f"{time.perf_counter() - start:.1f} s ({result.skipped:,} already there, skipped).")
    return 0
