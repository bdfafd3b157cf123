"""Members trained at once on Ray (``--parallel``, ``--cluster``): the same CV as one process
trains, members on every node of a cluster with their files back here, a killed worker's
member trained again, and bad settings refused before any work."""

import json
import logging
import os
import socket

import numpy as np
import pytest

from tests.helpers import descendant_pids, eventually
from workbench.engine.data.competition import load_competition
from workbench.engine.errors import WorkbenchError
from workbench.engine.events import MemberEvent, TrainFinished, TrainStarted
from workbench.engine.plans import cv, ensemble
from workbench.engine.plans.scale import Scale, check_scale
from workbench.engine.plans.scaleout import place
from workbench.engine.results.prediction import load_npz
from workbench.engine.results.submission import check_submission_file
from workbench.engine.runs import run as runs
from workbench.engine.runs.eventlog import EventFollower
from workbench.engine.store import files
from workbench.engine.training.config import TrainConfig


@pytest.fixture
def loopback(monkeypatch):
    """Every Ray process binds 127.0.0.1; no $RAY_ADDRESS from outside the test."""
    monkeypatch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)


@pytest.fixture(scope="module")
def ray_of_this_module():
    """Stops the warm Ray (``warm_ray``) when this module's tests are done."""
    yield
    import ray

    ray.shutdown()


@pytest.fixture
def own_ray(loopback):
    """No Ray in this process: the plan starts one of its own, and stops it after."""
    import ray

    ray.shutdown()  # a warm one, if an earlier test started it


@pytest.fixture
def warm_ray(loopback, ray_of_this_module):
    """A Ray that this process runs already, as a notebook's does: a plan uses it as it is and
    leaves it running, so its workers, Keras imported, serve test after test (a new Ray costs
    ~11 s: its start, each worker's TensorFlow import, its stop)."""
    import ray

    from workbench.engine.plans.scaleout import OBJECT_STORE_BYTES

    if not ray.is_initialized():
        ray.init(num_cpus=os.cpu_count() or 1, object_store_memory=OBJECT_STORE_BYTES,
                 include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    return ray


def recipe(tiny_data, **kwargs) -> TrainConfig:
    return TrainConfig(**{"model": "linear", "epochs": 2, "batch_size": 64, "seed": 7,
                          "data": str(tiny_data), **kwargs})


def run_cv(tiny_data, root, scale, folds=3, **kwargs) -> cv.CVResult:
    return cv.train_cv(recipe(tiny_data, **kwargs), folds, name="c", runs_dir=root / "runs",
                       submissions_dir=root / "subs", scale=scale)


def no_ray_left() -> bool:
    """Whether every Ray process this test started has gone (they exit as Ray shuts down)."""
    return eventually(lambda: not descendant_pids(b"ray"), 30, step=0.1)


@pytest.mark.parametrize(("parallel", "per_gpu", "cpus", "gpus", "expected"), [
    (2, None, 2, 0, (1.0, 0.0, 1, 2)),     # two members share the two cores
    (3, None, 2, 0, (0.66, 0.0, 1, 3)),    # more members than cores: a core each at most
    (None, None, 16, 0, (3.2, 0.0, 3, 5)),  # a cluster's 16 cores, every one of 5 members
    (12, None, 16, 1, (1.33, 0.0833, 1, 12)),  # twelve on one GPU
    (12, 4, 16, 2, (2.0, 0.25, 2, 8)),     # four a GPU on two GPUs: eight at once
    (4, None, 8, 8, (2.0, 1.0, 2, 4)),     # fewer members than GPUs: a GPU each
])
def test_members_share_the_gpus_and_split_the_cores(parallel, per_gpu, cpus, gpus, expected):
    placement = place(Scale(parallel, per_gpu), 5 if parallel is None else parallel, cpus, gpus,
                      cpu_only=False)
    assert (placement.num_cpus, placement.num_gpus, placement.threads,
            placement.slots) == pytest.approx(expected, abs=1e-4)


def test_a_continued_plan_splits_the_cores_between_the_members_it_has_left():
    assert place(Scale(parallel=4), 2, 8, 0, cpu_only=False).threads == 4  # 2 left of 4


def test_cpu_only_members_take_no_gpu():
    assert place(Scale(2), 2, 8, 2, cpu_only=True).num_gpus == 0


@pytest.mark.parametrize(("scale", "members", "message"), [
    (Scale(parallel=0), 3, "parallel must be 1 or more"),
    (Scale(parallel=4), 3, "parallel 4 is more than the 3 members"),
    (Scale(parallel=2), 1, "more than the 1 member this plan"),
    (Scale(per_gpu=0), 3, "per-gpu must be 1 to 64"),
    (Scale(cluster="not an address"), 3, "is not HOST:PORT"),
    (Scale(cluster="10.0.0.5:port"), 3, "is not HOST:PORT"),
    (Scale(cluster="10.0.0.5:99999"), 3, "is not HOST:PORT"),
    (Scale(cluster="ray://10.0.0.5:10001"), 3, "is a Ray Client address"),
])
def test_a_scale_that_cannot_work_is_refused_in_one_sentence(scale, members, message, loopback):
    with pytest.raises(WorkbenchError, match=message) as error:
        check_scale(scale, members)
    assert "\n" not in str(error.value)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # free once closed: nothing listens there


def test_an_unreachable_cluster_is_named_with_its_address(loopback, monkeypatch):
    address = f"127.0.0.1:{closed_port()}"
    with pytest.raises(WorkbenchError, match=f"no Ray cluster answers at {address}"):
        check_scale(Scale(cluster=address), 3)
    monkeypatch.setenv("RAY_ADDRESS", address)  # Ray's own variable names the cluster too
    with pytest.raises(WorkbenchError, match="--cluster"):
        check_scale(Scale(), 3)


def test_bad_scale_flags_fail_before_any_folder_or_keras(cli, tmp_path, loopback):
    address = f"127.0.0.1:{closed_port()}"
    for flags, message in ((["--parallel", "0"], "parallel must be 1 or more"),
                           (["--parallel", "4"], "more than the 3 members"),
                           (["--fold", "1", "--parallel", "2"], "more than the 1 member"),
                           (["--cluster", address], f"no Ray cluster answers at {address}")):
        result = cli("cv", "--model", "linear", "--folds", "3", *flags, timeout=60)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "runs").exists()
    result = cli("ensemble", "--members", "2", "--model", "linear", "--parallel", "3")
    assert result.returncode == 2 and "more than the 2 members" in result.stderr


