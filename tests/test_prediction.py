"""Prediction with a run's checkpoint, test-time augmentation, and ensembles."""

import os
import shutil

import numpy as np
import pytest

from workbench.engine.errors import WorkbenchError
from workbench.engine.network.inference import shifted
from workbench.engine.results.prediction import save_prediction
from workbench.engine.results.submission import check_submission_file
from workbench.engine.runs.run import Run
from workbench.engine.training import fit as training
from workbench.engine.training.config import TrainConfig
from workbench.engine.training.predict import ensemble_runs, predict_checkpoint, predict_run


@pytest.fixture(scope="module")
def two_runs(tiny_data, tmp_path_factory):
    runs_dir = tmp_path_factory.mktemp("runs")
    return [Run.open(training.train(TrainConfig(model="linear", epochs=2, batch_size=32, seed=seed,
                                                data=str(tiny_data)), runs_dir=runs_dir).run)
            for seed in (0, 1)]


def test_shift_moves_pixels_and_fills_black():
    image = np.arange(1, 10, dtype=np.uint8).reshape(1, 3, 3)
    assert shifted(image, 1, 0)[0].tolist() == [[0, 0, 0], [1, 2, 3], [4, 5, 6]]
    assert shifted(image, 0, -1)[0].tolist() == [[2, 3, 0], [5, 6, 0], [8, 9, 0]]


def test_ensemble_is_the_probability_average(two_runs):
    members = [np.load(run.test_predictions)["probabilities"] for run in two_runs]
    result = ensemble_runs(two_runs)
    np.testing.assert_allclose(result.test_probabilities, (members[0] + members[1]) / 2,
                               rtol=1e-6)
    # Different seeds hold out different rows: accuracy is measured where both held out.
    vals = [np.load(run.val_predictions) for run in two_runs]
    common = np.intersect1d(vals[0]["ids"], vals[1]["ids"])
    np.testing.assert_array_equal(result.val_ids, common)
    expected = np.mean([v["probabilities"][np.isin(v["ids"], common)] for v in vals], axis=0)
    np.testing.assert_allclose(result.val_probabilities, expected, rtol=1e-6)


def test_predict_with_tta_recomputes_from_the_checkpoint(two_runs, tiny_data):
    plain, tta = predict_run(two_runs[0]), predict_run(two_runs[0], tta=True)
    assert tta.test_probabilities.shape == plain.test_probabilities.shape
    np.testing.assert_allclose(tta.test_probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(tta.test_probabilities, plain.test_probabilities)
    np.testing.assert_array_equal(tta.val_ids, plain.val_ids)


def test_tta_predictions_are_saved_until_the_checkpoint_changes(two_runs):
    run = two_runs[1]
    first = predict_run(run, tta=True)
    saved = run.tta_predictions
    stamp = saved.stat().st_mtime_ns
    again = predict_run(run, tta=True)
    assert saved.stat().st_mtime_ns == stamp  # read back, not recomputed
    np.testing.assert_array_equal(again.test_probabilities, first.test_probabilities)
    np.testing.assert_array_equal(again.val_ids, first.val_ids)
    best = run.best_checkpoint
    os.utime(best, ns=(stamp + 10**9, stamp + 10**9))
    predict_run(run, tta=True)
    assert saved.stat().st_mtime_ns > stamp


def test_saved_prediction_is_a_valid_submission(two_runs, tmp_path):
    prediction = ensemble_runs(two_runs, tta=True)
    path = save_prediction(prediction, "ens", directory=tmp_path)
    assert check_submission_file(path, prediction.image_ids).ok
    with np.load(path.with_suffix(".npz")) as saved:
        np.testing.assert_allclose(saved["probabilities"], prediction.test_probabilities)


def test_predict_checkpoint_uses_the_checkpoint_it_names(two_runs, tmp_path):
    from workbench.engine.network.models import build_model

    run = Run(shutil.copytree(two_runs[0].path, tmp_path / two_runs[0].id))
    blank = build_model("linear")
    blank.set_weights([np.zeros_like(w) for w in blank.get_weights()])
    blank.save(run.last_checkpoint)
    best = predict_checkpoint(run)
    np.testing.assert_allclose(best.val_probabilities,
                               np.load(run.val_predictions)["probabilities"], rtol=1e-5)
    last = predict_checkpoint(run, run.last_checkpoint)
    np.testing.assert_array_equal(last.val_ids, best.val_ids)
    np.testing.assert_allclose(last.val_probabilities, 0.1, rtol=1e-3)  # zero weights: uniform
    with pytest.raises(WorkbenchError, match="no checkpoint"):
        predict_checkpoint(run, run.path / "missing.keras")


def test_ensemble_needs_two_runs(two_runs):
    with pytest.raises(WorkbenchError, match="at least two runs"):
        ensemble_runs(two_runs[:1])


def test_predictions_go_a_batch_at_a_time_whatever_the_model_s_steps_per_call():
    """Keras' predict unrolled a call's batches into one graph for a model compiled with
    several steps per call, traced anew for each count of batches (1.8 s for the test rows).
    The figures stay Keras' own: those of ``predict`` over the same batches (an eager call of
    the model differs in the last digits under a reduced-precision policy that an earlier
    test in the process may have left)."""
    from workbench.engine.network.inference import predict_probabilities
    from workbench.engine.network.models import build_model
    from workbench.engine.network.schedules import compile_model

    model = build_model("fast-cnn")
    compile_model(model, "adam", 1e-3, "constant", 16, 1, steps_per_execution=16)
    images = np.random.default_rng(0).integers(0, 256, (100, 28, 28), dtype=np.uint8)
    keras_own = {rows: model.predict(images[:rows], batch_size=16, verbose=0)
                 for rows in (40, 100, 24)}
    model.predict_function = None  # traced anew: the calls below are counted
    traces, predict_step = [], model.predict_step
    model.predict_step = lambda data: traces.append(1) or predict_step(data)
    for rows in (40, 100, 24):
        np.testing.assert_allclose(predict_probabilities(model, images[:rows], batch_size=16),
                                   keras_own[rows], rtol=1e-5, atol=1e-6)
    assert len(traces) <= 2  # a batch of 16 and a shorter one: (None, 28, 28) from then on
