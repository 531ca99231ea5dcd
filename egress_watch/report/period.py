"""The window a report covers, and the one before it for the trend (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from egress_watch.model import utc_iso
from egress_watch.store.queries import parse_when


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open time window ``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    @property
    def start_iso(self) -> str:
        return utc_iso(self.start)

    @property
    def end_iso(self) -> str:
        return utc_iso(self.end)

    def previous(self) -> Period:
        """The window of the same length just before this one, for the trend."""
        length = self.end - self.start
        return Period(self.start - length, self.start)

    @property
    def label(self) -> str:
        """``2026-11-20 09:00 → 2026-11-27 09:00 UTC``: short, unambiguous, sortable."""
        fmt = "%Y-%m-%d %H:%M"
        return f"{self.start.strftime(fmt)} → {self.end.strftime(fmt)} UTC"


def _is_bare_date(value: str) -> bool:
    try:
        date.fromisoformat(value.strip())
    except ValueError:
        return False
    return True


def _bound(value: str, now: datetime, *, end_of_day: bool) -> datetime:
    """A ``--from``/``--to`` bound; a bare ``--to`` date includes that whole day."""
    moment = parse_when(value, now)
    if end_of_day and _is_bare_date(value):
        moment += timedelta(days=1)
    return moment.astimezone(UTC)


def resolve_period(
    now: datetime, since: str | None = None, start: str | None = None, end: str | None = None
) -> Period:
    """Turn the command's ``--since`` or ``--from``/``--to`` into a window ending no later than now.

    Raises ValueError with a message for the user when the options do not make a window.
    """
    now = now.astimezone(UTC)
    if since is not None and (start is not None or end is not None):
        raise ValueError("give either --since or --from/--to, not both")
    if start is None and end is not None:
        raise ValueError("--to needs --from")
    if start is not None:
        begin = _bound(start, now, end_of_day=False)
        finish = _bound(end, now, end_of_day=True) if end is not None else now
    else:
        begin, finish = _bound(since or "7d", now, end_of_day=False), now
    if finish <= begin:
        raise ValueError("the report window is empty: its end is not after its start")
    return Period(begin, finish)
