"""Errors that end a run with one clear line (the CLI prints `error: <message>` and exits non-zero)."""


class PipelineError(Exception):
    """Base class: the message is the whole story, shown to the user as one line."""


class ConfigError(PipelineError):
    """A config key is unknown, mistyped or missing; the message names the key."""


class InputError(PipelineError):
    """An input file or folder is missing or unreadable; the message names it."""


class OutputError(PipelineError):
    """An output cannot be written (disk full, read-only or forbidden folder); the message names it."""


class StageNotBuilt(PipelineError):
    """The stage exists in the contract but has no implementation yet."""
