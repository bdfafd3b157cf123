"""Pictures to keep and share: runs' curves and a confusion matrix as PNG, each with its numbers
as CSV. Drawn with Pillow (already a dependency) and its bundled font, so a figure looks the same
on every machine and no plotting library is needed."""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from workbench.engine.errors import shown
from workbench.engine.plans.cv import cv_status, list_cvs, review_cv
from workbench.engine.results.review import review_run
from workbench.engine.runs import listing, run as runs
from workbench.engine.store.atomic import write_atomic

PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
INK, GRID, PAPER = (40, 40, 40), (225, 225, 225), (255, 255, 255)
HISTORY_FIELDS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate",
                  "seconds")

Series = tuple[Sequence[float], Sequence[float]]


@dataclass(frozen=True)
class Exported:
    """What an export wrote, in the order written."""

    folder: Path
    files: list[Path]


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _ticks(low: float, high: float, count: int = 5, least: float = 0.0) -> list[float]:
    """About ``count`` round values from ``low`` to ``high``, ``least`` apart at least."""
    if high <= low:
        return [low]
    step = max(10 ** math.floor(math.log10((high - low) / count)), least)
    for factor in (1, 2, 5, 10):
        if (high - low) / (step * factor) <= count:
            step *= factor
            break
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def curves_image(title: str, ylabel: str, series: Mapping[str, Series],
                 size: tuple[int, int] = (900, 520)) -> Image.Image:
    """A line chart: one coloured line per named series (x: epoch), with a legend."""
    width, height = size
    image = Image.new("RGB", size, PAPER)
    draw = ImageDraw.Draw(image)
    small, large = _font(14), _font(18)
    left, right, top, bottom = 80, width - 20, 50, height - 60
    draw.text((width / 2, 14), title, fill=INK, font=large, anchor="mt")
    points = [(x, y) for xs, ys in series.values() for x, y in zip(xs, ys)
              if y is not None and math.isfinite(y)]
    if not points:
        draw.text((width / 2, height / 2), "no values", fill=INK, font=small, anchor="mm")
        return image
    x_low, x_high = 0.0, max(max(x for x, _ in points), 1.0)
    y_low, y_high = min(y for _, y in points), max(y for _, y in points)
    if y_high - y_low < 1e-9:
        y_low, y_high = y_low - 0.5, y_high + 0.5
    pad = (y_high - y_low) * 0.05
    y_low, y_high = y_low - pad, y_high + pad

    def at(x: float, y: float) -> tuple[float, float]:
        return (left + (x - x_low) / (x_high - x_low) * (right - left),
                bottom - (y - y_low) / (y_high - y_low) * (bottom - top))

    for y in _ticks(y_low, y_high):
        _, py = at(x_low, y)
        draw.line([(left, py), (right, py)], fill=GRID)
        draw.text((left - 8, py), f"{y:.4g}", fill=INK, font=small, anchor="rm")
    for x in _ticks(x_low, x_high, 10, least=1):  # whole epochs
        px, _ = at(x, y_low)
        draw.line([(px, bottom), (px, bottom + 5)], fill=INK)
        draw.text((px, bottom + 8), f"{x:g}", fill=INK, font=small, anchor="mt")
    draw.rectangle([left, top, right, bottom], outline=INK)
    draw.text(((left + right) / 2, height - 22), "epoch", fill=INK, font=small, anchor="mm")
    draw.text((left, top - 6), ylabel, fill=INK, font=small, anchor="ld")
    for index, (name, (xs, ys)) in enumerate(series.items()):
        colour = PALETTE[index % len(PALETTE)]
        line = [at(x, y) for x, y in zip(xs, ys) if y is not None and math.isfinite(y)]
        if len(line) > 1:
            draw.line(line, fill=colour, width=3, joint="curve")
        for px, py in line if len(line) <= 60 else []:
            draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=colour)
        legend_y = top + 10 + 20 * index
        draw.line([(left + 12, legend_y), (left + 36, legend_y)], fill=colour, width=3)
        draw.text((left + 42, legend_y), name, fill=INK, font=small, anchor="lm")
    return image