@pytest.mark.slow
@pytest.mark.xdist_group("ray")
def test_a_parallel_cv_trains_the_same_folds_as_one_process(tiny_data, tmp_path, own_ray):
    seen = []
    one = run_cv(tiny_data, tmp_path / "one", None)
    two = cv.train_cv(recipe(tiny_data), 3, name="c", runs_dir=tmp_path / "two" / "runs",
                      submissions_dir=tmp_path / "two" / "subs", scale=Scale(parallel=2),
                      subscribers=[seen.append])
    assert one.status == two.status == "finished"
    assert no_ray_left()
    manifests = [json.loads((root / "runs" / "cv" / "c.json").read_text())
                 for root in (tmp_path / "one", tmp_path / "two")]
    assert manifests[0]["recipe"] == manifests[1]["recipe"]
    assert len(set(manifests[1]["runs"].values())) == 3
    oof = [load_npz(root / "runs" / "cv" / "c" / "oof.npz", "labels", "folds", "ids")
           for root in (tmp_path / "one", tmp_path / "two")]
    for key in ("labels", "folds", "ids"):
        assert np.array_equal(oof[0][key], oof[1][key])
    for fold, run in enumerate(two.runs):
        assert runs.Run(run).status == "finished" and len(runs.read_history(run)) == 2
        assert {"last.keras", "best.keras", "val_predictions.npz", "test_predictions.npz",
                "submission.csv", "events.jsonl", "worker.json"} <= set(os.listdir(run))
        assert files.read_json(run / "config.json")["fold"] == fold
    competition = load_competition(str(tiny_data))
    assert check_submission_file(two.submission, competition.test_ids).ok
    assert abs(two.summary.accuracy - one.summary.accuracy) < 0.05  # 1 thread against 2
    # Every member's events reached here, told apart by member, each run's in its own folder.
    started = [e for e in seen if isinstance(e, MemberEvent) and isinstance(e.event,
                                                                           TrainStarted)]
    assert sorted(e.index for e in started) == [1, 2, 3]
    assert all(e.run_id == e.event.run_id for e in started)


@pytest.mark.slow
@pytest.mark.xdist_group("ray")
def test_a_cluster_trains_members_on_every_node_and_again_when_a_worker_dies(tiny_data,
                                                                             tmp_path, own_ray):
    """Their files come here; fold 1's worker is killed in epoch 2 (``WORKBENCH_KILL_MEMBER``,
    in each node's environment) and that member is trained again, from its last commit."""
    from ray.cluster_utils import Cluster

    nodes = []
    for name in ("head", "second"):  # each node works in a folder of its own
        (tmp_path / name).mkdir()
        nodes.append({"num_cpus": 1, "node_ip_address": "127.0.0.1",
                      "object_store_memory": 100 << 20, "include_dashboard": False,
                      "env_vars": {"TMPDIR": str(tmp_path / name), "WORKBENCH_KILL_MEMBER": "1"}})
    cluster = Cluster(initialize_head=True, head_node_args=nodes[0])
    try:
        named = {cluster.head_node.node_id: "head", cluster.add_node(**nodes[1]).node_id: "second"}
        cluster.wait_for_nodes()
        result = run_cv(tiny_data, tmp_path, Scale(parallel=2, cluster=cluster.address))
    finally:
        cluster.shutdown()
    assert result.status == "finished"
    workers = [files.read_json(run / "worker.json") for run in result.runs]
    assert [worker["attempt"] for worker in workers] == [0, 1, 0]
    manifest = json.loads((tmp_path / "runs" / "cv" / "c.json").read_text())
    # Folds 0 and 1 started at once, one on each node (one CPU each): fold 1's first worker
    # left its folder where it was killed; fold 0's worker names its node.
    left = [(name, folder.name) for name in ("head", "second")
            for folder in (tmp_path / name).glob("workbench-member-*/*")]
    assert [run for _, run in left] == [manifest["runs"]["1"]]  # the others removed theirs
    assert {named[workers[0]["node"]], left[0][0]} == {"head", "second"}
    assert sorted(os.listdir(tmp_path / "runs")) == sorted([*manifest["runs"].values(), "cv"])
    assert result.summary.rows == 300
    for run in result.runs:
        assert run.parent == tmp_path / "runs"
        assert [row["epoch"] for row in runs.read_history(run)] == [1, 2]
        assert (run / "last.keras").is_file() and (run / "test_predictions.npz").is_file()
    assert check_submission_file(result.submission,
                                 load_competition(str(tiny_data)).test_ids).ok


