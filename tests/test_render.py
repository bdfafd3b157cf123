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
