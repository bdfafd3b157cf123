"""K-fold cross-validation: K fold runs over every labelled row, their out-of-fold predictions,
the averaged test submission, and the label-noise suspects the OOF predictions point at.

Each fold is an ordinary run that holds out one stratified fold (``TrainConfig.folds``/``fold``)
and predicts with its last epoch, so every one of the rows is scored by a model that never saw
it and whose epoch was not chosen on it. ``runs/cv/NAME.json`` (the manifest) records the recipe
and the fold runs; ``runs/cv/NAME/`` holds ``oof.npz``, ``test.npz`` and ``suspects.csv`` once
every fold has finished. Folds may train in separate processes or machines that share the runs
folder (``fold=i``): the manifest is changed only under a file lock, a fold is claimed (its
status set to running) before the lock is let go, and the gathering is a pure function of the
finished fold runs, so any order of processes writes the same files.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from workbench.engine.errors import Action, Option, WorkbenchError, shown
from workbench.engine.events import Subscriber
from workbench.engine.plans.members import train_members
from workbench.engine.plans.plan import Manifest, Member, check_plan_inputs
from workbench.engine.plans.scale import Scale, check_scale
from workbench.engine.recipes import DEFAULT_FOLDS
from workbench.engine.results.prediction import Prediction, load_npz, save_prediction, write_npz
from workbench.engine.results.review import Review, checked_review
from workbench.engine.runs import run as runs
from workbench.engine.store import atomic, files, locks
from workbench.engine.store.atomic import write_atomic
from workbench.engine.store.workspace import submissions_beside
from workbench.engine.training.config import TrainConfig, check_folds
from workbench.engine.training.predict import predict_run

Z95 = 1.959964


@dataclass(frozen=True)
class Suspect:
    """A labelled row whose OOF prediction confidently disagrees with its label."""

    id: int
    label: int
    predicted: int
    confidence: float  # the OOF probability of ``predicted``
    label_probability: float


@dataclass(frozen=True)
class CVSummary:
    """What a finished CV measured: OOF accuracy (95% Wilson interval) and the errors."""

    name: str
    folds: int
    rows: int
    accuracy: float
    interval: tuple[float, float]
    class_errors: list[int]
    confusion: list[list[int]]
    fold_accuracies: list[float]
    seconds: float
    suspects: int
    submission: str | None


@dataclass(frozen=True)
class CVResult:
    name: str
    status: str  # "finished", "interrupted", or "waiting" (folds still training elsewhere)
    runs: list[Path | None]  # by fold, then the refits
    summary: CVSummary | None = None
    submission: Path | None = None


def default_name(config: TrainConfig, folds: int) -> str:
    config = config.resolved()
    return f"{config.preset or config.model}-cv{folds}-seed{config.seed}"


def check_name(name: str) -> str:
    """``name`` if it can name a CV's files (``files.check_name``); else WorkbenchError."""
    return files.check_name(name, "a CV")


def check_plan(folds: int, fold: int | None = None, refit: int = 0) -> None:
    """Refuse a fold count, fold number or refit count that cannot be trained."""
    if isinstance(folds, int) and folds < 2:
        raise WorkbenchError(f"a CV needs at least 2 folds (got {folds}); use e.g. 5.")
    check_folds(folds)
    if refit < 0:
        raise WorkbenchError(f"refit must be 0 or more (got {refit}).")
    if fold is not None and not 0 <= fold < folds + refit:
        raise WorkbenchError(f"fold {fold} is not one of 0..{folds + refit - 1}.")


def fold_config(config: TrainConfig, folds: int, fold: int) -> TrainConfig:
    """Fold ``fold``'s run: the recipe holding out that fold, with seed + fold."""
    return replace(config, folds=folds, fold=fold, seed=config.seed + fold,
                   split_seed=config.validation_seed)


def refit_config(config: TrainConfig, folds: int, index: int) -> TrainConfig:
    """Refit ``index``: the recipe on every labelled row, seeded after the folds."""
    return replace(config, folds=None, fold=None, val_split=0.0,
                   seed=config.seed + folds + index, split_seed=config.validation_seed)


def manifest_path(name: str, runs_dir: Path = runs.RUNS_DIR) -> Path:
    return runs_dir / "cv" / f"{check_name(name)}.json"


def cv_folder(name: str, runs_dir: Path = runs.RUNS_DIR) -> Path:
    return runs_dir / "cv" / check_name(name)


