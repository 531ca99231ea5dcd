"""Export shapes: the versioned event, OCSF, syslog framing and OTLP bytes (decoded for real)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from egress_watch.catalog.services import builtin_catalog
from egress_watch.classify.engine import Engine
from egress_watch.config.export_sinks import parse_sinks
from egress_watch.config.settings import Settings
from egress_watch.export.exporter import backoff_delay
from egress_watch.export.otlp import encode_request
from egress_watch.export.schema import SCHEMA, Identity, export_record, install_id, ocsf_record
from egress_watch.export.sink import Record
from egress_watch.export.syslog import format_message, frame
from egress_watch.model import Capture, Event, ProcessInfo
from egress_watch.pipeline import Inspector, Policy
from tests.conftest import fake_aws_key_id, fake_aws_secret

IDENTITY = Identity("ws-042", "dev", install_id(b"k" * 32))
BODY_MARKER = "the-quarterly-numbers-are-private"


def planted_event(tmp_path: Path) -> tuple[Event, list[str]]:
    """An event from the real pipeline, for a request carrying planted secrets; and the plants."""
    token = "sk-proj-" + "Zt4q" * 12
    body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": (
        f"{BODY_MARKER}\naws_access_key_id = {fake_aws_key_id()}\n"
        f"aws_secret_access_key = {fake_aws_secret()}\n")}]}).encode()  # fmt: skip
    capture = Capture(
        "POST", "https", "api.openai.com", 443, "/v1/chat/completions?key=" + token,
        (("content-type", "application/json"),), body,
    )  # fmt: skip
    catalog = builtin_catalog()
    route = catalog.route(capture.host, "/v1/chat/completions")
    assert route is not None
    inspector = Inspector(catalog, Engine.configured(b"k" * 32, Settings(), tmp_path), Policy())
    process = ProcessInfo(4242, "node", "/usr/bin/node", "node agent.js --model x", ("zsh",),
                          "/home/dev/secret-project", "/home/dev/secret-project")  # fmt: skip
    event = inspector.inspect(capture, route, process=process).event
    return event, [fake_aws_key_id(), fake_aws_secret(), token, BODY_MARKER]


@pytest.mark.parametrize("builder", [export_record, ocsf_record])
def test_exported_records_hold_no_secret_body_or_auth(tmp_path: Path, builder: object) -> None:
    event, plants = planted_event(tmp_path)
    assert event.findings, "the planted key must be found for this test to mean anything"
    text = json.dumps(builder(7, event, IDENTITY), ensure_ascii=False)  # type: ignore[operator]
    for plant in plants:
        assert plant not in text
    assert event.findings[0].fingerprint in text
    assert event.findings[0].masked in text


def test_event_schema_fields(tmp_path: Path) -> None:
    event, _ = planted_event(tmp_path)
    record = export_record(7, event, IDENTITY)
    assert record["schema"] == SCHEMA
    assert record["uid"] == f"{IDENTITY.install_id}-7"
    assert record["workstation"] == {"hostname": "ws-042", "user": "dev",
                                     "install_id": IDENTITY.install_id}  # fmt: skip
    assert record["endpoint"] == "/v1/chat/completions"
    assert record["model"] == "gpt-4o"
    assert "secret" in record["categories"]
    assert record["severity"] == "critical"
    assert record["process"]["cmdline"] == "node agent.js --model x"
    finding = record["findings"][0]
    assert {"category", "rule", "severity", "masked", "fingerprint", "role"} <= set(finding)


def test_drop_process_details_removes_command_lines_and_paths(tmp_path: Path) -> None:
    event, _ = planted_event(tmp_path)
    for builder in (export_record, ocsf_record):
        text = json.dumps(builder(7, event, IDENTITY, True))
        assert "agent.js" not in text
        assert "/home/dev" not in text
        assert "/usr/bin/node" not in text
        assert '"node"' in text  # the process name stays


def test_ocsf_shape(tmp_path: Path) -> None:
    event, _ = planted_event(tmp_path)
    record = ocsf_record(7, event, IDENTITY)
    assert (record["class_uid"], record["category_uid"], record["type_uid"]) == (2006, 2, 200601)
    assert record["severity_id"] == 5
    assert record["metadata"]["uid"] == f"{IDENTITY.install_id}-7"
    assert record["device"]["hostname"] == "ws-042"
    assert record["dst_endpoint"]["hostname"] == "api.openai.com"


def _record(tmp_path: Path) -> Record:
    event, _ = planted_event(tmp_path)
    return Record(7, f"{IDENTITY.install_id}-7", event.timestamp, event.severity,
                  export_record(7, event, IDENTITY))  # fmt: skip


RFC5424 = re.compile(
    r"^<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<pid>\S+) (?P<msgid>\S+) "
    r"(?P<sd>\[[^\]]*\]) (?P<msg>\{.*\})$"
)


def test_syslog_message_is_rfc5424_with_the_event_uid(tmp_path: Path) -> None:
    record = _record(tmp_path)
    message = format_message(record, "local0", "ws-042", 99)
    match = RFC5424.match(message.decode("ascii"))
    assert match is not None
    assert int(match["pri"]) == 16 * 8 + 2  # local0, crit
    assert (match["host"], match["app"], match["pid"], match["msgid"]) == (
        "ws-042", "egress-watch", "99", "finding")  # fmt: skip
    assert f'uid="{record.uid}"' in match["sd"]
    assert json.loads(match["msg"])["uid"] == record.uid
    framed = frame(message)
    length, _, rest = framed.partition(b" ")
    assert int(length) == len(rest) == len(message)


def test_otlp_request_decodes_with_opentelemetry_proto(tmp_path: Path) -> None:
    record = _record(tmp_path)
    request = ExportLogsServiceRequest.FromString(encode_request([record, record], IDENTITY))
    (resource_logs,) = request.resource_logs
    resource = {a.key: a.value.string_value for a in resource_logs.resource.attributes}
    assert resource["host.name"] == "ws-042"
    assert resource["service.instance.id"] == IDENTITY.install_id
    (scope_logs,) = resource_logs.scope_logs
    assert scope_logs.scope.name == "egress_watch.export"
    first = scope_logs.log_records[0]
    assert len(scope_logs.log_records) == 2
    assert first.severity_number == 21
    assert first.severity_text == "FATAL"
    assert first.event_name == "egress_watch.event"
    assert json.loads(first.body.string_value)["uid"] == record.uid
    attributes = {a.key: a.value for a in first.attributes}
    assert attributes["event.id"].string_value == record.uid
    assert attributes["egress_watch.event_id"].int_value == 7
    assert first.time_unix_nano // 1000 % 1_000_000 == int(record.time[20:26])


@pytest.mark.parametrize(
    ("sinks", "error"),
    [
        ([{"name": "a", "type": "carrier-pigeon"}], "type: expected one of"),
        ([{"name": "a", "type": "syslog", "url": "tcp://h"}], "needs a port"),
        ([{"name": "a", "type": "syslog", "url": "http://h:1"}], "udp://"),
        ([{"name": "a", "type": "file"}], "needs a path"),
        ([{"name": "a b", "type": "file", "path": "x"}], "name:"),
        ([{"name": "a", "type": "file", "path": "x", "colour": 1}], "unknown key 'colour'"),
        ([{"name": "a", "type": "file", "path": "x", "batch": 0}], "batch:"),
        ([{"name": "a", "type": "file", "path": "x"}] * 2, "used twice"),
    ],
)
def test_bad_sinks_are_refused_with_the_key(sinks: list[dict[str, object]], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_sinks(sinks)


def test_backoff_grows_exponentially_is_capped_and_jittered() -> None:
    top = [backoff_delay(n, 0.25, 8.0, lambda: 1.0) for n in range(8)]
    assert top == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert backoff_delay(3, 0.25, 8.0, lambda: 0.5) == 1.0
