"""Digits drawn as terminal text."""

import numpy as np

from workbench.render import ASCII_RAMP, bar_chart, digit_ascii, digit_blocks


def test_ascii_is_28_rows_of_56_chars_darker_is_denser():
    image = np.zeros((28, 28), np.uint8)
    image[3, 4] = 255
    image[10, 10] = 128
    lines = digit_ascii(image).split("\n")
    assert len(lines) == 28 and {len(line) for line in lines} == {56}
    assert lines[3][8:10] == ASCII_RAMP[-1] * 2
    assert lines[10][20:22] == ASCII_RAMP[5] * 2
    assert set(lines[0]) == {" "}


def test_blocks_pack_two_pixel_rows_per_line():
    image = np.zeros((28, 28), np.uint8)
    image[0, 0], image[1, 0] = 200, 50
    text = digit_blocks(image)
    lines = text.plain.split("\n")
    assert len(lines) == 14 and {len(line) for line in lines} == {28}
    style = text.spans[0].style
    assert style.color.triplet == (200, 200, 200) and style.bgcolor.triplet == (50, 50, 50)


def test_bar_chart_scales_to_the_largest_value_or_to_top_and_marks_one_line():
    chart = bar_chart([0, 5, 10], 4, highlight=2)
    assert chart.plain.split("\n") == ["0      0", "1 ██   5", "2 ████ 10"]
    assert [span.style for span in chart.spans if span.style] == ["bold green"]
    shares = bar_chart([0.25, 0.5], 4, top=1.0, value=lambda p: f"{100 * p:.0f}%")
    assert shares.plain.split("\n") == ["0 █    25%", "1 ██   50%"]
    assert bar_chart([0, 0], 3).plain.split("\n") == ["0     0", "1     0"]


def test_a_drawing_is_centred_and_scaled_as_mnist_s_digits_were():
    from workbench.engine.data.drawing import centred

    def stroke(column: int, top: int, length: int) -> np.ndarray:
        image = np.zeros((28, 28), np.uint8)
        image[top:top + length, column:column + 2] = 255
        return image

    left, middle = centred(stroke(1, 3, 10)), centred(stroke(13, 9, 10))
    assert np.array_equal(left, middle)  # where it was drawn does not matter
    rows = np.flatnonzero(left.any(axis=1))
    assert rows.max() - rows.min() + 1 == 20  # scaled to MNIST's 20-pixel box
    ink = left.astype(float)
    centre = (ink.sum(axis=1) @ np.arange(28) / ink.sum(), ink.sum(axis=0) @ np.arange(28)
              / ink.sum())
    assert all(abs(c - 13.5) <= 1 for c in centre)
    assert not centred(np.zeros((28, 28), np.uint8)).any()


def test_the_confusion_matrix_tells_one_mistake_from_nineteen():
    from workbench.tui.screens.review import heat

    def background(count: int):
        return heat(count, 19, diagonal=False).style.split(" on ")[1]

    shades = [background(count) for count in (1, 4, 19)]
    assert len(set(shades)) == 3  # each a step of the scale

    def brightness(hex_colour: str) -> int:
        return sum(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))

    assert brightness(shades[0]) < brightness(shades[1]) < brightness(shades[2])


def test_the_most_confused_pairs_come_first():
    from workbench.engine.results.review import confused_pairs

    confusion = np.diag([50] * 10)
    confusion[4, 9], confusion[7, 2], confusion[9, 4], confusion[3, 5] = 12, 9, 12, 1
    assert confused_pairs(confusion, 3) == [(4, 9, 12), (9, 4, 12), (7, 2, 9)]
    assert confused_pairs(np.diag([5] * 10)) == []


def test_curves_keep_their_colours_when_a_resumed_run_adds_them_in_another_order(monkeypatch):
    from workbench.tui.widgets.curves import Curves

    curves = Curves("loss", "loss", ("train (batches)", "validation"))
    drawn = []
    monkeypatch.setattr(curves.plt, "plot", lambda *a, label, **k: drawn.append(label))
    curves.add("validation", 1, 0.5)  # a resumed run: its history's epochs come first
    curves.add("train (batches)", 1.5, 0.4)
    curves.redraw()
    assert drawn == ["train (batches)", "validation"]  # plotext colours by this order
