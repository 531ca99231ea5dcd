"""Opt-in live verification against a local fake issuer: a custom kingfisher rule whose
validation URL is on loopback. Once per fingerprint, outcome stored by fingerprint (never the
value), verified-active values first in the report and the exposures list."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from egress_watch.classify.engine import Engine
from egress_watch.classify.verify import ACTIVE, INACTIVE, Verifier
from egress_watch.model import Category
from egress_watch.report.contents import OPEN, Exposure
from egress_watch.report.data import _priority
from egress_watch.store.verifications import VerificationStore
from tests.unit.test_secrets import fake

KEY = b"v" * 32
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
RULE = """\
rules:
  - name: Fake Issuer Token
    id: kingfisher.fakeissuer.1
    pattern: |
      (?x)
      \\b
      (fki_[a-z0-9]{{32}})
      \\b
    min_entropy: 2.0
    confidence: medium
    validation:
      type: Http
      content:
        request:
          method: GET
          url: http://127.0.0.1:{port}/verify
          headers:
            Authorization: "Bearer {{{{ TOKEN }}}}"
          response_matcher:
            - report_response: true
            - type: StatusMatch
              status: [200]
"""


class Issuer:
    """A fake issuer on loopback: one token is live; it counts the checks it answers."""

    def __init__(self, live: str) -> None:
        self.live = live
        self.checks = 0
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.checks += 1
                ok = self.headers.get("Authorization") == f"Bearer {issuer.live}"
                self.send_response(200 if ok else 401)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tokens() -> tuple[str, str]:
    return "fki_" + fake("live-tok", 32, ALPHABET), "fki_" + fake("dead-tok", 32, ALPHABET)


@pytest.fixture
def issuer(tokens: tuple[str, str]) -> Iterator[Issuer]:
    server = Issuer(tokens[0])
    yield server
    server.close()


def test_new_secrets_are_checked_once_and_only_the_outcome_is_stored(
    tmp_path: Path, issuer: Issuer, tokens: tuple[str, str]
) -> None:
    live, dead = tokens
    rule = tmp_path / "issuer.yml"
    rule.write_text(RULE.format(port=issuer.port))
    database = tmp_path / "history.db"
    store = VerificationStore(database)
    verifier = Verifier(
        store.record, rule_files=[rule], per_minute=6000, allow_internal_ips=True, known=store.known
    )
    try:
        text = f"ISSUER_TOKEN={live}\nOLD_ISSUER_TOKEN={dead}\n"
        findings = Engine(KEY).classify_text(text)
        assert {text[f.start : f.end] for f in findings if f.category is Category.SECRET} == {
            live,
            dead,
        }
        assert verifier.submit(text, findings) == 2
        assert verifier.submit(text, findings) == 0  # at most once per fingerprint
        assert verifier.wait_idle(30)
        by_value = {text[f.start : f.end]: f.fingerprint for f in findings}
        assert store.outcome(by_value[live])[0] == ACTIVE  # type: ignore[index]
        assert store.outcome(by_value[dead])[0] == INACTIVE  # type: ignore[index]
        assert issuer.checks == 2
    finally:
        verifier.close()
        store.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("history.db*"))
    assert live.encode() not in stored
    assert dead.encode() not in stored


def test_a_fingerprint_the_store_knows_is_not_checked_again(
    tmp_path: Path, issuer: Issuer, tokens: tuple[str, str]
) -> None:
    rule = tmp_path / "issuer.yml"
    rule.write_text(RULE.format(port=issuer.port))
    verifier = Verifier(
        lambda outcome: None,
        rule_files=[rule],
        allow_internal_ips=True,
        known=lambda fingerprint: True,
    )
    try:
        text = f"ISSUER_TOKEN={tokens[0]}\n"
        assert verifier.submit(text, Engine(KEY).classify_text(text)) == 0
    finally:
        verifier.close()
    assert issuer.checks == 0


def _exposure(rule: str, severity: str, verification: str = "") -> Exposure:
    return Exposure(
        fingerprint="hmac-sha256:" + rule, category="secret", rule=rule, severity=severity,
        masked="…(20 chars)", first_seen="2026-12-01T00:00:00+00:00",
        last_seen="2026-12-02T00:00:00+00:00", requests=1, services=("openai",), tools=(),
        new=True, status=OPEN, verification=verification,
    )  # fmt: skip


def test_verified_active_values_come_first_in_the_report() -> None:
    items = [
        _exposure("critical-unverified", "critical"),
        _exposure("high-inactive", "high", INACTIVE),
        _exposure("high-active", "high", ACTIVE),
    ]
    assert next(e.rule for e in sorted(items, key=_priority)) == "high-active"


def test_the_dashboard_lists_a_verified_active_value_first_and_says_rotate_now(
    tmp_path: Path,
) -> None:
    import dataclasses

    from egress_watch.classify.verify import Outcome
    from egress_watch.store.dashboard import event_detail
    from egress_watch.store.database import open_reader
    from egress_watch.store.writer import EventWriter
    from egress_watch_tui.screens.detail import finding_detail
    from tests.unit.test_store import FINDING, make_event

    quiet = dataclasses.replace(FINDING, fingerprint="hmac-sha256:" + "01" * 32)
    active = dataclasses.replace(FINDING, start=40, end=60, fingerprint="hmac-sha256:" + "02" * 32)
    database = tmp_path / "history.db"
    writer = EventWriter(database)
    event_id = writer.write(make_event(findings=(quiet, active)))
    writer.close()
    store = VerificationStore(database)
    store.record(Outcome(active.fingerprint, ACTIVE, "2026-12-06T21:00:00+00:00"))
    store.record(Outcome(quiet.fingerprint, INACTIVE, "2026-12-06T21:00:01+00:00"))
    store.close()
    event = event_detail(open_reader(database), event_id)
    assert event is not None
    first = event["findings"][0]
    assert first["fingerprint"] == active.fingerprint
    assert "rotate now" in finding_detail(first, event).plain
    assert "rotate now" not in finding_detail(event["findings"][1], event).plain
