"""Predicting with a run's checkpoint (with optional test-time augmentation), and ensembles of
runs: the saved predictions when they are whole, else the model and its recipe's data."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np

from workbench.engine.data.competition import load_competition
from workbench.engine.errors import Option, WorkbenchError, shown
from workbench.engine.network.inference import load_checkpoint, predict_probabilities
from workbench.engine.results.prediction import (
    Prediction,
    checked,
    load_npz,
    on_common_rows,
    write_npz,
)
from workbench.engine.runs import run as runs
from workbench.engine.training.config import TrainConfig


def predict_run(run: runs.Run, tta: bool = False) -> Prediction:
    """A run's predictions (``Run.open`` has checked it): those saved at training (with ``tta``:
    those saved by an earlier TTA prediction of the same checkpoint, a cache made anew if
    damaged), else made anew from its kept checkpoint. RunDamaged if its saved predictions are
    damaged."""
    if tta:
        saved, checkpoint = run.tta_predictions, run.kept_checkpoint
        if (saved.is_file() and checkpoint.is_file()
                and saved.stat().st_mtime >= checkpoint.stat().st_mtime):
            try:
                arrays = load_npz(saved, *(field.name for field in fields(Prediction)))
                return checked(run.path, Prediction(*(arrays[field.name]
                                                  for field in fields(Prediction))), saved.name)
            except (ValueError, runs.RunDamaged):
                pass  # a cache: made anew below
        prediction = predict_checkpoint(run, checkpoint, tta=tta)
        write_npz(saved, **{field.name: getattr(prediction, field.name)
                            for field in fields(Prediction)})
        return prediction
    saved_val, saved_test = run.val_predictions, run.test_predictions
    if not saved_test.is_file():
        return predict_checkpoint(run, run.kept_checkpoint, tta=tta)
    try:
        test = load_npz(saved_test, "probabilities", "image_ids")
        val: dict[str, np.ndarray] = (
            load_npz(saved_val, "probabilities", "labels", "ids") if saved_val.is_file()
            else {"probabilities": np.zeros((0, 10), np.float32),
                  "labels": np.zeros(0, np.uint8), "ids": np.zeros(0, np.int64)})
    except ValueError as error:
        raise runs.RunDamaged(run.path, str(error)) from None
    return checked(run.path, Prediction(test["probabilities"], test["image_ids"],
                                    val["probabilities"], val["labels"], val["ids"]),
                    "its saved predictions")


def predict_checkpoint(run: runs.Run, path: Path | None = None,
                       tta: bool = False) -> Prediction:
    """Predict the test set and the run's held-out rows anew with the checkpoint at ``path``
    (default: its best)."""
    path = path or run.best_checkpoint
    if not path.is_file():
        raise WorkbenchError(f"{run.id} has no checkpoint yet",
                             ("train it first: resume it (", Option("resume"), ")."))
    try:
        config = TrainConfig.from_dict(run.config).resolved()
    except (TypeError, ValueError, WorkbenchError) as error:
        raise runs.RunDamaged(run.path, "config.json holds a recipe that cannot be used ("
                              f"{shown(str(error).rstrip('.'), 120)})") from None
    competition = load_competition(config.data)
    model = load_checkpoint(path)
    _, val_idx = config.held_out(competition.train_labels)
    return Prediction(
        predict_probabilities(model, competition.test_images, tta), competition.test_ids,
        predict_probabilities(model, competition.train_images[val_idx], tta),
        competition.train_labels[val_idx], val_idx + 1)


def ensemble_runs(members: list[runs.Run], tta: bool = False) -> Prediction:
    """Average the members' probabilities; validation on the rows every member held out."""
    if len(members) < 2:
        raise WorkbenchError("an ensemble needs at least two runs.")
    predictions = [predict_run(run, tta) for run in members]
    ids = predictions[0].image_ids
    if any(not np.array_equal(p.image_ids, ids) for p in predictions):
        raise WorkbenchError("the runs predicted different test sets; ensemble runs trained on "
                             "the same data.")
    val, labels, common = on_common_rows(
        [(p.val_probabilities, p.val_labels, p.val_ids) for p in predictions])
    return Prediction(np.mean([p.test_probabilities for p in predictions], axis=0), ids,
                      np.mean(val, axis=0) if len(common) else np.zeros((0, 10), np.float32),
                      labels, common)
