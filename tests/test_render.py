"""Digits drawn as terminal text."""

import numpy as np

from workbench.render import ASCII_RAMP, digit_ascii, digit_blocks


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
