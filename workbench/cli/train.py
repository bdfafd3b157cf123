"""`workbench-engine train | predict | ensemble`: training runs and their predictions."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from workbench.cli.output import NO_COMMON_ROWS, RUNS_DIR_HELP, err, out
from workbench.engine import events, recipes
from workbench.engine.errors import WorkbenchError, shown
from workbench.engine.network.backend import PRECISIONS
from workbench.engine.network.models import MODELS
from workbench.engine.runs.listing import find_run
from workbench.engine.runs.run import Run, RunBusy
from workbench.engine.store import workspace
from workbench.engine.store.files import MAX_NAME, NAME, check_name
from workbench.engine.training.resume import plan_resume

EXIT_INTERRUPTED = 130


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    train = commands.add_parser("train", parents=[common], help="train a model: a run folder "
                                "with history, checkpoints, predictions and a submission")
    _recipe_flags(train)
    train.add_argument("--resume", metavar="RUN", help="continue RUN from its last checkpoint")
    train.add_argument("--tensorboard", action="store_true", help="also write TensorBoard's "
                       "event files into RUN/tensorboard ('tensorboard --logdir runs' shows "
                       "every run)")
    train.add_argument("--runs-dir", type=Path, metavar="DIR", help=RUNS_DIR_HELP)
    train.set_defaults(run=run_train)

    predict = commands.add_parser("predict", help="predict the test set with a run's best "
                                  "checkpoint and write a submission")
    predict.add_argument("run_ref", metavar="RUN", help="run id, id prefix, folder, or 'last'")
    predict.add_argument("--data", metavar="PATH", help="Kaggle zip, folder or CSV whose test "
                         "set to predict (default: the data the run was trained on)")
    _prediction_flags(predict)
    predict.set_defaults(run=run_predict)

    ensemble = commands.add_parser(
        "ensemble", parents=[common], help="average the probabilities of several runs, or train "
        "N members of one recipe (--members N --preset NAME), and write a submission")
    ensemble.add_argument("run_refs", metavar="RUN", nargs="*", help="runs to average")
    ensemble.add_argument("--members", type=int, metavar="N", help="train N members of the "
                          "recipe (each its own seed, one held-out split); the same command "
                          "again continues an interrupted ensemble")
    _recipe_flags(ensemble)
    _prediction_flags(ensemble)
    scale_flags(ensemble)
    ensemble.set_defaults(run=run_ensemble)

    cv = commands.add_parser(
        "cv", parents=[common], help="k-fold cross-validation: K fold runs over every labelled "
        "row, out-of-fold accuracy, suspect labels, and the folds' averaged submission")
    cv.add_argument("--folds", type=int, default=recipes.DEFAULT_FOLDS, metavar="K",
                    help=f"stratified folds (default {recipes.DEFAULT_FOLDS})")
    cv.add_argument("--fold", type=int, metavar="I", help="train fold I (0..K-1; K.. are the "
                    "refits) alone, e.g. one per process or machine sharing --runs-dir; the "
                    "last one to finish gathers the CV")
    cv.add_argument("--refit", type=int, default=0, metavar="N", help="also train N models on "
                    "every row and average them into the submission (default 0)")
    cv.add_argument("--pseudo-labels", metavar="CV", help="add the test images that CV's "
                    "averaged prediction labels with >= --pseudo-threshold confidence to every "
                    "fold's training rows (a CV name or a test.npz)")
    cv.add_argument("--pseudo-threshold", type=float, default=0.99, metavar="P",
                    help="default 0.99")
    cv.add_argument("--combine", nargs="+", metavar="CV", help="average finished CVs made on "
                    "the same folds (e.g. two architectures) into a new CV named --name: its "
                    "OOF accuracy and submission; trains nothing")
    _recipe_flags(cv, validation=False, preset="kaggle-best")
    cv.add_argument("--json", action="store_true", help="print the result as JSON on stdout "
                    "(progress stays on stderr), for scripts")
    _prediction_flags(cv, force=False)
    scale_flags(cv)
    cv.set_defaults(run=run_cv)


def scale_flags(parser: argparse.ArgumentParser, what: str = "members") -> None:
    """How many ``what`` train at once, and where (Ray starts only when more than one does)."""
    parser.add_argument("--parallel", type=int, metavar="N", help=f"train up to N {what} at "
                        "once, on Ray: every GPU of this machine (--per-gpu on each) or its "
                        "cores split between them (default 1: one after another, no Ray; "
                        f"with --cluster: every one)")
    parser.add_argument("--per-gpu", type=int, metavar="K", help=f"{what} that share each GPU "
                        "(default: as many as --parallel N needs)")
    parser.add_argument("--cluster", metavar="ADDRESS", help=f"train the {what} on the running "
                        "Ray cluster at ADDRESS (HOST:PORT of 'ray start --head'; default "
                        "$RAY_ADDRESS); what they write comes back to this machine")


def scale_of(args: argparse.Namespace, members: int):
    """The checked Scale of the flags, for a plan of ``members`` (before Keras or Ray)."""
    from workbench.engine.plans.scale import Scale, check_scale

    return check_scale(Scale(args.parallel, args.per_gpu, args.cluster), members)


def _recipe_flags(parser: argparse.ArgumentParser, validation: bool = True,
                  preset: str | None = None) -> None:
    """The flags of a training recipe; any left out come from --preset (``preset`` when neither
    it nor --model is given), else the defaults."""
    def default(name: str) -> str:
        return f"default: {preset}'s" if preset else f"default {recipes.DEFAULTS[name]}"

    flags = [
        parser.add_argument("--preset", metavar="NAME", help="a named recipe: "
                            f"{', '.join(recipes.PRESETS)} (flags given with it win"
                            + (f"; default {preset} unless --model is given)" if preset
                               else ")")),
        parser.add_argument("--model", choices=MODELS, help=default("model")),
        parser.add_argument("--optimizer", choices=recipes.OPTIMIZERS,
                            help=default("optimizer")),
        parser.add_argument("--lr", type=float, help="learning rate (default: the optimizer's)"),
        parser.add_argument("--schedule", choices=recipes.SCHEDULES, help=default("schedule")),
        parser.add_argument("--epochs", type=int, help=f"epochs ({default('epochs')}; "
                            "with train --resume: the total to reach)"),
        parser.add_argument("--batch-size", type=int, help=default("batch_size")),
        parser.add_argument("--label-smoothing", type=float, metavar="S", help="move S of each "
                            "label's weight onto all classes (default 0)"),
        parser.add_argument("--ema", type=float, metavar="M", help="predict with a moving "
                            "average of the weights, momentum M (e.g. 0.999; default 0: none; "
                            "the record preset: 0.999)"),
    ]
    if validation:
        split = recipes.DEFAULT_VAL_SPLIT
        flags.append(parser.add_argument("--val-split", type=float, default=split,
                                         help=f"stratified validation fraction (default {split})"))
    flags += [
        parser.add_argument("--seed", type=int, default=recipes.DEFAULT_SEED, help="seeds the "
                            "weights, the augmentation and the validation split (default "
                            f"{recipes.DEFAULT_SEED})"),
        parser.add_argument("--no-augment", dest="augment", action="store_false", default=None,
                            help="turn off augmentation (on by default for CNNs)"),
        parser.add_argument("--augment", dest="augment", action="store_true",
                            help="turn on augmentation (off by default for linear and mlp)"),
        parser.add_argument("--early-stopping", type=int, metavar="PATIENCE", help="stop after "
                            "PATIENCE epochs without a better validation loss"),
        parser.add_argument("--cpu", action="store_true", help="train on the CPU even if a GPU "
                            "is present"),
        parser.add_argument("--precision", choices=PRECISIONS, default="auto", help="auto: mixed "
                            "float16 on GPUs, mixed bfloat16 on CPUs that have it, else "
                            "float32"),
        parser.add_argument("--exclude-suspects", action="store_true", help="leave out the train "
                            "rows flagged as suspect labels (suspects.csv, from the Review "
                            "screen)"),
    ]
    recipe: dict[str, tuple] = {}  # dest: (its default, as parse_args sets it; its flags)
    for flag in flags:
        default, names = recipe.get(flag.dest, (flag.default, ()))
        recipe[flag.dest] = default, (*names, flag.option_strings[0])
    parser.set_defaults(recipe_flags=[(dest, default, "/".join(names))
                                      for dest, (default, names) in recipe.items()])


def _config(args: argparse.Namespace):
    """The resolved TrainConfig the recipe flags describe (checked before Keras loads)."""
    from workbench.engine.training.config import TrainConfig

    return TrainConfig(
        model=args.model, epochs=args.epochs, batch_size=args.batch_size,
        optimizer=args.optimizer, learning_rate=args.lr, schedule=args.schedule,
        preset=args.preset, augment=args.augment, label_smoothing=args.label_smoothing,
        ema=args.ema,
        val_split=getattr(args, "val_split", 0.1), seed=args.seed,
        early_stopping=args.early_stopping, cpu=args.cpu, precision=args.precision,
        exclude_suspects=args.exclude_suspects, data=args.data,
        pseudo_labels=_pseudo_labels(args), pseudo_threshold=getattr(args, "pseudo_threshold",
                                                                     0.99)).resolved()


def _pseudo_labels(args: argparse.Namespace) -> str | None:
    """--pseudo-labels as a file: a CV's test.npz by the CV's name, else the path given."""
    ref = getattr(args, "pseudo_labels", None)
    if not ref:
        return None
    from workbench.engine.plans.cv import cv_folder

    named = cv_folder(ref, args.runs_dir) / "test.npz" if NAME.fullmatch(ref) else None
    path = named if named is not None and named.is_file() else Path(ref)
    if not path.is_file():
        raise WorkbenchError(f"--pseudo-labels {shown(ref)}: no finished CV of that name and "
                             "no such file; give a CV whose folds have all finished, or its "
                             "test.npz.")
    return str(path)


def _prediction_flags(parser: argparse.ArgumentParser, force: bool = True) -> None:
    parser.add_argument("--tta", action="store_true", help="test-time augmentation: average the "
                        "image and its four 1-pixel shifts")
    parser.add_argument("--name", help="submission name (submissions/NAME.csv)")
    if force:
        parser.add_argument("--force", action="store_true", help="overwrite an existing "
                            "submission")
    parser.add_argument("--runs-dir", type=Path, metavar="DIR", help=RUNS_DIR_HELP)


class ConsoleReporter:
    """Draws training events: a progress bar with ETA for each run that trains (one, or each
    member of a plan that trains several at once), and a line per epoch."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[metrics]}"), console=err, transient=True)
        self.tasks: dict[int | None, TaskID] = {}

    def __call__(self, event: events.Event) -> None:
        if isinstance(event, events.MemberEvent):
            self._show(event.event, event.index, f"{event.kind} {event.index}: ")
        elif isinstance(event, events.MemberStarted) and event.kind == "member":
            err.print(f"Member {event.index} of {event.members}: "
                      f"{f'run {event.run_id}' if event.run_id else 'a new run'}")
        elif isinstance(event, events.MemberStarted):
            err.print(f"CV member {event.index} of {event.members} ({event.kind})")
        elif isinstance(event, events.Estimated):
            err.print(f"Estimate: {event.sentence()}.")
        else:
            self._show(event, None, "")

    def _show(self, event: events.Event, key: int | None, who: str) -> None:
        """``event`` of the run that ``key`` names (None: the one run), its lines led by
        ``who``."""
        task = self.tasks.get(key)
        if isinstance(event, events.TrainStarted):
            err.print(f"{who}Run {event.run_id}: {event.model} on {event.device}; "
                      + (f"{event.data}: " if event.data else "") +
                      f"{event.train_rows:,} train / {event.val_rows:,} validation rows, "
                      f"{event.steps_per_epoch} steps per epoch"
                      + (f", resuming after epoch {event.initial_epoch}"
                         if event.initial_epoch else ""))
            self.progress.start()
            if task is not None:
                self.progress.remove_task(task)
            self.tasks[key] = self.progress.add_task(who, total=event.steps_per_epoch,
                                                     metrics="")
        elif isinstance(event, events.BatchEnded) and task is not None:
            self.progress.update(
                task, completed=event.step, total=event.steps,
                description=f"{who}epoch {event.epoch}",
                metrics=f"loss {event.loss:.4f} acc {100 * event.accuracy:.2f}% "
                        f"{event.samples_per_s:,.0f}/s ETA {_clock(event.eta_s)}")
        elif isinstance(event, events.EpochEnded):
            val = (f"  val_loss {event.val_loss:.4f}  val_acc {100 * event.val_accuracy:.2f}%"
                   if event.val_accuracy is not None else "")
            self.progress.console.print(
                f"{who}epoch {event.epoch:>3}/{event.epochs}  loss {event.loss:.4f}  "
                f"acc {100 * event.accuracy:.2f}%{val}  lr {event.learning_rate:.2e}  "
                f"{event.seconds:.1f} s  {event.samples_per_s:,.0f}/s"
                + ("  *" if event.best else ""))
        elif isinstance(event, events.Predicting) and task is not None:
            rows = " and ".join(f"{n:,} {what}" for n, what in
                                ((event.val_rows, "validation"), (event.test_rows, "test")) if n)
            if rows:
                self.progress.update(task, description=f"{who}predicting {rows} rows",
                                     metrics="")
        elif isinstance(event, events.TrainFinished):
            if task is not None:
                self.progress.remove_task(self.tasks.pop(key))
            if who:
                err.print(f"{who}run {event.run_id} {event.status}")
            if not self.tasks:
                self.progress.stop()


