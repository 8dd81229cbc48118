"""Errors a user can cause. Each message says what went wrong and what to do.

The CLI turns them into one line and exit status 2; the UI shows them with ``st.error``.
"""


class ExplorerError(Exception):
    """Base class for every error the user can fix."""


class DataError(ExplorerError):
    """A dataset is missing, malformed or out of range."""


class CheckpointError(ExplorerError):
    """A checkpoint folder is missing, foreign, truncated or does not match its config."""


class DeviceError(ExplorerError):
    """The requested device does not exist on this machine."""


class ConfigError(ExplorerError):
    """A configuration value is unknown or out of its bounds."""


def one_line(error: BaseException) -> str:
    """A library's error message on one short line, for quoting inside ours."""
    return " ".join(str(error).split())[:200]


def shown(value: object) -> str:
    """A value read from a file, for a one-line message: on one line and cut short, as it can hold anything."""
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:57] + "..."