def confusion_image(title: str, matrix: np.ndarray, cell: int = 48) -> Image.Image:
    """The confusion matrix: true digits as rows, predictions as columns; the diagonal in
    greens, mistakes on a log heat scale (white, then yellow to red), every count written."""
    margin, top = 60, 70
    size = (margin + 10 * cell + 20, top + 10 * cell + 20)
    image = Image.new("RGB", size, PAPER)
    draw = ImageDraw.Draw(image)
    small, large = _font(14), _font(18)
    draw.text((size[0] / 2, 12), title, fill=INK, font=large, anchor="mt")
    draw.text((margin + 5 * cell, top - 34), "predicted", fill=INK, font=small, anchor="mm")
    draw.text((14, top + 5 * cell), "true", fill=INK, font=small, anchor="lm")
    matrix = np.asarray(matrix, dtype=np.int64)
    right = int(matrix.diagonal().max() or 1)
    wrong = int((matrix - np.diag(matrix.diagonal())).max() or 1)
    for digit in range(10):
        draw.text((margin + digit * cell + cell / 2, top - 12), str(digit), fill=INK,
                  font=small, anchor="mm")
        draw.text((margin - 12, top + digit * cell + cell / 2), str(digit), fill=INK,
                  font=small, anchor="mm")
    for true in range(10):
        for predicted in range(10):
            count = int(matrix[true, predicted])
            if true == predicted:
                share = count / right
                colour = tuple(round(255 - (255 - c) * share) for c in (35, 139, 69))
            elif count:
                share = math.log1p(count) / math.log1p(wrong)
                colour = (255, round(230 - 190 * share), round(150 - 130 * share))
            else:
                colour = PAPER
            x, y = margin + predicted * cell, top + true * cell
            draw.rectangle([x, y, x + cell, y + cell], fill=colour, outline=GRID)
            if count:
                dark = sum(colour) < 400
                draw.text((x + cell / 2, y + cell / 2), str(count),
                          fill=PAPER if dark else INK, font=small, anchor="mm")
    return image


def export_runs(members: list[Path], out: Path, confusions: dict[str, np.ndarray]) -> Exported:
    """``out``/curves.png and curves.csv for the runs ``members`` (every epoch's figures,
    overlaid), and confusion-NAME.png and .csv for each named matrix of ``confusions``."""
    files = []
    histories = {run.name: runs.read_history(run) for run in members}
    if histories:
        accuracy = {name: ([r["epoch"] for r in rows], [r["val_accuracy"] for r in rows])
                    for name, rows in histories.items()}
        loss = {name: ([r["epoch"] for r in rows], [r["val_loss"] for r in rows])
                for name, rows in histories.items()}
        top = curves_image("validation accuracy", "val acc", accuracy)
        bottom = curves_image("validation loss", "val loss", loss)
        both = Image.new("RGB", (top.width, top.height + bottom.height), PAPER)
        both.paste(top, (0, 0))
        both.paste(bottom, (0, top.height))
        files.append(_write(out / "curves.png", _png(both)))
        files.append(_write(out / "curves.csv", _csv(("run", *HISTORY_FIELDS), [
            (name, *("" if row[f] is None else row[f] for f in HISTORY_FIELDS))
            for name, rows in histories.items() for row in rows])))
    for name, matrix in confusions.items():
        files.append(_write(out / f"confusion-{name}.png",
                            _png(confusion_image(f"confusion matrix: {name}", matrix))))
        files.append(_write(out / f"confusion-{name}.csv", _csv(
            ("true \\ predicted", *range(10)),
            [(digit, *row) for digit, row in enumerate(np.asarray(matrix, np.int64).tolist())])))
    return Exported(out, files)


def export_folder(exports: Path, name: str) -> Path:
    """A new folder under ``exports`` for one export: NAME-YYYYmmdd-HHMMSS (a number after it
    if taken)."""
    stem = f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder, number = exports / stem, 1
    while folder.exists():
        number += 1
        folder = exports / f"{stem}-{number}"
    return folder


def _csv(header: Sequence[object], rows: list[Sequence[object]]) -> bytes:
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return table.getvalue().encode()


def _write(path: Path, content: bytes) -> Path:
    write_atomic(path, content)
    return path


def export(refs: list[str], runs_dir: Path, out: Path | None = None) -> Exported:
    """Export runs and CVs named by ``refs`` (a run id, prefix or folder, 'last', or a CV's
    name): the runs' curves (a CV's: its folds'), and each one's confusion matrix (a run's on
    its held-out rows, a CV's out of fold). Into ``out``, default a new folder under exports/
    beside the runs folder. WorkbenchError, before anything is written, for a bad ref."""
    members: list[Path] = []
    confusions: dict[str, np.ndarray] = {}
    cvs = set(list_cvs(runs_dir))
    for ref in refs:
        if ref in cvs and not (Path(ref) / "config.json").is_file():
            members += [run for run in cv_status(ref, runs_dir).members if run is not None]
            confusions[ref] = review_cv(ref, runs_dir).confusion
        else:
            run = listing.find_run(ref, runs_dir)
            members.append(run.path)
            if run.val_predictions.is_file():
                confusions[run.id] = review_run(run).confusion
    folder = out or export_folder(runs_dir.parent / "exports",
                                  shown(refs[0] if len(refs) == 1 else "runs", 60))
    return export_runs(list(dict.fromkeys(members)), folder, confusions)
