"""One event in full, and the triage actions on it: acknowledge, allowlist, copy fingerprint."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from egress_watch.masking import short_fingerprint
from egress_watch_tui import triage
from egress_watch_tui.formatting import (
    NOTHING,
    action_text,
    event_action,
    severity_text,
    where_in_request,
)
from egress_watch_tui.history import read_detail
from egress_watch_tui.messages import DetailRead, TriageDone
from egress_watch_tui.screens.prompt import PromptScreen


def process_chain(event: Mapping[str, Any]) -> str:
    """``claude (pid 4242) ← node ← zsh``: who sent it, then who started that."""
    name = event.get("process_name")
    if not name:
        return "unknown (the sending process could not be identified)"
    tool = event.get("tool")
    runtime = f"{name}, " if tool and tool != name else ""
    chain = [f"{tool or name} ({runtime}pid {event.get('process_pid')})"]
    chain += [str(parent) for parent in event.get("process_parents") or []]
    return " ← ".join(chain)


def where_it_went(event: Mapping[str, Any]) -> str:
    """``jurisdictions SG, CN · region SG``; unconfirmed codes say so (``CN?`` in the catalog)."""
    codes = [
        f"{code.rstrip('?')} (unconfirmed)" if code.endswith("?") else code
        for code in event.get("jurisdictions") or []
    ]
    region = str(event.get("region") or "")
    if not codes and not region:
        return "not recorded (the catalog had no facts for this service then)"
    region = f"{region.rstrip('?')} (unconfirmed)" if region.endswith("?") else region
    return f"jurisdictions {', '.join(codes) or 'unknown'} · region {region or 'unknown'}"


def event_summary(event: Mapping[str, Any]) -> Table:
    """The request's facts as a two-column table; values are plain text, never markup."""
    table = Table(box=None, show_header=False, pad_edge=False, expand=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    ack = event.get("acknowledged")
    rows: list[tuple[str, Text]] = [
        ("service", Text(f"{event['service']} ({event.get('family') or NOTHING})")),
        ("endpoint", Text(f"{event.get('method') or ''} {event['host']}{event.get('path') or ''}")),
        ("model", Text(str(event.get("model") or NOTHING))),
        ("sent", Text(f"{int(event.get('bytes_out') or 0):,} bytes at {event['ts']}")),
        ("went to", Text(where_it_went(event))),
        ("action", action_text(event_action(event))),
        ("process", Text(process_chain(event))),
        ("cwd", Text(str(event.get("process_cwd") or NOTHING))),
        ("repo", Text(str(event.get("process_repo") or NOTHING))),
        (
            "triage",
            Text(f"acknowledged {ack['acked_at'][:19]} {ack.get('note') or ''}".rstrip(), "green")
            if ack
            else Text("open (a acknowledges)", style="yellow"),
        ),
    ]
    if event.get("uninspected_reason"):
        rows.append(("not inspected", Text(str(event["uninspected_reason"]), style="italic")))
    for label, value in rows:
        table.add_row(label, value)
    return table


def finding_place(finding: Mapping[str, Any]) -> str:
    """Where the value sat: role and message, then the file it came from if known."""
    place = where_in_request(finding)
    if finding.get("path_hint"):
        place += f" · {finding['path_hint']}"
    return place


def finding_detail(finding: Mapping[str, Any], event: Mapping[str, Any]) -> Text:
    """The highlighted finding: reason, provenance, fingerprint, sightings, allowlist state."""
    fp = str(finding["fingerprint"])
    text = Text.assemble((f"{finding['rule']}", "bold"), f" — {finding.get('reason') or ''}\n")
    if finding.get("source_repo"):
        text.append(
            f"matches {finding['source_repo']}:{finding.get('source_path') or '?'} lines "
            f"{finding.get('source_start_line')}-{finding.get('source_end_line')}"
            f" (score {finding.get('score') or 0:.2f})\n"
        )
    seen = event.get("sightings", {}).get(fp)
    text.append(f"fingerprint {short_fingerprint(fp)}", style="dim")
    if seen:
        text.append(f" · seen {seen:,} time{'s' if seen != 1 else ''}", style="dim")
    verified = event.get("verified", {}).get(fp)
    if verified:
        outcome, checked = verified
        style = "bold red" if outcome == "active" else "dim"
        note = "verified ACTIVE: rotate now" if outcome == "active" else f"verified {outcome}"
        text.append(f"\n{note} (asked the issuer {checked})", style=style)
    reason = event.get("allowlisted", {}).get(fp)
    if reason:
        text.append(f"\nallowlisted: {reason}", style="green")
    return text


class EventDetailScreen(Screen[None]):
    """Everything the history knows about one event; never a secret value."""

    DEFAULT_CSS = """
    EventDetailScreen #detail-summary { height: auto; padding: 0 1; }
    EventDetailScreen #detail-findings { height: 1fr; min-height: 4; border-top: solid $primary; }
    EventDetailScreen #detail-finding { height: auto; max-height: 5; padding: 0 1;
        border-top: solid $primary; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("a", "acknowledge", "Acknowledge"),
        Binding("w", "allow", "Allowlist"),
        Binding("c", "copy_fingerprint", "Copy fingerprint"),
    ]

    summary = getters.query_one("#detail-summary", Static)
    findings = getters.query_one("#detail-findings", DataTable)
    finding_box = getters.query_one("#detail-finding", Static)

    def __init__(self, database: Path, event_id: int, clock: Callable[[], datetime]) -> None:
        super().__init__()
        self._database = database
        self.event_id = event_id
        self._clock = clock
        self.event: dict[str, Any] | None = None
        self.sub_title = f"event #{event_id}"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("Reading the event…", style="dim"), id="detail-summary")
        yield DataTable(cursor_type="row", id="detail-findings")
        yield Static("", id="detail-finding")
        yield Footer()

    def on_mount(self) -> None:
        table = self.findings
        for label in ("severity", "category", "rule", "masked preview", "where", "seen"):
            table.add_column(label, key=label)
        table.focus()
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="db", description="read event")
    def _load(self) -> None:
        """Read the event with its triage state (again after a triage write)."""
        self.post_message(DetailRead(read_detail(self._database, self.event_id)))

    @on(DetailRead)
    def _show(self, message: DetailRead) -> None:
        event = self.event = message.event
        if event is None:
            self.summary.update(Text(f"Event #{self.event_id} is no longer in the history."))
            return
        self.summary.update(event_summary(event))
        table = self.findings
        row = table.cursor_row
        table.clear()
        for finding in event["findings"]:
            fp = str(finding["fingerprint"])
            seen = event["sightings"].get(fp)
            allowed = " ✓ allowed" if fp in event["allowlisted"] else ""
            table.add_row(
                severity_text(finding.get("severity")),
                Text(str(finding["category"])),
                Text(str(finding["rule"])),
                Text(str(finding["masked"])),
                Text(finding_place(finding)),
                Text(f"{seen or 1:,}x{allowed}"),
            )
        if not event["findings"]:
            self.finding_box.update(Text("No findings: nothing sensitive was seen.", style="dim"))
        elif table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))
            self._show_finding()

    @on(DataTable.RowHighlighted, "#detail-findings")
    def _show_finding(self) -> None:
        finding = self.highlighted_finding
        if finding is not None and self.event is not None:
            self.finding_box.update(finding_detail(finding, self.event))

    @property
    def highlighted_finding(self) -> dict[str, Any] | None:
        """The finding under the cursor, which the allowlist and copy actions apply to."""
        if self.event is None or not self.event["findings"]:
            return None
        findings: list[dict[str, Any]] = self.event["findings"]
        return findings[min(self.findings.cursor_row, len(findings) - 1)]

    def action_copy_fingerprint(self) -> None:
        """Put the full fingerprint on the clipboard, e.g. for ``egress-watch allow``."""
        finding = self.highlighted_finding
        if finding is None:
            self.notify("This event has no finding to copy.", severity="warning")
            return
        self.app.copy_to_clipboard(str(finding["fingerprint"]))
        self.notify(f"Copied fingerprint {short_fingerprint(str(finding['fingerprint']))}")

    def action_acknowledge(self) -> None:
        """Ask for a note, then mark the event as dealt with."""
        prompt = PromptScreen(
            f"Acknowledge event #{self.event_id}?",
            "It will be marked as seen and dealt with, for everyone reading this history.",
            "note (optional), e.g. key rotated",
            "Acknowledge",
            required=False,
        )
        self.app.push_screen(prompt, self._acknowledge)

    def _acknowledge(self, note: str | None) -> None:
        if note is not None:
            self._write(f"Acknowledged event #{self.event_id}", triage.acknowledge,
                        self._database, self.event_id, note)  # fmt: skip

    def action_allow(self) -> None:
        """Ask for a reason, then allowlist the highlighted finding's value by fingerprint."""
        finding = self.highlighted_finding
        if finding is None:
            self.notify("This event has no finding to allowlist.", severity="warning")
            return
        fp = str(finding["fingerprint"])
        prompt = PromptScreen(
            f"Allowlist {finding['rule']} {finding['masked']}?",
            f"Every later sighting of this value (fingerprint {short_fingerprint(fp)}) will "
            "pass without an alert. The dashboard cannot undo this; "
            "remove the entry from the allowlist to reverse it.",
            "reason (required), e.g. test fixture key",
            "Allowlist",
            required=True,
        )
        self.app.push_screen(prompt, lambda reason: self._allow(finding, reason))

    def _allow(self, finding: dict[str, Any], reason: str | None) -> None:
        if reason is not None:
            self._write(f"Allowlisted {finding['rule']} {finding['masked']}", triage.allow,
                        self._database, str(finding["fingerprint"]), reason)  # fmt: skip

    @work(thread=True, exit_on_error=False, group="triage", description="triage write")
    def _write(self, what: str, action: Callable[..., None], *args: Any) -> None:
        """Run one triage write off the UI thread, then re-read the event."""
        action(*args)
        self.post_message(TriageDone(what))

    @on(TriageDone)
    def _done(self, message: TriageDone) -> None:
        self.notify(message.what, title="Triage recorded")
        self._load()
