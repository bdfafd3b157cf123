"""Resume policy: what a run continues with, decided before Keras loads."""

from __future__ import annotations

from dataclasses import replace

from workbench.engine.data.suspects import read_suspects
from workbench.engine.errors import Option, WorkbenchError, shown
from workbench.engine.runs.run import Run, RunDamaged
from workbench.engine.training.config import Recipe, TrainConfig


def plan_resume(run: Run, epochs: int | None = None,
                suspects: bool = True) -> tuple[Recipe, bool]:
    """The recipe ``run`` resumes with (up to ``epochs`` in all if given) and whether it has a
    checkpoint to continue from (without one it starts again, in the same folder);
    WorkbenchError if it cannot or need not train further. Reads only: the CLI calls it before
    Keras loads, and training again under the run's lock. ``suspects``: check the suspect list
    too (not when the caller has read it already)."""
    try:
        config = TrainConfig.from_dict(run.config).resolved()
    except (TypeError, ValueError, WorkbenchError) as error:
        raise RunDamaged(run.path, "config.json holds a recipe that cannot be trained ("
                         f"{shown(str(error).rstrip('.'), 120)})") from None
    done = run.epochs_done
    checkpoint = run.last_checkpoint.is_file()
    name = shown(run.id)
    if done and not checkpoint:
        raise WorkbenchError(f"{name} has done {done} epochs but its checkpoint last.keras is "
                             "gone, so it cannot continue; start a new run.")
    if epochs is not None and epochs < 1:
        raise WorkbenchError(f"the epochs must be at least 1 (got {epochs})",
                             ("give the number of epochs the run reaches in all (",
                              Option("epochs"), ")."))
    if epochs is not None and epochs <= done:
        raise WorkbenchError(f"{name} has done {done} epochs already",
                             (f"give more than {done} epochs in all (", Option("epochs"),
                              ") to train it further."))
    if epochs is None and run.recorded_status == "finished":
        done_all = (f"has done all {done} of its epochs" if done >= config.epochs else
                    f"has finished after {done} of its {config.epochs} epochs (early stopping)")
        raise WorkbenchError(f"{name} {done_all}",
                             (f"give more than {done} epochs in all (", Option("epochs"),
                              ") to train it further."))
    if suspects and config.exclude_suspects:
        read_suspects(strict=True)
    # Killed after its last epoch but before its predictions: it fits nothing, and predicts.
    return (config if epochs is None else replace(config, epochs=epochs)), checkpoint