def ray_line(scale) -> str:
    where = (f"the Ray cluster at {shown(scale.cluster)}" if scale.cluster else
             "Ray on this machine")
    count = f"up to {scale.parallel} at once" if scale.parallel else "every one at once"
    return f"Starting {where}: {count} ..."


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def run_train(args: argparse.Namespace) -> int:
    run = None
    if args.resume is not None:  # checked before the slow Keras import, as are the choices
        _resume_flags(args)
        run = find_run(args.resume, args.runs_dir)
        if run.running:
            raise RunBusy(run.path)
        plan_resume(run, args.epochs)
    else:
        config = _config(args)
    workspace.check_writable(args.runs_dir if run is None else run.path)  # where it writes
    err.print("Loading Keras ...")
    from workbench.engine.training.fit import resume, train

    reporter = ConsoleReporter()
    with _stop_on_ctrl_c() as stop:
        if run is None:
            result = train(config, runs_dir=args.runs_dir, subscribers=[reporter], stop=stop,
                           tensorboard=args.tensorboard)
        else:
            result = resume(run.path, epochs=args.epochs, subscribers=[reporter], stop=stop,
                            tensorboard=args.tensorboard)
    best = (f"best val acc {100 * result.best_val_accuracy:.2f}%"
            if result.best_val_accuracy is not None else "no validation rows")
    if result.status == "interrupted":
        err.print(interrupted_line(result))
        return EXIT_INTERRUPTED
    out.print(f"Finished {result.run} after {result.epochs_done} epochs: {best}.")
    submission = Run(result.run).submission
    if submission.is_file():
        out.print(f"Submission: {submission}")
    return 0


