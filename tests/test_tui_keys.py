"""The keyboard rules every screen shares: a text field takes letters, Escape leaves it, and the
footer offers only the keys that work."""

from textual.widgets import Input

from workbench.tui.app import WorkbenchApp


def offered(app) -> set[str]:
    return {key for key, active in app.screen.active_bindings.items()
            if active.binding.show and active.enabled}


async def test_escape_leaves_a_field_and_the_keys_work_again(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = WorkbenchApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        epochs = app.screen.query_one("#epochs", Input)
        epochs.focus()
        await pilot.pause()
        assert not {"g", "d", "w", "q"} & offered(app)  # letters are text while typing
        await pilot.press("d", "7")
        assert app.current_mode == "train" and epochs.value.endswith("7")
        await pilot.press("escape")
        assert app.screen.focused is None
        assert {"g", "d", "w", "q"} <= offered(app)
        await pilot.press("w")
        assert app.current_mode == "draw"


async def test_escape_keeps_its_screen_meaning_outside_a_field(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = WorkbenchApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("k")
        message = app.screen.query_one("#message", Input)
        message.focus()
        await pilot.press("x", "escape")
        assert message.value.endswith("x") and app.screen.focused is None
        await pilot.press("t")
        assert app.current_mode == "train"
