"""Turn history rows and daemon health into the short texts the dashboard shows.

Pure functions over plain dicts, so they are tested without running an app. Every value from
the database goes into a ``Text`` as plain text, never as markup: a path like ``/v1/[x]`` must
show as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from egress_watch.masking import short_fingerprint

NOTHING = "—"

SEVERITY_STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "dim"}
ACTION_STYLES = {
    "blocked": "bold red", "redacted": "yellow", "passed": "", "uninspected": "italic",
    "not sent": "dim",
}  # fmt: skip
ACTION_WORDS = {"block": "blocked", "redact": "redacted", "pass": "passed", "failed": "not sent"}


def local_time(ts: str, today: date) -> str:
    """``HH:MM:SS`` in local time for today's events, else the date: ``24 Nov`` or ``Nov 2024``.

    Eight characters at most, so the time column stays narrow on an 80-column terminal.
    """
    moment = datetime.fromisoformat(ts)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone()
    if local.date() == today:
        return local.strftime("%H:%M:%S")
    if local.year == today.year:
        return f"{local.day:02d} {local.strftime('%b')}"
    return local.strftime("%b %Y")


def shorten_target(host: str, path: str, width: int) -> str:
    """``host + path`` in ``width`` cells, giving up the host before the end of the path.

    The service column already names who was called; the path says which API it was.
    """
    full = f"{host}{path}"
    if len(full) <= width:
        return full
    room_for_host = width - len(path) - 1
    if room_for_host >= 4:
        return f"{host[:room_for_host]}…{path}"
    tail = full[-(width - 1) :]
    slash = tail.find("/")
    return f"…{tail[slash:] if slash > 0 else tail}"


def findings_summary(event: Mapping[str, Any]) -> Text:
    """``2 secret: aws-access-key, github-token``, ``not inspected`` or a dash."""
    findings: list[dict[str, Any]] = event.get("findings") or []
    if not findings:
        if event.get("uninspected_reason"):
            return Text("not inspected", style="italic")
        return Text(NOTHING, style="dim")
    categories = {finding["category"] for finding in findings}
    label = categories.pop() if len(categories) == 1 else "findings"
    rules = ", ".join(dict.fromkeys(finding["rule"] for finding in findings))
    return Text(f"{len(findings)} {label}: {rules}")


def severity_text(label: str | None) -> Text:
    """The severity label in its colour: critical red bold, high red, medium yellow, low dim."""
    if not label:
        return Text(NOTHING, style="dim")
    return Text(label, style=SEVERITY_STYLES.get(label, ""))


def event_action(event: Mapping[str, Any]) -> str:
    """What happened to the request: passed, redacted, blocked, or uninspected (passed unseen)."""
    action = str(event["action"])
    if action == "pass" and event.get("uninspected_reason"):
        return "uninspected"
    return ACTION_WORDS.get(action, action)


def action_text(action: str) -> Text:
    """What the proxy did, as ``event_action`` words; a block stands out."""
    return Text(action, style=ACTION_STYLES.get(action, ""))


def uptime(seconds: float) -> str:
    """A short human duration: ``45s``, ``12m``, ``3h05m``, ``2d04h``."""
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def status_text(status: Mapping[str, Any] | None) -> Text:
    """One line of daemon health: where it listens and what it counted, or how to start it.

    The least important part (uptime) comes last, so a narrow terminal crops that first.
    """
    if status is None:
        return Text("reading daemon status…", style="dim")
    if not status.get("running"):
        return Text.assemble(
            ("○ ", "yellow"),
            ("daemon not running — start it with `egress-watch start`", "yellow"),
        )
    where = f"{status.get('listen_host', '?')}:{status.get('listen_port', '?')}"
    line = Text.assemble(("● ", "green"), f"daemon running on {where}")
    line.no_wrap = True
    line.overflow = "ellipsis"
    parts: list[tuple[str, str]] = []
    if status.get("mode"):
        parts.append((str(status["mode"]), ""))
    parts.append((f"{int(status.get('requests') or 0):,} requests", ""))
    parts.append((f"{int(status.get('events') or 0):,} events", ""))
    errors = int(status.get("errors") or 0)
    if errors:
        parts.append((f"{errors:,} errors", "red"))
    if status.get("history") == "degraded":
        parts.insert(0, (f"HISTORY NOT WRITABLE: {int(status.get('spooled') or 0):,} spooled",
                         "bold red"))  # fmt: skip
    if status.get("lost"):
        parts.insert(0, (f"{int(status['lost']):,} events LOST", "bold red"))
    if status.get("uptime_s") is not None:
        parts.append((f"up {uptime(float(status['uptime_s']))}", ""))
    for part, style in parts:
        line.append(" · ")
        line.append(part, style=style)
    return line


def where_in_request(finding: Mapping[str, Any]) -> str:
    """Which part of the request a finding came from: ``user, message 3``."""
    parts = []
    if finding.get("role"):
        parts.append(str(finding["role"]))
    if finding.get("message_index") is not None:
        parts.append(f"message {finding['message_index']}")
    return ", ".join(parts) or NOTHING


def event_heading(event: Mapping[str, Any]) -> Text:
    """``#12 POST api.openai.com/v1/chat/completions · block``: which event the pane describes."""
    heading = Text.assemble((f"#{event['id']} ", "dim"))
    heading.append(f"{event.get('method') or ''} {event['host']}{event.get('path') or ''}".strip())
    heading.append(" · ")
    heading.append_text(action_text(event_action(event)))
    return heading


def findings_detail(event: Mapping[str, Any] | None) -> RenderableType:
    """The highlighted event's findings: redacted fields only, one row each."""
    if event is None:
        return Text("Highlight an event to see its findings.", style="dim")
    heading = event_heading(event)
    findings: list[dict[str, Any]] = event.get("findings") or []
    notes = []
    if event.get("uninspected_reason"):
        error = f" ({event['error']})" if event.get("error") else ""
        notes.append(Text(f"Not inspected: {event['uninspected_reason']}{error}", style="italic"))
    if not findings:
        if not notes:
            notes.append(Text("No findings: nothing sensitive was seen in this request."))
        return Group(heading, *notes)
    return Group(heading, _findings_table(findings), *notes)


def _findings_table(findings: list[dict[str, Any]]) -> Table:
    table = Table(box=None, expand=True, pad_edge=False, header_style="bold")
    table.add_column("severity", no_wrap=True)
    table.add_column("rule", no_wrap=True, overflow="ellipsis")
    table.add_column("masked preview", no_wrap=True, overflow="ellipsis")
    table.add_column("where", no_wrap=True, overflow="ellipsis")
    table.add_column("fp", no_wrap=True)
    table.add_column("reason", ratio=1, no_wrap=True, overflow="ellipsis")
    for finding in findings:
        table.add_row(
            severity_text(finding.get("severity")),
            Text(str(finding["rule"])),
            Text(str(finding["masked"])),
            Text(where_in_request(finding)),
            Text(short_fingerprint(str(finding["fingerprint"])), style="dim"),
            Text(str(finding.get("reason") or "")),
        )
    return table
