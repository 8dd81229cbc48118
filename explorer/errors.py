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