def read_manifest(path: Path) -> dict:
    """The CV manifest at ``path`` ({} if there is none); WorkbenchError if it is damaged,
    which nothing then rewrites."""
    try:
        manifest = files.load_json(path) or {}
        if manifest and not _well_formed(manifest):
            raise ValueError(f"{path.name} does not hold a recipe and the runs of the folds")
    except ValueError as error:
        raise WorkbenchError(f"the CV's manifest {shown(str(path))} is damaged ({error})",
                             ("delete it to start the CV anew, or give another name (",
                              Option("name"), ").")) from None
    return manifest


def _well_formed(manifest: dict) -> bool:
    """A recipe with a plausible number of folds and refits (or the CVs it combines), and fold
    runs named by plain folder names (none that escapes the runs folder)."""
    recipe, ids = manifest.get("recipe"), manifest.get("runs")
    if not (isinstance(recipe, dict) and isinstance(ids, dict)):
        return False
    combined = recipe.get("combine")
    return ((isinstance(combined, list) and all(isinstance(part, str) for part in combined)
             if combined is not None else
             files.is_count(recipe.get("folds")) and 2 <= recipe["folds"] <= 1000
             and files.is_count(recipe.get("refit", 0)) and recipe.get("refit", 0) <= 1000)
            and all(isinstance(run, str) and files.NAME.fullmatch(run) for run in ids.values()))


def train_cv(
    config: TrainConfig,
    folds: int = DEFAULT_FOLDS,
    *,
    fold: int | None = None,
    refit: int = 0,
    name: str | None = None,
    tta: bool = False,
    runs_dir: Path = runs.RUNS_DIR,
    submissions_dir: Path | None = None,
    subscribers: Iterable[Subscriber] = (),
    stop: threading.Event | None = None,
    scale: Scale | None = None,
) -> CVResult:
    """Train (or continue) the folds of ``config``'s CV, or fold ``fold`` alone, plus ``refit``
    models on every row, one at a time or as ``scale`` says; once every one has finished,
    gather the OOF predictions and write the submission. Folds running in another process are
    left to it."""
    check_plan(folds, fold, refit)
    if name is not None:
        check_name(name)
    config = replace(config.resolved(), folds=None, fold=None)
    name = name or default_name(config, folds)
    plan = [Member(i, "fold", fold_config(config, folds, i).resolved()) for i in range(folds)] + [
        Member(folds + i, "refit", refit_config(config, folds, i).resolved())
        for i in range(refit)]  # a bad recipe is refused before any folder is made
    chosen = [plan[fold]] if fold is not None else plan
    if scale is not None:
        scale = check_scale(scale, len(chosen))
    inputs = check_plan_inputs(chosen)
    recipe = {**config.to_dict(), "folds": folds, "refit": refit}
    manifest = _members_manifest(manifest_path(name, runs_dir))
    manifest.begin(f"CV '{name}'", recipe, {"runs": {}})
    status = train_members(manifest, chosen, len(plan), runs_dir, scale=scale,
                           subscribers=list(subscribers), stop=stop, inputs=inputs)
    if status == "interrupted":
        return CVResult(name, "interrupted", cv_status(name, runs_dir).members)
    return gather(name, runs_dir=runs_dir, submissions_dir=submissions_dir, tta=tta)


def _members_manifest(path: Path) -> Manifest:
    """How a CV's manifest names its members' runs: ``runs``, by member index."""
    return Manifest(path, read_manifest,
                    lambda manifest, index: manifest["runs"].get(str(index)),
                    lambda manifest, index, run: {**manifest,
                                                  "runs": {**manifest["runs"], str(index): run}})


def gather(name: str, *, runs_dir: Path = runs.RUNS_DIR,
           submissions_dir: Path | None = None, tta: bool = False) -> CVResult:
    """Once every member has finished: the OOF predictions, the summary, the suspects and the
    submission (the members' test probabilities averaged: into ``submissions_dir``, default
    beside the runs folder). Else a "waiting" result."""
    state = cv_status(name, runs_dir)
    if state.problem:
        raise WorkbenchError(state.problem)
    if not all(state.finished):
        return CVResult(name, "waiting", state.members)
    path = manifest_path(name, runs_dir)
    with _members_manifest(path).held():
        predictions = [predict_run(runs.Run.open(run), tta) for run in state.members
                       if run is not None]
        ids = predictions[0].image_ids
        other = next((run for run, p in zip(state.members, predictions)
                      if not np.array_equal(p.image_ids, ids)), None)
        if other is not None:  # test.csv changed between folds: no average means anything
            raise WorkbenchError(f"the CV's members predicted different test sets ({other.name}'s "
                                 "is not the first's): the data changed between them",
                                 ("start the CV again under a new name (", Option("name"),
                                  ") on the data you mean."))
        oof, labels, fold_of = _out_of_fold(predictions[:state.folds])
        test = np.mean([p.test_probabilities for p in predictions], axis=0)
        summary, submission = _write_outputs(name, runs_dir,
                                             submissions_dir or submissions_beside(runs_dir),
                                             oof, labels,
                                             fold_of, test, predictions[0].image_ids,
                                             state.seconds)
    return CVResult(name, "finished", state.members, summary, submission)


