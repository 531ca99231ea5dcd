"""Hostile and unlucky bodies (issue 15, item 6): random and mutated requests of every API
family, in every content encoding and framing, through decode, extract and the whole
Inspector. Nothing may escape as an exception, every finding must point inside its segment's
text, and an inspection must end within its time budget.

Bounded for CI: a fixed number of examples per property, derandomized (the same examples on
every run), no per-example deadline but a whole-inspection time check. Deep nesting and invalid
bytes, which once raised or hid a key, have their own regression tests at the end.
"""

from __future__ import annotations

import gzip
import json
import os
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import brotli
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from egress_watch.catalog.services import builtin_catalog
from egress_watch.classify.engine import Engine
from egress_watch.config.settings import Settings
from egress_watch.decoding.encoding import decode_body, zstd
from egress_watch.extract import extract_body
from egress_watch.model import Action, Capture, Mode
from egress_watch.pipeline import TIME_BUDGET, Inspector, Policy
from tests.conftest import fake_aws_key_id
from tests.fixtures.wire.cases import CASES, WireCase, envelope, pb

LIMIT = 2 * 2**20
BUDGET_MS = 3000
SLACK_S = 5.0  # one chunk's scan past the deadline, on a loaded machine
EXAMPLES = int(os.environ.get("EW_HYPOTHESIS_EXAMPLES", "60"))  # more for a deeper local run
CI = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 60,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": lambda data: zstd.compress(data),
    "identity": lambda data: data,
}
CONTENT_TYPES = (
    None,
    "application/json",
    "application/json; charset=utf-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xYzZY",
    "text/event-stream",
    "application/grpc",
    "application/grpc+proto",
    "application/connect+proto",
    "application/proto",
    "application/x-protobuf",
    "text/plain",
    "application/x-ndjson",
)
FAMILIES = sorted({case.family for case in CASES})


# ------------------------------------------------------------------------------ strategies


@st.composite
def mutated(draw: st.DrawFn, body: bytes) -> bytes:
    """``body`` with a few random edits: flips, cuts, insertions, repeats, truncation."""
    data = bytearray(body)
    for _ in range(draw(st.integers(0, 4))):
        if not data:
            data += draw(st.binary(max_size=64))
            continue
        at = draw(st.integers(0, len(data) - 1))
        edit = draw(st.sampled_from(["flip", "cut", "insert", "repeat", "truncate"]))
        if edit == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif edit == "cut":
            del data[at : at + draw(st.integers(1, 32))]
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
        elif edit == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 64))] * draw(st.integers(2, 8))
        else:
            del data[at:]
    return bytes(data)


@st.composite
def framed(draw: st.DrawFn, body: bytes) -> tuple[bytes, str | None]:
    """``body`` wrapped in one of the framings clients use, with a matching content type."""
    frame = draw(st.sampled_from(["none", "envelope", "sse", "multipart", "form", "protobuf"]))
    if frame == "envelope":
        compress = draw(st.booleans())
        return envelope(body, compress=compress), draw(
            st.sampled_from(["application/grpc", "application/connect+proto"])
        )
    if frame == "sse":
        lines = b"".join(b"data: " + line + b"\n" for line in body.split(b"\n"))
        return lines + b"\n", "text/event-stream"
    if frame == "multipart":
        part = (
            b'--xYzZY\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n'
            b"Content-Type: application/jsonl\r\n\r\n" + body + b"\r\n--xYzZY--\r\n"
        )
        return part, "multipart/form-data; boundary=xYzZY"
    if frame == "form":
        return b"prompt=" + body.replace(b"&", b"%26") + b"&n=1", (
            "application/x-www-form-urlencoded"
        )
    if frame == "protobuf":
        return pb(1, body) + pb(2, draw(st.integers(0, 2**32))), "application/x-protobuf"
    return body, draw(st.sampled_from(CONTENT_TYPES))


@st.composite
def encoded(draw: st.DrawFn, body: bytes) -> tuple[bytes, str | None]:
    """``body`` in zero, one or two stacked content encodings, sometimes truncated or lying."""
    names = draw(st.lists(st.sampled_from(sorted(ENCODERS)), max_size=2))
    for name in names:
        body = ENCODERS[name](body)
    if names and draw(st.booleans()):
        body = body[: draw(st.integers(0, max(0, len(body) - 1)))]  # truncated on the wire
    header = ", ".join(names) if names else None
    if draw(st.integers(0, 9)) == 0:
        header = draw(st.sampled_from(["gzip", "br, gzip", "compress", "x-unknown", " , "]))
    return body, header