@pytest.mark.slow
@pytest.mark.xdist_group("ray")
def test_a_parallel_ensemble_averages_its_members(tiny_data, tmp_path, warm_ray, monkeypatch):
    from workbench.engine.plans import scaleout

    options = {"name": "e", "runs_dir": tmp_path / "runs", "submissions_dir": tmp_path / "subs",
               "scale": Scale(parallel=2)}
    result = ensemble.train_ensemble(recipe(tiny_data), 2, **options)
    assert result.status == "finished" and len(result.members) == 2
    assert all(accuracy is not None for accuracy in result.member_accuracies)
    assert result.submission is not None and result.submission.is_file()
    assert warm_ray.is_initialized()  # a Ray it did not start is left running

    def no_ray(*args, **kwargs):
        raise AssertionError("Ray started for a plan with nothing left to train")

    monkeypatch.setattr(scaleout, "train", no_ray)
    again = ensemble.train_ensemble(recipe(tiny_data), 2, **options)
    assert again.status == "finished" and again.members == result.members


@pytest.mark.slow
@pytest.mark.xdist_group("ray")
def test_a_parallel_search_trains_every_trial_of_its_grid_once(tiny_data, tmp_path, warm_ray):
    from workbench.engine.plans.search import SearchSpace, read_search, read_trials, run_search

    seen = []
    space = SearchSpace(("adam", "sgd"), (0.1, 0.01), ("constant",))
    trials = run_search(tmp_path / "s", space, model="linear", epochs=1, data=str(tiny_data),
                        scale=Scale(parallel=2), subscribers=[seen.append])
    cells = sorted((t.optimizer, t.learning_rate) for t in trials)
    assert cells == [("adam", 0.01), ("adam", 0.1), ("sgd", 0.01), ("sgd", 0.1)]
    assert sorted(event.done for event in seen) == [1, 2, 3, 4]
    assert len((tmp_path / "s" / "trials.csv").read_text().splitlines()) == 5  # header + 4
    assert read_search(tmp_path / "s").space == space
    assert all(len(runs.read_history(tmp_path / "s" / "trials" / f"{o}-lr{lr!r}-constant")) == 1
               for o, lr in cells)
    assert warm_ray.is_initialized()  # a Ray it did not start is left running
    again = run_search(tmp_path / "s", space, model="linear", epochs=1, data=str(tiny_data),
                       scale=Scale(parallel=2))  # nothing left to train: no Ray started
    assert again == read_trials(tmp_path / "s")


@pytest.mark.slow
@pytest.mark.xdist_group("ray")
def test_a_stopped_parallel_cv_keeps_what_it_did_and_the_same_call_finishes_it(tiny_data,
                                                                                tmp_path,
                                                                                warm_ray):
    import threading

    from workbench.engine.events import EpochEnded

    stop = threading.Event()

    seen = []

    def stop_at_an_epoch(event):  # as Ctrl-C would, once a member has an epoch done
        seen.append(event)
        if isinstance(event, MemberEvent) and isinstance(event.event, EpochEnded):
            stop.set()

    first = cv.train_cv(recipe(tiny_data, epochs=10), 3, name="c",
                        runs_dir=tmp_path / "runs", submissions_dir=tmp_path / "subs",
                        scale=Scale(parallel=2), subscribers=[stop_at_an_epoch], stop=stop)
    assert first.status == "interrupted"
    assert warm_ray.is_initialized()  # a Ray it did not start is left running
    started = [run for run in first.runs if run is not None]
    assert "interrupted" in {runs.Run(run).status for run in started}
    ended = [e.event for e in seen if isinstance(e, MemberEvent)
             and isinstance(e.event, TrainFinished) and e.event.status == "interrupted"]
    assert ended  # said for the faces (a bar to close) and in the run's own event log
    assert any(e in EventFollower(tmp_path / "runs" / e.run_id).poll() for e in ended)
    assert not (tmp_path / "subs").exists()
    again = run_cv(tiny_data, tmp_path, Scale(parallel=2), epochs=10)
    assert again.status == "finished"
    assert set(started) <= set(again.runs)  # the same runs, continued
    assert all([row["epoch"] for row in runs.read_history(run)] == list(range(1, 11))
               for run in again.runs)
