"""The private parts of Textual and Keras this project relies on (issue 33): each is used in one
function, and an upgrade that moves one fails here, by name, rather than somewhere slow."""

from __future__ import annotations

import inspect

from textual import events
from textual.app import App
from textual.screen import Screen


def test_textual_keeps_a_stylesheet_count_on_the_app_and_each_screen():
    """tui/internals.mark_styled copies App._css_update_count onto a screen."""
    app = App()
    assert isinstance(app._css_update_count, int), "Textual renamed App._css_update_count"
    assert "_css_update_count" in inspect.getsource(Screen), (
        "Textual's Screen no longer reads _css_update_count: mark_styled does nothing")


def test_textual_s_screen_resume_still_says_whether_to_restyle():
    """WorkbenchScreen.post_message turns refresh_styles off on a return to a screen."""
    assert events.ScreenResume(refresh_styles=False).refresh_styles is False


def test_textual_s_linux_driver_still_draws_on_sys_stderr():
    """tui/internals.draw_on hands Textual the terminal through sys.__stderr__."""
    from textual.drivers.linux_driver import LinuxDriver

    assert "self._file = sys.__stderr__" in inspect.getsource(LinuxDriver.__init__), (
        "Textual's driver no longer draws on sys.__stderr__: draw_on must change")


def test_keras_still_builds_a_model_s_training_state_symbolically():
    """backend.build_training_state calls Model._symbolic_build (TensorFlow traces once)."""
    import keras

    assert callable(getattr(keras.Model, "_symbolic_build", None)), (
        "Keras renamed Model._symbolic_build: backend.build_training_state must follow")
    assert "data_batch" in inspect.signature(keras.Model._symbolic_build).parameters