def combine(names: list[str], name: str, *, runs_dir: Path = runs.RUNS_DIR,
            submissions_dir: Path | None = None) -> CVResult:
    """A CV of gathered CVs made on the same folds (the same --folds and --seed): their OOF and
    test probabilities averaged. Every row is still scored only by models that never saw it, so
    the OOF accuracy of a mixed ensemble (architectures, schedules) is as honest as one CV's."""
    if len(names) < 2:
        raise WorkbenchError("combine needs at least two CVs.")
    check_name(name)
    if name in names:
        raise WorkbenchError(f"the combined CV needs a name of its own, not '{name}'.")
    twice = next((part for part in names if names.count(part) > 1), None)
    if twice is not None:
        raise WorkbenchError(f"CV '{twice}' is given more than once; give each CV once (a CV "
                             "averaged with itself is no mix).")
    parts = []
    for part in names:
        folder = cv_folder(part, runs_dir)
        try:
            oof = load_npz(folder / "oof.npz", "probabilities", "labels", "folds")
            test = load_npz(folder / "test.npz", "probabilities", "image_ids")
            rows = len(oof["labels"])
            if not (oof["probabilities"].shape == (rows, 10) == (len(oof["folds"]), 10)
                    and test["probabilities"].shape == (len(test["image_ids"]), 10)
                    and rows and oof["folds"].min() >= 0):
                raise ValueError("its arrays do not fit together")
        except ValueError:
            raise WorkbenchError(f"CV '{part}' has not been gathered (or is damaged); finish its "
                                 "folds first (the same cv command continues it).") from None
        parts.append((oof["probabilities"], oof["labels"], oof["folds"],
                      test["probabilities"], test["image_ids"]))
    first = parts[0]
    for part, (_, labels, folds, _, ids) in zip(names[1:], parts[1:]):
        if not (np.array_equal(folds, first[2]) and np.array_equal(labels, first[1])):
            raise WorkbenchError(f"CVs '{names[0]}' and '{part}' hold out different folds",
                                 ("combine CVs made on the same data with the same folds (",
                                  Option("folds"), ") and seed (", Option("seed"), ")."))
        if not np.array_equal(ids, first[4]):
            raise WorkbenchError(f"CVs '{names[0]}' and '{part}' predicted different test sets.")
    summaries = [read_summary(part, runs_dir) for part in names]
    seconds = sum(summary.seconds for summary in summaries if summary is not None)
    oof = np.mean([p[0] for p in parts], axis=0)  # before anything is written
    test = np.mean([p[3] for p in parts], axis=0)
    path = manifest_path(name, runs_dir)
    with _members_manifest(path).held():
        existing = read_manifest(path)
        if existing and existing["recipe"].get("combine") != list(names):
            raise WorkbenchError(f"CV '{name}' already exists",
                                 ("give the combined CV a new name (", Option("name"), ")."))
        atomic.write_json(path, {"recipe": {"combine": list(names),
                                          "folds": int(first[2].max()) + 1, "refit": 0},
                               "runs": {}})
        summary, submission = _write_outputs(
            name, runs_dir, submissions_dir or submissions_beside(runs_dir),
            oof, first[1], first[2], test, first[4], seconds)
    return CVResult(name, "finished", [], summary, submission)


def _write_outputs(name: str, runs_dir: Path, submissions_dir: Path, oof: np.ndarray,
                   labels: np.ndarray, fold_of: np.ndarray, test: np.ndarray,
                   image_ids: np.ndarray, seconds: float) -> tuple[CVSummary, Path | None]:
    """oof.npz, test.npz, suspects.csv, the submission and the manifest's summary (under the
    manifest's lock, which also makes what a crash cut short here safe to clear)."""
    folder = cv_folder(name, runs_dir)
    locks.remove_temp_files(folder)
    locks.remove_temp_files(submissions_dir, f"{name}.")
    ids = np.arange(1, len(labels) + 1)
    write_npz(folder / "oof.npz", probabilities=oof, labels=labels, ids=ids, folds=fold_of)
    write_npz(folder / "test.npz", probabilities=test, image_ids=image_ids)
    suspects = propose_suspects(oof, labels)
    write_suspects(folder / "suspects.csv", suspects)
    submission = (save_prediction(Prediction(test, image_ids, oof, labels, ids), name,
                                  force=True, directory=submissions_dir)
                  if len(image_ids) else None)
    summary = summarize(name, oof, labels, fold_of, seconds, len(suspects), submission)
    path = manifest_path(name, runs_dir)
    atomic.write_json(path, {**read_manifest(path), "summary": _as_json(summary)})
    return summary, submission


