"""The app's first screen: which dataset is loaded and its counts."""

from textual.widgets import Static

from workbench.tui.app import WorkbenchApp


def shown(app, selector):
    return str(app.screen.query_one(selector, Static).render())


async def test_shows_the_dataset_and_counts(kaggle):
    app = WorkbenchApp(str(kaggle.zip()))
    async with app.run_test() as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert "digit-recognizer.zip" in shown(app, "#dataset")
        counts = shown(app, "#counts")
        assert "30 train images (labelled), 12 test images" in counts
        assert "0: 3  1: 3" in counts


async def test_bad_data_is_a_message_not_a_crash(tmp_path):
    app = WorkbenchApp(str(tmp_path / "missing.zip"))
    async with app.run_test() as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert "Could not load the data" in shown(app, "#dataset")
        assert "does not exist" in shown(app, "#dataset")
        await pilot.press("q")
    assert app.return_code == 0