@st.composite
def requests(draw: st.DrawFn) -> tuple[WireCase, bytes, str | None, str | None]:
    """A real case's body, mutated, framed and encoded: (case, wire body, type, encoding)."""
    case = draw(st.sampled_from(CASES))
    source = draw(st.sampled_from(["case", "case", "random", "json"]))
    if source == "case":
        body = draw(mutated(case.body))
    elif source == "random":
        body = draw(st.binary(max_size=2048))
    else:
        body = json.dumps(draw(json_documents), ensure_ascii=draw(st.booleans())).encode()
    if draw(st.booleans()):
        body, content_type = draw(framed(body))
    else:
        content_type = draw(st.sampled_from([case.content_type, *CONTENT_TYPES]))
    wire, encoding = draw(encoded(body))
    return case, wire, content_type, encoding


json_documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(["role", "content", "messages", "text", "type", "parts", "input", "x"]),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


# ------------------------------------------------------------------------------ properties


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    settings_ = Settings(infra_domains=("corp.example",), marker_words=("Bluebird",))
    return Engine.configured(b"h" * 32, settings_, Path(tmp_path_factory.mktemp("cfg")))


@CI
@given(st.binary(max_size=4096), st.one_of(st.none(), st.text(max_size=30)))
def test_decode_never_raises_on_any_bytes_or_header(raw: bytes, header: str | None) -> None:
    decoded = decode_body(raw, header, LIMIT)
    if decoded.body is None:
        assert decoded.reason  # unreadable bodies say why
    else:
        assert len(decoded.body) <= LIMIT


@CI
@given(requests())
def test_decode_and_extract_never_raise(
    request_: tuple[WireCase, bytes, str | None, str | None],
) -> None:
    case, wire, content_type, encoding = request_
    decoded = decode_body(wire, encoding, LIMIT)
    if decoded.body is None:
        assert decoded.reason
        return
    extraction = extract_body(decoded.body, case.family, content_type)
    assert all(isinstance(s.text, str) for s in extraction.segments)


@CI
@given(st.binary(max_size=4096), st.sampled_from(FAMILIES), st.sampled_from(CONTENT_TYPES))
def test_extract_never_raises_on_random_bytes_for_any_family(
    body: bytes, family: str, content_type: str | None
) -> None:
    extraction = extract_body(body, family, content_type)
    assert all(isinstance(s.text, str) for s in extraction.segments)


def inspect(
    engine: Engine, request_: tuple[WireCase, bytes, str | None, str | None], mode: Mode
) -> None:
    """The whole Inspector on one request: no exception, offsets inside, within budget."""
    case, wire, content_type, encoding = request_
    route = builtin_catalog().route(case.host, case.path)
    assert route is not None
    headers = tuple(
        (k, v)
        for k, v in (("content-type", content_type), ("content-encoding", encoding))
        if v is not None
    )
    capture = Capture("POST", "https", case.host, 443, case.path, headers, wire)
    inspector = Inspector(
        builtin_catalog(), engine, Policy(mode, max_body_bytes=LIMIT, inspect_budget_ms=BUDGET_MS)
    )
    started = time.monotonic()
    inspection = inspector.inspect(capture, route)
    elapsed = time.monotonic() - started
    assert elapsed < BUDGET_MS / 1000 + SLACK_S
    segments = inspection.extraction.segments
    for finding in inspection.event.findings:
        assert 0 <= finding.segment_index < len(segments)
        assert 0 <= finding.start < finding.end <= len(segments[finding.segment_index].text)
    if inspection.decision.action is Action.REDACT:
        assert inspection.rewritten_body is None or isinstance(inspection.rewritten_body, bytes)
    if inspection.event.uninspected_reason == TIME_BUDGET:
        assert elapsed >= BUDGET_MS / 1000


