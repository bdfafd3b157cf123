"""The cost said before a training starts: timed on this machine, or recalled from its last
training of the same recipe; never a reason not to train."""

import pytest

from workbench.engine.data.cache import cache_dir
from workbench.engine.events import Estimated, TrainStarted, duration
from workbench.engine.training import fit as training
from workbench.engine.training.config import TrainConfig
from workbench.engine.training.estimate import FILE, recall


@pytest.mark.parametrize(("seconds", "said"), [
    (0.2, "1 s"), (42.4, "42 s"), (61, "1 min"), (3599, "1 h 00 min"), (5400, "1 h 30 min"),
    (7 * 3600 + 5 * 60, "7 h 05 min")])
def test_durations_are_rounded_as_estimates_are(seconds, said):
    assert duration(seconds) == said


def test_the_sentence_says_a_member_and_the_whole_plan():
    cost = Estimated(0.25, 329, 20, 5, "CPU (2 cores)", measured=True)
    assert cost.sentence() == ("~27 min a member on CPU (2 cores) (0.25 s a step, 20 epochs of "
                               "329 steps); 5 members: ~2 h 17 min")
    assert "as its last training here" in Estimated(0.25, 329, 20, 1, "GPU", False).sentence()


def config(tiny_data) -> TrainConfig:
    return TrainConfig(model="linear", epochs=2, batch_size=64, data=str(tiny_data))


def test_a_training_says_its_cost_before_it_starts_then_remembers_its_own(tiny_data, tmp_path):
    seen = []
    training.train(config(tiny_data), runs_dir=tmp_path, subscribers=[seen.append])
    first = [type(event) for event in seen]
    assert first.index(Estimated) < first.index(TrainStarted)
    timed = next(e for e in seen if isinstance(e, Estimated))
    assert timed.measured and timed.seconds_per_step > 0 and timed.epochs == 2
    assert timed.steps == 16  # 270 rows in batches of 64, rounded to whole calls of 16 steps
    recalled = recall(config(tiny_data).resolved(), 270)
    assert recalled is not None and not recalled.measured
    seen.clear()
    training.train(config(tiny_data), runs_dir=tmp_path, subscribers=[seen.append])
    assert [e for e in seen if isinstance(e, Estimated)][0].measured is False


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b'{"x": {"seconds_per_step": "7"}}'])
def test_a_damaged_estimates_file_is_timed_anew_not_an_error(tiny_data, tmp_path, content):
    cache_dir().mkdir(parents=True, exist_ok=True)
    (cache_dir() / FILE).write_bytes(content)
    seen = []
    result = training.train(config(tiny_data), runs_dir=tmp_path, subscribers=[seen.append])
    assert result.status == "finished"
    assert [e for e in seen if isinstance(e, Estimated)][0].measured
