"""Training a plan's members: one after another in this process, or many at once on Ray
(``scaleout``); the result says how the plan stands after ("finished", "interrupted", or
"waiting" while another process trains one)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from workbench.engine.events import MemberStarted, Subscriber, publisher
from workbench.engine.plans import scaleout
from workbench.engine.plans.plan import Inputs, Manifest, Member, claim, finished
from workbench.engine.plans.scale import Scale
from workbench.engine.training.estimate import estimate
from workbench.engine.training.inputs import TrainInputs


def train_members(manifest: Manifest, members: Sequence[Member], total: int, runs_dir: Path, *,
                  scale: Scale | None = None, subscribers: Sequence[Subscriber] = (),
                  stop: threading.Event | None = None,
                  inputs: TrainInputs | None = None) -> str:
    """Train every one of ``members`` (of a plan of ``total``) that has not finished: in this
    process one after another, or as ``scale`` says on Ray. Returns "finished" once every one
    has, "interrupted" after a stop, "waiting" while another process trains one. ``inputs``:
    the plan's, if it has read them already."""
    if not members:
        return "finished"
    inputs_of = Inputs(members[0].config, inputs)
    emit = publisher(subscribers)
    if scale is not None and not scale.in_process:
        left = [member for member in members if not finished(manifest, member, runs_dir)]
        if not left:  # nothing to train: no Ray to start
            return "finished"
        return scaleout.train(manifest, left, total, runs_dir, scale=scale, inputs=inputs_of,
                              emit=emit, stop=stop)
    from workbench.engine.training import fit as training  # Keras: once every value is checked

    waiting, estimated = False, False
    for position, member in enumerate(members):
        found = claim(manifest, member, runs_dir)
        emit(MemberStarted(member.index + 1, total, found.run_id, member.kind))
        if found.run is None:
            waiting |= found.status == "running"
            continue
        with found.run as run:
            if not estimated:  # said once, at the first member this process trains
                estimated = True
                cost = estimate(member.config, inputs_of().count(member.config),
                                len(members) - position)
                if cost is not None:
                    emit(cost)
            result = training.fit(run, subscribers=[emit], stop=stop, inputs=inputs_of())
        if result.status != "finished":
            return "interrupted"
    return "waiting" if waiting else "finished"
