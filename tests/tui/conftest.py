"""Fixtures for the dashboard tests: an asyncio backend for anyio and a fixed local time zone."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from egress_watch.store.writer import EventWriter, Retention


@pytest.fixture
def anyio_backend() -> str:
    """Textual runs on asyncio; anyio's pytest plugin (shipped with httpx) drives the tests."""
    return "asyncio"


@pytest.fixture(autouse=True)
def fixed_local_timezone() -> Iterator[None]:
    """Pin local time to UTC-5 with no DST, so "today" and HH:MM:SS read the same on any host."""
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "EST+5"
    time.tzset()
    yield
    if previous is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = previous
    time.tzset()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """Where the seeded history lives; it does not exist until a writer opens it."""
    return tmp_path / "history.db"


@pytest.fixture
def writer(database: Path) -> Iterator[EventWriter]:
    """The real writer the daemon uses, so the dashboard reads exactly what it would in use.

    Retention is off: the tests' clock is fixed in the past, and pruning runs on the real clock.
    """
    writer = EventWriter(database, retention=Retention(days=36_500))
    yield writer
    writer.close()
