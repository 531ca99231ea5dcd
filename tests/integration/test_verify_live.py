"""Live verification in the running daemon: with ``[secrets] verify`` on, a secret sent through
the proxy is checked once with its issuer (a fake one on loopback, through a custom kingfisher
rule) after the request went through; the outcome lands in the history by fingerprint."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from egress_watch.paths import HomePaths
from tests.integration.conftest import start_proxy
from tests.support.servers import TestCA
from tests.unit.test_secrets import fake
from tests.unit.test_verify import ALPHABET, RULE, Issuer

pytestmark = pytest.mark.slow


def _outcomes(database: Path) -> list[tuple[str, str]]:
    try:
        with sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True) as conn:
            return list(conn.execute("SELECT fingerprint, outcome FROM verifications"))
    except sqlite3.Error:
        return []  # not created yet


def test_a_forwarded_secret_is_verified_once_and_only_its_outcome_is_kept(
    tmp_path: Path, test_ca: TestCA, ew_home: HomePaths
) -> None:
    live = "fki_" + fake("live-proxy", 32, ALPHABET)
    issuer = Issuer(live)
    try:
        ew_home.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        (ew_home.home / "issuer.yml").write_text(RULE.format(port=issuer.port))
        ew_home.config.write_text(
            '[secrets]\nverify = true\nverify_rules = ["issuer.yml"]\n'
            "verify_private_networks = true\nverify_per_minute = 600\n"
        )
        with start_proxy(tmp_path, test_ca, ew_home) as proxy:
            content = f"deploy with:\nISSUER_TOKEN={live}\n"
            with httpx.Client(
                proxy=proxy.url, verify=proxy.client_ssl_context(), timeout=30
            ) as client:
                for _ in range(2):  # the same value twice: one check
                    response = client.post(
                        "https://api.openai.com/v1/chat/completions",
                        json={"model": "m", "messages": [{"role": "user", "content": content}]},
                    )
                    assert response.status_code == 200
            deadline = time.monotonic() + 60
            pause = threading.Event()
            while not _outcomes(ew_home.database) and time.monotonic() < deadline:
                pause.wait(0.1)
            outcomes = _outcomes(ew_home.database)
        assert [outcome for _, outcome in outcomes] == ["active"]
        assert issuer.checks == 1
        events = proxy.events()
        assert {f["fingerprint"] for e in events for f in e["findings"]} >= {outcomes[0][0]}
    finally:
        issuer.close()
    stored = b"".join(p.read_bytes() for p in ew_home.home.glob("history.db*"))
    assert live.encode() not in stored
    assert live not in proxy.log_path.read_text(errors="replace")
