"""The Textual workbench. It only calls the engine."""
