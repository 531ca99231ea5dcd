"""Screens pushed over the live feed."""

from __future__ import annotations

from egress_watch_tui.screens.help import HelpScreen

__all__ = ["HelpScreen"]