def interrupted_line(result) -> str:
    """What a stopped training kept, and the command that continues it."""
    again = f"workbench-engine train --resume {result.run.name}"
    if not result.epochs_done:
        return (f"Interrupted before its first epoch ended, so no checkpoint was kept; {again} "
                "starts it again in the same folder.")
    best = (f"best val acc {100 * result.best_val_accuracy:.2f}%"
            if result.best_val_accuracy is not None else "no validation rows")
    return (f"Interrupted after {result.epochs_done} epochs ({best}); the last checkpoint is "
            f"kept: {again}")


def _recipe_flags_given(args: argparse.Namespace, *allowed: str) -> list[str]:
    """The recipe flags (and --data) given other than ``allowed`` (dests)."""
    given = [flag for dest, default, flag in args.recipe_flags
             if dest not in allowed and getattr(args, dest) != default]
    return (["--data"] if args.data is not None else []) + given


def _resume_flags(args: argparse.Namespace) -> None:
    """--resume trains a run on its own recipe and data: refuse any other recipe flag, and an
    --epochs total that no run can reach."""
    given = _recipe_flags_given(args, "epochs")
    if given:
        raise WorkbenchError(f"--resume continues a run with its own recipe and data, so "
                             f"{given[0]} cannot be given with it (--epochs can).")
    if args.epochs is not None and args.epochs < 1:
        raise WorkbenchError(f"--epochs must be at least 1 (got {args.epochs}): it is the number "
                             "of epochs the run reaches in all.")