@dataclass(frozen=True)
class CVStatus:
    """Where a CV stands: its members (folds, then refits) and which have finished."""

    name: str
    folds: int
    refit: int
    members: list[Path | None]
    finished: list[bool]
    seconds: float  # training time of its members (a combined CV: of its parts)
    combine: list[str]
    summary: CVSummary | None
    problem: str | None = None  # a damaged manifest: what is wrong and the fix

    @property
    def progress(self) -> str:
        """The members finished, as the faces show it: "3/5 + 0/1 refit", or the parts."""
        if self.combine:
            return "combined: " + " + ".join(self.combine)
        return f"{sum(self.finished[:self.folds])}/{self.folds}" + (
            f" + {sum(self.finished[self.folds:])}/{self.refit} refit" if self.refit else "")


def cv_status(name: str, runs_dir: Path = runs.RUNS_DIR) -> CVStatus:
    """Where CV ``name`` stands; a damaged manifest reads as no members, with ``problem``."""
    path = manifest_path(name, runs_dir)
    if not path.is_file():
        raise WorkbenchError(f"no CV '{name}' in {runs_dir / 'cv'}", ("start it with ",
                                                                      Action("cv"), "."))
    try:
        manifest = read_manifest(path)
    except WorkbenchError as error:
        return CVStatus(name, 0, 0, [], [], 0.0, [], None, str(error))
    recipe, ids = manifest["recipe"], manifest["runs"]
    folds, refit = recipe.get("folds", 0), recipe.get("refit", 0)
    combined = list(recipe.get("combine") or [])
    summary = read_summary(name, runs_dir)
    if combined:
        return CVStatus(name, folds, 0, [], [summary is not None],
                        summary.seconds if summary else 0.0, combined, summary)
    members = [runs_dir / str(ids[str(i)]) if str(i) in ids else None
               for i in range(folds + refit)]
    opened = [None if run is None else runs.Run(run) for run in members]
    finished = [run is not None and run.path.is_dir() and run.status == "finished"
                for run in opened]
    seconds = sum(run.seconds for run in opened if run is not None)
    if not all(finished):
        summary = None  # a member deleted since: its figures wait for the member again
    return CVStatus(name, folds, refit, members, finished, seconds, [], summary)


