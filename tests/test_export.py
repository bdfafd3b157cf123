"""export-png: the folder layout image loaders read, zero-padded ids, resumption."""

import os

import numpy as np
from PIL import Image

from workbench.engine.data.competition import load_competition
from workbench.engine.data.export import export_png


def pngs(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png"))


def test_layout_and_pixels(kaggle, tmp_path):
    competition = load_competition(kaggle.zip())
    out = tmp_path / "png"
    progress = []
    result = export_png(competition, out, workers=2, on_progress=lambda d, t: progress.append(
        (d, t)))
    assert (result.written, result.skipped) == (42, 0)
    files = pngs(out)
    assert len(files) == 42
    assert "train/0/01.png" in files and "train/9/30.png" in files
    assert [f for f in files if f.startswith("test/")] == [f"test/{i:02d}.png" for i in
                                                           range(1, 13)]
    np.testing.assert_array_equal(np.asarray(Image.open(out / "train/3/04.png")),
                                  kaggle.train_images[3])
    np.testing.assert_array_equal(np.asarray(Image.open(out / "test/12.png")),
                                  kaggle.test_images[11])
    assert progress[0] == (0, 42) and progress[-1] == (42, 42)


def test_alphabetical_order_is_imageid_order(kaggle, tmp_path):
    competition = load_competition(kaggle.zip())
    export_png(competition, tmp_path, workers=1)
    names = sorted(os.listdir(tmp_path / "test"))
    assert [int(name.removesuffix(".png")) for name in names] == list(range(1, 13))


def test_resume_writes_only_what_is_missing(kaggle, tmp_path):
    competition = load_competition(kaggle.zip())
    export_png(competition, tmp_path, workers=2)
    kept = tmp_path / "train/5/06.png"
    os.utime(kept, ns=(0, 0))
    (tmp_path / "test/07.png").unlink()
    (tmp_path / "train/1/02.png").unlink()
    leftover = tmp_path / "test/.08.png.abc.tmp"
    leftover.write_bytes(b"half a file")
    result = export_png(competition, tmp_path, workers=2)
    assert (result.written, result.skipped) == (2, 40)
    assert kept.stat().st_mtime_ns == 0
    assert len(pngs(tmp_path)) == 42
    assert not leftover.exists()
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "test/07.png")),
                                  kaggle.test_images[6])
