"""How many members of a plan train at once, and where: the settings of ``--parallel``,
``--per-gpu`` and ``--cluster``, checked before any work (no Ray import here)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from workbench.engine.errors import Option, WorkbenchError, printable

CONNECT_TIMEOUT_S = 3.0  # an address that answers nothing in this long is named as unreachable


@dataclass(frozen=True)
class Scale:
    """``parallel`` members at once (None: one on this machine, every member on a cluster);
    ``per_gpu`` of them share each GPU (None: as many as make ``parallel`` fit the GPUs);
    ``cluster``: the address of a running Ray cluster (else a Ray of this machine, started for
    the command and stopped after it). One member at a time on this machine needs no Ray."""

    parallel: int | None = None
    per_gpu: int | None = None
    cluster: str | None = None

    @property
    def in_process(self) -> bool:
        return self.cluster is None and (self.parallel or 1) == 1


def check_scale(scale: Scale, members: int) -> Scale:
    """``scale`` with the cluster of ``$RAY_ADDRESS`` when none is given, checked for a plan of
    ``members``: counts in range, and a cluster address that answers within seconds;
    WorkbenchError (one sentence and the fix) before any folder is made or Ray starts."""
    cluster = scale.cluster if scale.cluster is not None else os.environ.get("RAY_ADDRESS")
    scale = replace(scale, cluster=cluster.strip() if cluster and cluster.strip() else None)
    if scale.parallel is not None:
        if isinstance(scale.parallel, bool) or not isinstance(scale.parallel, int) or (
                scale.parallel < 1):
            raise WorkbenchError(f"parallel must be 1 or more (got {scale.parallel})",
                                 ("use e.g. 2 (", Option("parallel"), ")."))
        if scale.parallel > members:
            raise WorkbenchError(f"parallel {scale.parallel} is more than the "
                                 f"{members} member{'s' if members != 1 else ''} this plan "
                                 "trains", ("use at most that many (", Option("parallel"), ")."))
    if scale.per_gpu is not None and (isinstance(scale.per_gpu, bool)
                                      or not isinstance(scale.per_gpu, int)
                                      or not 1 <= scale.per_gpu <= 64):
        raise WorkbenchError(f"per-gpu must be 1 to 64 members on each GPU (got "
                             f"{scale.per_gpu})", ("use e.g. 4 (", Option("per_gpu"), ")."))
    if scale.cluster is not None:
        check_reachable(scale.cluster)
    return scale


def check_reachable(address: str) -> None:
    """Refuse a cluster address that is malformed or answers no connection within
    ``CONNECT_TIMEOUT_S`` (Ray itself would retry for a minute or more). "auto" and "local"
    are Ray's own words for the cluster of this machine, which Ray looks up itself."""
    if address in ("auto", "local"):
        return
    shown = printable(address[:100])
    if "://" in address:  # Ray Client (ray://): no streaming of a member's epochs through it
        raise WorkbenchError(f"cluster address '{shown}' is a Ray Client address",
                             ("give the head's own address, HOST:PORT of 'ray start --head' "
                              "(e.g. 10.0.0.5:6379), from a machine of the cluster's network (",
                              Option("cluster"), ")."))
    parts = urlsplit(f"ray://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or port is None or parts.path not in ("", "/"):
        raise WorkbenchError(f"cluster address '{shown}' is not HOST:PORT",
                             ("give the head's address, e.g. 10.0.0.5:6379 (",
                              Option("cluster"), ")."))
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as error:
        why = "no answer" if isinstance(error, TimeoutError) else (
            getattr(error, "strerror", None) or type(error).__name__)
        raise WorkbenchError(f"no Ray cluster answers at {shown} ({printable(str(why))})",
                             ("start one with 'ray start --head' there, or give its address (",
                              Option("cluster"), ").")) from None
