"""The engine: everything the workbench does, with no user interface (no Textual import here)."""