def _out_of_fold(predictions: list[Prediction]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every labelled row's probabilities from the fold that held it out."""
    rows = sum(len(p.val_ids) for p in predictions)
    oof = np.zeros((rows, 10), np.float32)
    labels = np.zeros(rows, np.uint8)
    fold_of = np.full(rows, -1, np.int64)
    for fold, prediction in enumerate(predictions):
        index = np.asarray(prediction.val_ids, dtype=np.int64) - 1
        if len(index) and (index.max() >= rows or (fold_of[index] >= 0).any()):
            raise WorkbenchError("the CV's folds overlap: its runs were not made by one CV",
                                 ("start it again under a new name (", Option("name"), ")."))
        oof[index], labels[index], fold_of[index] = (prediction.val_probabilities,
                                                     prediction.val_labels, fold)
    if (fold_of < 0).any():
        raise WorkbenchError("the CV's folds do not cover every row",
                             ("start it again under a new name (", Option("name"), ")."))
    return oof, labels, fold_of


def wilson_interval(correct: int, total: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion (honest near 100%, unlike p ± 1.96·se)."""
    if not total:
        return 0.0, 1.0
    p = correct / total
    centre = (p + Z95 ** 2 / (2 * total)) / (1 + Z95 ** 2 / total)
    half = Z95 * math.sqrt(p * (1 - p) / total + Z95 ** 2 / (4 * total ** 2)) / (
        1 + Z95 ** 2 / total)
    return centre - half, centre + half


def summarize(name: str, oof: np.ndarray, labels: np.ndarray, fold_of: np.ndarray,
              seconds: float, suspects: int, submission: Path | None) -> CVSummary:
    predicted = oof.argmax(axis=1)
    right = predicted == labels
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels.astype(int), predicted), 1)
    folds = int(fold_of.max()) + 1
    return CVSummary(
        name, folds, len(labels), float(right.mean()), wilson_interval(int(right.sum()),
                                                                       len(labels)),
        [int(confusion[d].sum() - confusion[d, d]) for d in range(10)], confusion.tolist(),
        [float(right[fold_of == f].mean()) for f in range(folds)], seconds, suspects,
        None if submission is None else str(submission))


def _as_json(summary: CVSummary) -> dict:
    data = dict(summary.__dict__)
    data["interval"] = list(summary.interval)
    return data


def read_summary(name: str, runs_dir: Path = runs.RUNS_DIR) -> CVSummary | None:
    """A gathered CV's summary from its manifest (None until every fold has finished)."""
    data = files.read_json(manifest_path(name, runs_dir)).get("summary")
    if not isinstance(data, dict):
        return None
    try:
        summary = CVSummary(**{**data, "interval": tuple(data["interval"])})
    except (TypeError, KeyError):
        return None
    if not all(isinstance(value, list) for value in (summary.fold_accuracies,
                                                     summary.class_errors, summary.confusion)):
        return None  # a number where a list belongs: damaged
    numbers = [summary.accuracy, summary.seconds, *summary.interval, *summary.fold_accuracies]
    counts = [summary.folds, summary.rows, summary.suspects, *summary.class_errors]
    well_formed = (len(summary.interval) == 2 and isinstance(summary.fold_accuracies, list)
                   and isinstance(summary.class_errors, list)
                   and isinstance(summary.confusion, list)
                   and all(files.is_number(value) for value in numbers)
                   and all(files.is_count(value) for value in counts)
                   and isinstance(summary.submission, (str, type(None))))
    return summary if well_formed else None


def list_cvs(runs_dir: Path = runs.RUNS_DIR) -> list[str]:
    """The names of the CVs in ``runs_dir``, oldest first."""
    folder = runs_dir / "cv"
    if not folder.is_dir():
        return []
    manifests = [p for p in folder.glob("*.json") if files.NAME.fullmatch(p.stem)
                 and len(p.stem) <= files.MAX_NAME and p.is_file()]
    return [p.stem for p in sorted(manifests, key=_modified)]


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def propose_suspects(oof: np.ndarray, labels: np.ndarray) -> list[Suspect]:
    """Rows whose OOF prediction disagrees with the label with high confidence, most confident
    first: confident learning's rule, a row is a suspect when its predicted class's probability
    reaches that class's own threshold (the mean probability the class gets on rows labelled
    with it), so a class the model is unsure of needs no fixed cut-off."""
    labels = labels.astype(int)
    predicted = oof.argmax(axis=1)
    thresholds = np.array([oof[labels == d, d].mean() if (labels == d).any() else 1.0
                           for d in range(10)])
    confidence = oof[np.arange(len(labels)), predicted]
    rows = np.flatnonzero((predicted != labels) & (confidence >= thresholds[predicted]))
    rows = rows[np.argsort(-confidence[rows], kind="stable")]
    return [Suspect(int(r) + 1, int(labels[r]), int(predicted[r]), float(confidence[r]),
                    float(oof[r, labels[r]])) for r in rows]


def write_suspects(path: Path, suspects: list[Suspect]) -> None:
    lines = ["id,label,predicted,confidence,label_probability"] + [
        f"{s.id},{s.label},{s.predicted},{s.confidence:.6f},{s.label_probability:.6f}"
        for s in suspects]
    write_atomic(path, ("\n".join(lines) + "\n").encode())


def read_proposed(name: str, runs_dir: Path = runs.RUNS_DIR) -> list[Suspect]:
    """The suspects a gathered CV proposed, most confident first ([] before it is gathered)."""
    try:
        text = files.read_text(cv_folder(name, runs_dir) / "suspects.csv") or ""
    except ValueError:
        return []
    suspects = []
    for line in text.splitlines()[1:]:
        cells = line.split(",")
        try:
            suspects.append(Suspect(int(cells[0]), int(cells[1]), int(cells[2]),
                                    float(cells[3]), float(cells[4])))
        except (ValueError, IndexError):
            continue
    return suspects


def review_cv(name: str, runs_dir: Path = runs.RUNS_DIR) -> Review:
    """The OOF predictions of every labelled row, as a Review (accuracy, confusion, mistakes)."""
    path = cv_folder(name, runs_dir) / "oof.npz"
    try:
        saved = load_npz(path, "probabilities", "labels", "ids")
        return checked_review(saved["probabilities"], saved["labels"], saved["ids"], path.name)
    except ValueError:
        raise WorkbenchError(f"CV '{name}' has no out-of-fold predictions yet (or they are "
                             "damaged); finish its folds first (the same cv command continues "
                             "it, and gathers them anew).") from None
