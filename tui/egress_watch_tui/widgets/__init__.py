"""Widgets of the dashboard, one concern each."""

from __future__ import annotations

from egress_watch_tui.widgets.event_table import EventTable
from egress_watch_tui.widgets.filter_bar import FilterBar
from egress_watch_tui.widgets.findings_pane import FindingsPane

__all__ = ["EventTable", "FilterBar", "FindingsPane"]