@CI
@given(requests())
def test_the_inspector_survives_any_request_in_monitor_mode(
    engine: Engine, request_: tuple[WireCase, bytes, str | None, str | None]
) -> None:
    inspect(engine, request_, Mode.MONITOR)


@CI
@given(requests())
def test_the_inspector_survives_any_request_in_redact_mode(
    engine: Engine, request_: tuple[WireCase, bytes, str | None, str | None]
) -> None:
    inspect(engine, request_, Mode.REDACT)


@settings(CI, max_examples=max(40, EXAMPLES // 2))
@given(st.data())
def test_a_planted_key_is_found_whatever_text_surrounds_it(
    engine: Engine, data: st.DataObject
) -> None:
    """Offsets stay exact around any characters: the finding's span is the key itself."""
    before = data.draw(st.text(max_size=200))
    after = data.draw(st.text(max_size=200))
    key = fake_aws_key_id()
    text = f"{before} {key} {after}"
    found = [f for f in engine.classify_text(text) if f.rule == "aws-access-key"]
    assert any(text[f.start : f.end] == key for f in found), (before, after)


# ------------------------------------------------ known holes, owned by engineer 15a (issue 15.1)

OPENAI = ("api.openai.com", "/v1/chat/completions")


def chat_capture(body: bytes) -> Capture:
    headers = (("content-type", "application/json"),)
    return Capture("POST", "https", OPENAI[0], 443, OPENAI[1], headers, body)


@pytest.mark.parametrize("depth", [1_000, 10_000])
@pytest.mark.parametrize("mode", [Mode.MONITOR, Mode.REDACT])
def test_a_deeply_nested_body_never_raises_and_its_key_is_found(
    engine: Engine, depth: int, mode: Mode
) -> None:
    document = {"model": "m", "messages": [{"role": "user", "content": fake_aws_key_id()}]}
    text = json.dumps(document)[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"
    route = builtin_catalog().route(*OPENAI)
    assert route is not None
    inspection = Inspector(builtin_catalog(), engine, Policy(mode)).inspect(
        chat_capture(text.encode()), route
    )
    assert any(f.rule == "aws-access-key" for f in inspection.event.findings)


@pytest.mark.parametrize("bad", [b"\xff", b"\xc3", b"\xed\xa0\x80"])
def test_one_invalid_byte_does_not_hide_a_key(engine: Engine, bad: bytes) -> None:
    body = json.dumps({"messages": [{"role": "user", "content": f"{fake_aws_key_id()} X"}]})
    route = builtin_catalog().route(*OPENAI)
    assert route is not None
    raw = body.encode().replace(b" X", b" " + bad)
    inspection = Inspector(builtin_catalog(), engine, Policy()).inspect(chat_capture(raw), route)
    assert any(f.rule == "aws-access-key" for f in inspection.event.findings)


@pytest.mark.parametrize("mode", [Mode.MONITOR, Mode.BLOCK])
def test_the_budget_counts_from_when_the_request_arrived(engine: Engine, mode: Mode) -> None:
    """In monitor mode a request that waited its whole budget for a free inspector is not
    scanned at all: it is recorded as uninspected ("time budget"), so under a flood of large
    bodies no request waits much longer than the budget (issue 15's load target). In block mode
    its first chunk is still scanned, and the key in it blocks the request."""
    body = json.dumps({"messages": [{"role": "user", "content": f"key {fake_aws_key_id()}"}]})
    route = builtin_catalog().route(*OPENAI)
    assert route is not None
    inspector = Inspector(builtin_catalog(), engine, Policy(mode, inspect_budget_ms=BUDGET_MS))
    waited = inspector.inspect(
        chat_capture(body.encode()), route, received=time.monotonic() - BUDGET_MS / 1000 - 1
    )
    if mode is Mode.MONITOR:
        assert waited.event.uninspected_reason == TIME_BUDGET
        assert waited.event.findings == ()
        assert waited.decision.action is Action.PASS  # [policy] uninspected unset
    else:
        assert [f.rule for f in waited.event.findings] == ["aws-access-key"]
        assert waited.decision.action is Action.BLOCK
    fresh = inspector.inspect(chat_capture(body.encode()), route, received=time.monotonic())
    assert fresh.event.uninspected_reason is None
    assert any(f.rule == "aws-access-key" for f in fresh.event.findings)
