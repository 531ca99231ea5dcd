"""Error types that the edges (CLI, addon, TUI) translate into messages for the user."""

from __future__ import annotations


class EgressWatchError(Exception):
    """Base class for errors that carry a message meant for the user."""


class ConfigError(EgressWatchError):
    """The configuration file or an option is invalid; the message names the file and key."""


class StoreError(EgressWatchError):
    """The history database cannot be opened, migrated or written."""


class DaemonError(EgressWatchError):
    """The background proxy cannot be started, stopped or reached."""
