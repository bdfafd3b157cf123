"""The engine's one error type: a problem the user can fix, told in one sentence."""


class WorkbenchError(Exception):
    """A problem with the user's input or environment; str() is the message to show."""
