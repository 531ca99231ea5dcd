"""Fleet export against real receivers: Debian's rsyslogd (TCP, TLS) and an OTLP endpoint."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from egress_watch.config.export_sinks import SinkConfig
from egress_watch.export import outbox
from egress_watch.export.exporter import Exporter, ExportOptions
from egress_watch.model import Action, Event
from egress_watch.paths import HomePaths
from egress_watch.store.writer import EventWriter
from tests.conftest import fake_aws_key_id, fake_aws_secret
from tests.integration.conftest import start_proxy
from tests.support.export_receivers import HttpReceiver, Rsyslog, wait_until
from tests.support.servers import TestCA

pytestmark = pytest.mark.slow


@pytest.fixture
def rsyslog(tmp_path: Path) -> Iterator[Rsyslog]:
    receiver = Rsyslog(tmp_path / "rsyslog")
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


def event(n: int) -> Event:
    moment = f"2026-11-27T10:{n // 60 % 60:02d}:{n % 60:02d}.000000+00:00"
    return Event(moment, "openai", "openai-chat", "api.openai.com", "POST", "/v1/chat/completions",
                 n, Action.PASS)  # fmt: skip


def first_occurrences(uids: list[str]) -> list[int]:
    seen: dict[str, None] = dict.fromkeys(uids)
    return [int(uid.rsplit("-", 1)[1]) for uid in seen]


def test_rsyslog_stopped_mid_burst_loses_nothing(tmp_path: Path, rsyslog: Rsyslog) -> None:
    database = tmp_path / "h.db"
    sink = SinkConfig(name="rsyslog", kind="syslog", url=f"tcp://127.0.0.1:{rsyslog.port}",
                      batch=25, retry_max_s=0.5)  # fmt: skip
    exporter = Exporter(database, b"k" * 32, ExportOptions((sink,)))
    exporter.start()
    writer = EventWriter(database)
    try:
        ids = [writer.write(event(n)) for n in range(150)]
        wait_until(lambda: len(rsyslog.uids()) >= 100, "rsyslog to receive the first events")
        rsyslog.stop()  # events 100-150 may be in flight: written to a socket nobody reads
        ids += [writer.write(event(n)) for n in range(150, 300)]
        rsyslog.start()
        ids += [writer.write(event(n)) for n in range(300, 400)]
        wait_until(lambda: set(first_occurrences(rsyslog.uids())) >= set(ids),
                   "every event in rsyslog after the outage", timeout=60)  # fmt: skip
    finally:
        writer.close()
        exporter.stop()
    arrived = first_occurrences(rsyslog.uids())
    with sqlite3.connect(database) as conn:
        (status,) = outbox.status(conn)
    assert status["errors"] >= 1  # the outage was seen, and survived
    assert sorted(arrived) == ids  # none lost
    assert arrived == sorted(arrived)  # and in order (a resend may repeat, never reorder)


def test_tls_to_rsyslog(tmp_path: Path, test_ca: TestCA) -> None:
    cert, key = test_ca.issue(["localhost"])
    receiver = Rsyslog(tmp_path / "rsyslog-tls", tls=(test_ca.cert_path, cert, key))
    receiver.start()
    database = tmp_path / "h.db"
    sink = SinkConfig(name="tls", kind="syslog", url=f"tls://localhost:{receiver.port}",
                      ca_file=str(test_ca.cert_path), retry_max_s=0.5)  # fmt: skip
    exporter = Exporter(database, b"k" * 32, ExportOptions((sink,)))
    exporter.start()
    writer = EventWriter(database)
    try:
        ids = [writer.write(event(n)) for n in range(20)]
        wait_until(lambda: len(set(receiver.uids())) >= 20, "20 events over TLS")
    finally:
        writer.close()
        exporter.stop()
        receiver.stop()
    assert first_occurrences(receiver.uids()) == ids


def test_a_real_proxy_run_reaches_rsyslog_and_an_otlp_collector(
    tmp_path: Path, test_ca: TestCA, ew_home: HomePaths, rsyslog: Rsyslog
) -> None:
    key_id, secret = fake_aws_key_id(), fake_aws_secret()
    api_key = "sk-" + "test" + "0123456789abcdef" * 3
    body_marker = "ship-the-quarterly-forecast"
    with HttpReceiver() as collector:
        ew_home.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        ew_home.config.write_text(
            "[export]\n"
            f'[[export.sinks]]\nname = "rsyslog"\ntype = "syslog"\n'
            f'url = "tcp://127.0.0.1:{rsyslog.port}"\n'
            f'[[export.sinks]]\nname = "otel"\ntype = "otlp"\n'
            f'url = "http://127.0.0.1:{collector.port}/v1/logs"\n'
        )
        with start_proxy(tmp_path, test_ca, ew_home) as proxy:
            prompt = f"{body_marker}\naws_access_key_id = {key_id}\n" \
                     f"aws_secret_access_key = {secret}\n"  # fmt: skip
            with httpx.Client(proxy=proxy.url, verify=proxy.client_ssl_context()) as client:
                response = client.post(
                    "https://api.openai.com/v1/chat/completions",
                    json={"model": "gpt-test", "messages": [{"role": "user", "content": prompt}]},
                    headers={"Authorization": f"Bearer {api_key}"}, timeout=30,
                )  # fmt: skip
            assert response.status_code == 200
            wait_until(lambda: rsyslog.uids() and collector.snapshot(), "both receivers")
            status = proxy.cli("export", "status", "--json")
        otlp = ExportLogsServiceRequest.FromString(collector.snapshot()[0].body)
    stored = [line for line in rsyslog.lines() if "egress-watch" in line]
    (line,) = stored
    print("\nrsyslog stored:", line)  # the closing note's example
    record = json.loads(line[line.index("{") :])
    assert record["service"] == "openai"
    assert {f["rule"] for f in record["findings"]} == {"aws-access-key", "aws-secret-key"}
    (log_record,) = otlp.resource_logs[0].scope_logs[0].log_records
    assert json.loads(log_record.body.string_value)["uid"] == record["uid"]
    wire = [line, log_record.body.string_value, collector.snapshot()[0].body.decode("latin-1")]
    for text in wire:
        for planted in (key_id, secret, api_key, body_marker):
            assert planted not in text
    sinks = {row["sink"]: row for row in map(json.loads, status.stdout.splitlines())}
    assert set(sinks) == {"rsyslog", "otel"}


def stored_lines(directory: Path) -> int:
    return sum(len(p.read_text().splitlines()) for p in directory.glob("*.jsonl"))


def test_the_central_rsyslog_snippet_stores_one_json_event_per_line(
    tmp_path: Path, test_ca: TestCA
) -> None:
    snippet = Path(__file__).parents[2] / "install" / "export" / "rsyslog-egress-watch.conf"
    cert, key = test_ca.issue(["localhost"])
    logs = tmp_path / "central-logs"
    receiver = Rsyslog(tmp_path / "central", tls=(test_ca.cert_path, cert, key))
    text = (snippet.read_text()
            .replace("/etc/rsyslog.d/egress-watch/ca.pem", str(test_ca.cert_path))
            .replace("/etc/rsyslog.d/egress-watch/server.pem", str(cert))
            .replace("/etc/rsyslog.d/egress-watch/server-key.pem", str(key))
            .replace('port="6514"', f'port="{receiver.port}" address="127.0.0.1"')
            .replace("/var/log/egress-watch/", f"{logs}/"))  # fmt: skip
    receiver.conf.write_text(f'global(workDirectory="{receiver.directory / "work"}")\n{text}')
    receiver.start()
    database = tmp_path / "h.db"
    sink = SinkConfig(name="central", kind="syslog", url=f"tls://localhost:{receiver.port}",
                      ca_file=str(test_ca.cert_path), retry_max_s=0.5)  # fmt: skip
    exporter = Exporter(database, b"k" * 32, ExportOptions((sink,)))
    exporter.start()
    writer = EventWriter(database)
    try:
        ids = [writer.write(event(n)) for n in range(5)]
        wait_until(lambda: stored_lines(logs) >= 5, "the per-host file")
    finally:
        writer.close()
        exporter.stop()
        receiver.stop()
    (stored,) = logs.glob("*.jsonl")
    records = [json.loads(line) for line in stored.read_text().splitlines()]
    assert [r["event_id"] for r in records] == ids
    assert stored.name == f"{records[0]['workstation']['hostname']}.jsonl"
