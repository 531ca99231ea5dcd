"""Delivery: the outbox in the event's transaction, in-order at-least-once, retries, replay."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from egress_watch.cli.main import cli
from egress_watch.config.export_sinks import SinkConfig
from egress_watch.export import outbox
from egress_watch.export.exporter import Exporter, ExportOptions
from egress_watch.export.files import FileSink
from egress_watch.export.sink import Record
from egress_watch.export.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER
from egress_watch.model import Action, Category, Event, Finding, Severity
from egress_watch.paths import HomePaths
from egress_watch.store.writer import EventWriter
from tests.support.export_receivers import HttpReceiver, read_json_lines, wait_until
from tests.support.servers import free_port

KEY = b"k" * 32
FINDING = Finding(Category.SECRET, "aws-access-key", Severity.CRITICAL, 5, 25,
                  "AKIA…WXYZ (20 chars)", "hmac-sha256:" + "ab" * 32, role="user")  # fmt: skip


def make_event(n: int) -> Event:
    return Event(
        timestamp=f"2026-11-27T10:00:{n % 60:02d}.000000+00:00", service="openai",
        family="openai-chat", host="api.openai.com", method="POST",
        path="/v1/chat/completions", bytes_out=100 + n, action=Action.PASS,
        findings=(FINDING,) if n % 2 else (),
    )  # fmt: skip


def file_sink(path: Path, name: str = "file") -> SinkConfig:
    return SinkConfig(name=name, kind="file", path=str(path), batch=7, retry_max_s=0.5)


@contextmanager
def exporting(database: Path, *sinks: SinkConfig, **options: object) -> Iterator[Exporter]:
    exporter = Exporter(database, KEY, ExportOptions(sinks, **options))  # type: ignore[arg-type]
    exporter.start()
    try:
        yield exporter
    finally:
        exporter.stop()


def write_events(database: Path, numbers: range) -> list[int]:
    writer = EventWriter(database)
    try:
        return [writer.write(make_event(n)) for n in numbers]
    finally:
        writer.close()


def outbox_rows(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])


def test_outbox_rows_are_written_only_while_a_sink_is_configured(tmp_path: Path) -> None:
    database = tmp_path / "h.db"
    write_events(database, range(3))
    assert outbox_rows(database) == 0
    with exporting(database, file_sink(tmp_path / "out.jsonl", name="a")) as exporter:
        exporter.stop()  # registered, not delivering: rows stay
        write_events(database, range(3, 5))
        assert outbox_rows(database) == 2
    Exporter(database, KEY, ExportOptions(())).start()  # the sink was removed from config
    write_events(database, range(5, 8))
    assert outbox_rows(database) == 2


def test_every_event_arrives_in_order_across_an_exporter_restart(tmp_path: Path) -> None:
    database, out = tmp_path / "h.db", tmp_path / "out.jsonl"
    with exporting(database, file_sink(out)):
        ids = write_events(database, range(20))
        wait_until(lambda: len(read_json_lines(out)) >= 20, "the first 20 events")
    ids += write_events(database, range(20, 50))  # the daemon is down: they wait in the outbox
    with exporting(database, file_sink(out)):
        wait_until(lambda: len(read_json_lines(out)) >= 50, "all 50 events")
    records = read_json_lines(out)
    assert [r["event_id"] for r in records] == ids  # in order, none lost, none doubled here
    assert len({r["uid"] for r in records}) == 50
    assert records[1]["findings"][0]["masked"] == "AKIA…WXYZ (20 chars)"


def received(hook: HttpReceiver) -> int:
    return sum(len(json.loads(r.body)["records"]) for r in hook.snapshot())


def test_a_failing_webhook_is_retried_and_its_signature_checks(tmp_path: Path) -> None:
    database = tmp_path / "h.db"
    secret = tmp_path / "hook.key"
    secret.write_bytes(b"shared-" + b"x" * 16)
    with HttpReceiver() as hook:
        hook.fail_next = 3
        sink = SinkConfig(name="hook", kind="webhook", url=f"http://127.0.0.1:{hook.port}/in",
                          secret_file=str(secret), batch=4, retry_max_s=0.2)  # fmt: skip
        with exporting(database, sink):
            ids = write_events(database, range(10))
            wait_until(lambda: received(hook) >= 10, "10 webhook records")
        with sqlite3.connect(database) as conn:
            (status,) = outbox.status(conn)
    assert status["errors"] == 3
    assert "HTTP 503" in status["last_error"]
    assert status["lag"] == 0
    assert status["delivered"] == 10
    got = [rec["event_id"] for r in hook.snapshot() for rec in json.loads(r.body)["records"]]
    assert got == ids
    first = hook.snapshot()[0]
    stamp = first.headers[TIMESTAMP_HEADER]
    expected = hmac.new(secret.read_bytes().strip(), stamp.encode() + b"." + first.body,
                        hashlib.sha256).hexdigest()  # fmt: skip
    assert first.headers[SIGNATURE_HEADER] == "sha256=" + expected


def test_splunk_hec_and_otlp_receivers_get_their_own_shapes(tmp_path: Path) -> None:
    database = tmp_path / "h.db"
    token = tmp_path / "hec.token"
    token.write_text("hec-token-for-tests\n")
    with HttpReceiver() as hec, HttpReceiver() as collector:
        sinks = (
            SinkConfig(name="hec", kind="webhook", style="splunk-hec", secret_file=str(token),
                       url=f"http://127.0.0.1:{hec.port}/services/collector/event"),
            SinkConfig(name="otel", kind="otlp", format="ocsf",
                       url=f"http://127.0.0.1:{collector.port}/v1/logs"),
        )  # fmt: skip
        with exporting(database, *sinks):
            ids = write_events(database, range(3))
            wait_until(lambda: hec.snapshot() and collector.snapshot(), "both receivers")
    request = hec.snapshot()[0]
    assert request.headers["Authorization"] == "Splunk hec-token-for-tests"
    decoder = json.JSONDecoder()
    first, _ = decoder.raw_decode(request.body.decode())
    assert first["sourcetype"] == "egress-watch:event"
    assert first["event"]["event_id"] == ids[0]
    otlp = ExportLogsServiceRequest.FromString(collector.snapshot()[0].body)
    logs = otlp.resource_logs[0].scope_logs[0].log_records
    assert json.loads(logs[0].body.string_value)["class_uid"] == 2006


def test_an_unreachable_sink_builds_a_bounded_backlog(tmp_path: Path) -> None:
    database = tmp_path / "h.db"
    down = SinkConfig(name="down", kind="syslog", url=f"tcp://127.0.0.1:{free_port()}",
                      retry_max_s=0.2)  # fmt: skip
    with exporting(database, down):
        write_events(database, range(12))
        with sqlite3.connect(database) as conn:
            wait_until(lambda: outbox.status(conn)[0]["errors"] >= 2, "connection errors")
            assert outbox.trim(conn, max_backlog=5) == 7
            (status,) = outbox.status(conn)
    assert (status["lag"], status["dropped"], status["delivered"]) == (5, 7, 0)
    assert "refused" in status["last_error"].lower()


def test_export_commands_replay_and_status(ew_home: HomePaths, tmp_path: Path) -> None:
    out = tmp_path / "replayed.jsonl"
    runner = CliRunner()
    runner.invoke(cli, ["export", "status"], catch_exceptions=False)  # creates the home
    ids = write_events(ew_home.database, range(4))  # recorded before export was configured
    ew_home.config.write_text(
        f'[export]\n[[export.sinks]]\nname = "archive"\ntype = "file"\npath = "{out}"\n'
    )
    result = runner.invoke(cli, ["export", "replay", "--since", "9999d"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "queued 4 event(s)" in result.output
    bad = runner.invoke(cli, ["export", "replay", "--since", "1d", "--sink", "nope"])
    assert bad.exit_code == 2
    assert "unknown sink 'nope'" in bad.output
    with exporting(ew_home.database, file_sink(out, name="archive")):
        wait_until(lambda: len(read_json_lines(out)) >= 4, "the replayed events")
    assert [r["event_id"] for r in read_json_lines(out)] == ids
    status = runner.invoke(cli, ["export", "status", "--json"], catch_exceptions=False)
    row = json.loads(status.output.splitlines()[0])
    assert (row["sink"], row["delivered"], row["lag"], row["configured"]) == ("archive", 4, 0, True)


def test_file_sink_rotates_by_size(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    sink = FileSink(SinkConfig(name="f", kind="file", path=str(path), max_mib=1, backups=2))
    big = {"pad": "x" * 300_000}
    for n in range(12):
        sink.send([Record(n, f"u-{n}", "2026-11-27T10:00:00+00:00", None, {**big, "n": n})])
    rotated = sorted(p.name for p in tmp_path.iterdir())
    assert rotated == ["events.jsonl", "events.jsonl.1", "events.jsonl.2"]
    assert all(p.stat().st_size <= 2**20 for p in tmp_path.iterdir())
    numbers = [r["n"] for r in read_json_lines(path)]
    assert numbers == list(range(numbers[0], 12))  # the newest kept, in order


def test_udp_syslog_sends_one_datagram_per_event_and_slims_oversize_ones() -> None:
    import socket

    from egress_watch.export.syslog import SyslogSink

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(10)
        port = receiver.getsockname()[1]
        sink = SyslogSink(SinkConfig(name="u", kind="syslog", url=f"udp://127.0.0.1:{port}"),
                          "ws-042", 7)  # fmt: skip
        small = {"uid": "i-1", "findings": [{"rule": "r"}]}
        large = {"uid": "i-2", "findings": [{"rule": "r", "masked": "x" * 100}] * 1000}
        sink.send([Record(1, "i-1", "2026-11-27T10:00:00.000000+00:00", None, small),
                   Record(2, "i-2", "2026-11-27T10:00:00.000000+00:00", None, large)])  # fmt: skip
        assert sink.check() == "ok"
        sink.close()
        first, second = receiver.recv(65535), receiver.recv(65535)
    assert first.startswith(b"<134>1 2026-11-27T10:00:00.000000+00:00 ws-042 egress-watch 7 ")
    slim = json.loads(second[second.index(b"{") :])
    assert (slim["uid"], slim["findings"], slim["findings_omitted"]) == ("i-2", [], 1000)
