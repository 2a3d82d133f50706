"""The failures a task reports as a clear message and an exit code instead of a traceback."""


class IrisMlopsError(Exception):
    """A failure the user can act on; the message says what and how."""

    exit_code = 1


class ParameterError(IrisMlopsError):
    """A task was called with unknown or malformed `--key=value` parameters."""

    exit_code = 2


class MissingStateError(IrisMlopsError):
    """Something a step needs does not exist yet (a table, a model alias, an evaluation)."""


class MissingExtraError(IrisMlopsError):
    """The wheel was installed without an extra that this run needs (the `local` extra)."""


class GateFailedError(IrisMlopsError):
    """The challenger did not pass the approval gate; the champion is left untouched."""


class ServingError(IrisMlopsError):
    """The serving endpoint is not in a state deploy can update (its config belongs to Pulumi)."""


class StateError(IrisMlopsError):
    """Local state (home, MLflow store, artifacts, a Delta table) is damaged, unwritable or in use;
    the message names the path and what to do. Nothing is reset or repaired behind the user's back."""


class BusyError(IrisMlopsError):
    """Another run holds what this one needs (the model's training lock)."""