@contextlib.contextmanager
def _stop_on_ctrl_c() -> Iterator[threading.Event]:
    """An event that the first Ctrl-C sets (training stops after the batch); a second one
    interrupts at once."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: _request_stop(stop))
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _request_stop(stop: threading.Event) -> None:
    if stop.is_set():
        raise KeyboardInterrupt
    stop.set()
    err.print("Stopping after this batch (Ctrl-C again to stop at once) ...")


def run_predict(args: argparse.Namespace) -> int:
    from workbench.engine.results.prediction import save_prediction
    from workbench.engine.training.predict import predict_run

    run = find_run(args.run_ref, args.runs_dir)
    default = f"{run.id}{'-tta' if args.tta else ''}"
    if args.name is None and not (NAME.fullmatch(default) and len(default) <= MAX_NAME):
        raise WorkbenchError(f"the run's id cannot name its submission (it is {len(default)} "
                             "characters, or holds characters a file name should not); give "
                             "the submission a name with --name NAME.")
    name = check_name(default if args.name is None else args.name, "a submission")
    if args.data is None:
        prediction = predict_run(run, tta=args.tta)
    else:
        prediction = _predict_data(run, args.data, args.tta)
    _report(prediction, save_prediction(prediction, name, force=args.force))
    return 0


def _predict_data(run: Run, data: str, tta: bool):
    """The run's predictions for the test set of ``data``: its saved ones when that is the data
    it was trained on, else made anew with its kept checkpoint (no held-out rows: those are the
    run's own, see 'runs show')."""
    import numpy as np

    from workbench.engine.data.competition import data_path, load_competition
    from workbench.engine.network.inference import load_checkpoint, predict_probabilities
    from workbench.engine.results.prediction import Prediction
    from workbench.engine.training.predict import predict_run

    trained_on = run.config.get("data")
    if isinstance(trained_on, str) and Path(trained_on).resolve() == data_path(data).resolve():
        return predict_run(run, tta=tta)
    competition = load_competition(data)  # before Keras loads: a bad --data is said at once
    checkpoint = run.kept_checkpoint
    err.print(f"Predicting the {competition.n_test:,} test images of {competition.label} with "
              f"{run.id}/{checkpoint.name} ...")
    probabilities = predict_probabilities(load_checkpoint(checkpoint),
                                          competition.test_images, tta)
    return Prediction(probabilities, competition.test_ids, np.zeros((0, 10), np.float32),
                      np.zeros(0, np.uint8), np.zeros(0, np.int64))


def run_ensemble(args: argparse.Namespace) -> int:
    if args.name is not None:  # before any member trains or any run is read
        check_name(args.name, "an ensemble")
    if args.members is not None:
        if args.run_refs:
            raise WorkbenchError("give runs to average, or --members N to train them, not both.")
        return _train_ensemble(args)
    if not args.run_refs:
        raise WorkbenchError("give the runs to average (see 'workbench-engine runs list'), or "
                             "--members N --preset NAME to train an ensemble.")
    given = _recipe_flags_given(args)
    if given:
        raise WorkbenchError(f"{given[0]} is a flag of the members' recipe, for --members N; "
                             "runs to average are used as they were trained.")
    from workbench.engine.plans.ensemble import average

    members = [find_run(ref, args.runs_dir) for ref in args.run_refs]
    seen = [os.path.realpath(run.path) for run in members]
    for ref, path in zip(args.run_refs, seen):
        if seen.count(path) > 1:
            raise WorkbenchError(f"run {shown(ref)} is given more than once; give each run once.")
    result = average(members, args.name, runs_dir=args.runs_dir,
                     submissions_dir=workspace.submissions_dir(), tta=args.tta, force=args.force)
    out.print(f"Ensemble {result.name} of {len(members)} runs (listed by 'runs list').")
    _report(result.prediction, result.submission, _last_epochs_note(result.last_epoch_accuracy))
    return 0


def _train_ensemble(args: argparse.Namespace) -> int:
    if args.members < 2:
        raise WorkbenchError("an ensemble needs at least 2 members; use --members 2 or more.")
    config = _config(args)
    scale = scale_of(args, args.members)
    workspace.check_writable(args.runs_dir)
    err.print("Loading Keras ..." if scale.in_process else ray_line(scale))
    from workbench.engine.plans.ensemble import train_ensemble

    with _stop_on_ctrl_c() as stop:
        result = train_ensemble(config, args.members, name=args.name, tta=args.tta,
                                runs_dir=args.runs_dir, subscribers=[ConsoleReporter()],
                                stop=stop, scale=scale)
    for index, (run, accuracy) in enumerate(zip(result.members, result.member_accuracies), 1):
        if accuracy is not None:
            shown = f"best val acc {100 * accuracy:.2f}%"
        else:
            shown = "trained on every row" if config.val_split == 0 else "best val acc -"
        out.print(f"member {index}: {run.name}  {shown}")
    if result.status == "interrupted":
        err.print(f"Ensemble {result.name} interrupted; the same command continues it.")
        return EXIT_INTERRUPTED
    if result.status == "waiting":
        out.print(f"Ensemble {result.name}: some members are training in another process; "
                  "the same command, once they have finished, averages them.")
        return 0
    _report(result.prediction, result.submission, _last_epochs_note(result.last_epoch_accuracy))
    return 0


def _last_epochs_note(last: float | None) -> str:
    """The members' last epochs' held-out figure, told apart from their best epochs'."""
    return "" if last is None else (
        f" with the members' best epochs (chosen on these rows), {100 * last:.2f}% with "
        "their last epochs (what a refit on every row keeps)")


def _report(prediction, path: Path | None, accuracy_note: str = "") -> None:
    if prediction.val_accuracy is not None:
        out.print(f"Validation accuracy {100 * prediction.val_accuracy:.2f}% on "
                  f"{len(prediction.val_labels):,} held-out rows{accuracy_note}.")
    else:
        out.print(f"No validation accuracy: {NO_COMMON_ROWS}.")
    if path is not None:
        out.print(f"Wrote {path} ({len(prediction.image_ids):,} rows).")


def run_cv(args: argparse.Namespace) -> int:
    from workbench.cli.runs import cv_record
    from workbench.engine.plans.cv import check_name, check_plan, combine, cv_status

    if args.name is not None:
        check_name(args.name)
    if args.combine:
        if not args.name:
            raise WorkbenchError("--combine needs --name NAME for the combined CV.")
        _cv_result(args, combine(args.combine, args.name, runs_dir=args.runs_dir).summary)
        return 0
    if args.preset is None and args.model is None:
        args.preset = "kaggle-best"  # a CV is for the strongest recipe unless told otherwise
    check_plan(args.folds, args.fold, args.refit)
    config = _config(args)
    scale = scale_of(args, 1 if args.fold is not None else args.folds + args.refit)
    workspace.check_writable(args.runs_dir)
    err.print("Loading Keras ..." if scale.in_process else ray_line(scale))
    from workbench.engine.plans.cv import train_cv

    with _stop_on_ctrl_c() as stop:
        result = train_cv(config, args.folds, fold=args.fold, refit=args.refit, name=args.name,
                          tta=args.tta, runs_dir=args.runs_dir, subscribers=[ConsoleReporter()],
                          stop=stop, scale=scale)
    if result.status == "interrupted":
        err.print(f"CV {result.name} interrupted; the same command continues it.")
        return EXIT_INTERRUPTED
    if result.status == "waiting":
        state = cv_status(result.name, args.runs_dir)
        if args.json:
            print(json.dumps(cv_record(state), indent=2))
            return 0
        out.print(f"CV {result.name}: {sum(state.finished)} of {len(state.finished)} members "
                  "finished; the others "
                  "are training elsewhere (or not started): the last to finish gathers the CV, "
                  f"or run 'workbench-engine cv --name {result.name}' with the same flags.")
        return 0
    _cv_result(args, result.summary)
    return 0


def _cv_result(args: argparse.Namespace, summary) -> None:
    from workbench.cli.runs import cv_record, print_cv_summary
    from workbench.engine.plans.cv import cv_status

    if args.json:
        print(json.dumps(cv_record(cv_status(summary.name, args.runs_dir)), indent=2))
    else:
        print_cv_summary(summary)
