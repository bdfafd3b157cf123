"""The keyboard rules every screen shares: a text field takes letters, Escape leaves it, and the
footer offers only the keys that work. And what keeps a key's answer quick: no restyle, no full
garbage collection over what the app has built."""

import gc

import pytest
from textual import events
from textual.command import CommandPalette
from textual.widgets import Input

from tests.pilots import until
from workbench.tui.app import WorkbenchApp
from workbench.tui.widgets.keybar import KeyBar


@pytest.fixture(autouse=True)
def workdir(tmp_path, monkeypatch):
    """Each test in a folder of its own: the app reads and writes ./runs there."""
    monkeypatch.chdir(tmp_path)


def offered(app) -> set[str]:
    return {key for key, active in app.screen.active_bindings.items()
            if active.binding.show and active.enabled}


async def typing_in(pilot, screen_key: str, field: str) -> Input:
    """The field ``field`` of the screen that ``screen_key`` opens, focused: what is typed next
    goes into it."""
    await pilot.press(screen_key)
    widget = pilot.app.screen.query_one(field, Input)
    widget.focus()
    await pilot.pause()
    return widget


async def test_escape_leaves_a_field_and_the_keys_work_again():
    app = WorkbenchApp()
    async with app.run_test(size=(120, 40)) as pilot:
        epochs = await typing_in(pilot, "t", "#epochs")
        assert not {"g", "d", "w", "q"} & offered(app)  # letters are text while typing
        await pilot.press("d", "7")
        assert app.current_mode == "train" and epochs.value.endswith("7")
        await pilot.press("escape")
        assert app.screen.focused is None
        assert {"g", "d", "w", "q"} <= offered(app)
        await pilot.press("w")
        assert app.current_mode == "draw"


async def test_escape_keeps_its_screen_meaning_outside_a_field():
    app = WorkbenchApp()
    async with app.run_test(size=(120, 40)) as pilot:
        message = await typing_in(pilot, "k", "#message")
        await pilot.press("x", "escape")
        assert message.value.endswith("x") and app.screen.focused is None
        await pilot.press("t")
        assert app.current_mode == "train"


async def test_the_key_bar_offers_the_screen_s_keys_and_a_click_presses_one(monkeypatch):
    app = WorkbenchApp()
    mounted = []
    async with app.run_test(size=(160, 40),
                            message_hook=lambda m: mounted.append(m)
                            if isinstance(m, events.Mount) else None) as pilot:
        await pilot.press("t")
        await pilot.pause()
        bar = app.screen.query_one(KeyBar)
        line = str(bar.render())
        assert " g Start " in line and " d Data " in line and line.rstrip().endswith("^p palette")
        keys, palette = bar.keys()
        assert [k.enabled for k in keys if k.key == "t"] == [False]  # this screen: dimmed
        await app.workers.wait_for_complete()  # the data loaded, and drawn
        await pilot.pause()
        mounted.clear()
        await pilot.press("d", "t")  # a switch repaints the bar and mounts nothing
        await pilot.pause()
        assert app.current_mode == "train" and not mounted, mounted
        runs_x = line.index(" r Runs ") + 1
        await pilot.hover(KeyBar, offset=(runs_x, 0))
        bar = app.screen.query_one(KeyBar)
        lit = bar.get_component_rich_style("keybar--hover").bgcolor
        assert bar.key_at(runs_x).key == "r" and lit == [  # the key under the mouse is lit
            span.style.bgcolor for span in bar.render().spans if span.start <= runs_x < span.end
            and span.style.bgcolor is not None][-1]  # (the last span over a cell wins)
        await pilot.click(KeyBar, offset=(runs_x, 0))
        assert app.current_mode == "runs"
        bells = []
        monkeypatch.setattr(app, "bell", lambda: bells.append(1))
        await until(pilot, lambda: " r Runs " in str(app.screen.query_one(KeyBar).render()))
        line = str(app.screen.query_one(KeyBar).render())  # the Runs screen's own bar
        await pilot.click(KeyBar, offset=(line.index(" r Runs ") + 1, 0))
        assert app.current_mode == "runs" and bells == [1]  # the current screen's key: a bell


async def test_a_theme_chosen_on_one_screen_is_on_the_others_when_they_come_back():
    """Screens skip Textual's restyle when they come back (base.py): a new theme must still
    reach them."""
    app = WorkbenchApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t", "d")
        train = app.get_screen_stack("train")[0]
        before = train.styles.background
        app.theme = "textual-light"
        await pilot.pause()
        await pilot.press("t")
        await pilot.pause()
        assert app.screen is train
        assert train.styles.background != before
        app.theme = "textual-dark"
        await pilot.press("d", "t")
        await pilot.pause()
        assert train.styles.background == before


async def test_a_screen_s_first_return_does_not_restyle_the_app(monkeypatch):
    """Its first return re-applied the whole stylesheet (~250 ms for the Train screen)."""
    app = WorkbenchApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t", "d", "r", "d")
        await pilot.pause()
        refreshed = []
        monkeypatch.setattr(app, "refresh_css", lambda *a, **k: refreshed.append(app.screen))
        await pilot.press("t", "d", "r", "d")
        assert app.current_mode == "data" and refreshed == []


async def test_what_the_app_built_is_left_out_of_full_collections():
    """A full collection walked ~130,000 objects, 70-90 ms that a key press waited for while a
    training shared the cores (heap.py)."""
    gc.unfreeze()
    app = WorkbenchApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("t")
        await pilot.pause()
        collected = {id(o) for generation in range(3) for o in gc.get_objects(generation)}
        assert app.competition is not None and id(app.competition) not in collected
        assert id(app.screen) not in collected and gc.get_freeze_count() > 10_000


async def test_on_a_narrow_screen_a_click_on_the_palette_key_opens_the_palette():
    """At 100 columns the keys grow terse (no key is cut), and the palette's cells stay the
    palette's."""
    app = WorkbenchApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("d")
        await pilot.pause()
        bar = app.screen.query_one(KeyBar)
        line = str(bar.render())
        palette_x = line.index("^p")
        assert " q Quit" in line and "Keys" in line  # terse, not cut
        assert bar.key_at(palette_x - 1).key == "ctrl+p"  # its bar, "▏"
        await pilot.click(KeyBar, offset=(palette_x, 0))
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)



async def test_the_search_keys_help_lists_stop_and_open_and_the_palette_has_one_keys_entry():
    from workbench.tui.screens.help import key_sections

    app = WorkbenchApp()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.press("o")
        await pilot.pause()
        lines = {(row.keys, row.description) for _, rows in key_sections(app.screen)
                 for row in rows}
        assert ("x", "Stop") in lines  # dimmed while nothing runs, but listed
        assert ("⏎", "Open trial") in lines
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert [title for title in titles if "Keys" in title] == ["Keys of this screen (F1)"]
