"""The addon when the history and the spool are full, and when the upstream fails."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from mitmproxy import flow as mflow
from mitmproxy import http
from mitmproxy.test import taddons

from egress_watch.capture.addon import EgressWatch
from egress_watch.paths import HomePaths
from egress_watch.store.writer import EventWriter
from tests.addon.test_addon import addon, chat_flow, rows, run
from tests.conftest import fake_aws_key_id

__all__ = ["addon"]  # the fixture, shared with test_addon.py


@pytest.fixture
def no_room(
    addon: tuple[EgressWatch, taddons.context], ew_home: HomePaths
) -> Iterator[tuple[EgressWatch, taddons.context]]:
    """The history is locked by another program and the spool has no room left."""
    instance, tctx = addon
    instance.writer.close()
    instance.writer = EventWriter(ew_home.database, busy_timeout_ms=50, spool_limit=0)
    locker = sqlite3.connect(ew_home.database, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        yield instance, tctx
    finally:
        locker.execute("ROLLBACK")
        locker.close()


def test_fail_open_forwards_what_it_cannot_record_and_counts_the_loss(
    no_room: tuple[EgressWatch, taddons.context],
) -> None:
    instance, _ = no_room
    flow = chat_flow(f"key {fake_aws_key_id()}")
    run(instance.request(flow))
    assert flow.response is None  # monitor mode, fail open: forwarded
    assert instance.writer.health().lost == 1
    with taddons.context(instance):
        state = instance.state()
    assert state["lost"] == 1
    assert state["events"] == 0  # status never counts an event that was not kept
    assert state["history"] == "degraded"


def test_fail_closed_refuses_what_it_cannot_record(
    no_room: tuple[EgressWatch, taddons.context],
) -> None:
    instance, tctx = no_room
    tctx.configure(instance, egress_watch_fail_mode="closed")
    instance.writer.close()  # configure made a new writer: take the room away again
    instance.writer = EventWriter(instance.paths.database, busy_timeout_ms=50, spool_limit=0)  # type: ignore[union-attr]
    flow = chat_flow("hello")
    run(instance.request(flow))
    assert flow.response is not None
    assert flow.response.status_code == 502
    assert b"cannot record this request" in (flow.response.content or b"")


@pytest.mark.parametrize(
    ("message", "answered", "expected"),
    [
        ("[Errno 104] Connection reset by peer", False, ("failed", True)),
        ("Server disconnected.", True, ("pass", True)),  # it answered: the request arrived
        ("Client disconnected.", False, ("pass", False)),  # not the upstream's failure
    ],
)
def test_upstream_errors_are_written_onto_the_event(
    addon: tuple[EgressWatch, taddons.context],
    ew_home: HomePaths,
    message: str,
    answered: bool,
    expected: tuple[str, bool],
) -> None:
    instance, _ = addon
    flow = chat_flow("hello")
    run(instance.request(flow))
    if answered:
        flow.response = http.Response.make(200, b"partial")
    flow.error = mflow.Error(message)
    instance.error(flow)
    instance.writer.close()  # drain the queue
    instance.writer = None
    ((action, error),) = rows(ew_home, "select action, error from events")
    assert (action, error is not None) == expected
