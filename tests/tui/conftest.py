"""Fixtures for the dashboard tests: an asyncio backend for anyio and a fixed local time zone."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest


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
