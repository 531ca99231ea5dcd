"""Screens pushed over the live feed."""

from __future__ import annotations

from egress_watch_tui.screens.detail import EventDetailScreen
from egress_watch_tui.screens.help import HelpScreen
from egress_watch_tui.screens.overview import OverviewScreen
from egress_watch_tui.screens.prompt import PromptScreen

__all__ = ["EventDetailScreen", "HelpScreen", "OverviewScreen", "PromptScreen"]
