"""TLS identity through the real proxy: the ClientHello's name, not the CONNECT line, decides
whether a session is decrypted, so no certificate is ever minted for a host outside the catalog."""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from egress_watch.paths import HomePaths
from tests.conftest import fake_aws_key_id
from tests.integration.conftest import RunningProxy, start_proxy
from tests.support.servers import CA_COMMON_NAME, TestCA

pytestmark = pytest.mark.slow

FOREIGN = "storage.googleapis.com"  # under a name-constrained domain, but not a catalog host


@pytest.fixture
def proxy(tmp_path: Path, test_ca: TestCA, ew_home: HomePaths) -> Iterator[RunningProxy]:
    with start_proxy(tmp_path, test_ca, ew_home, "--mode", "block") as running:
        yield running


def tunnel(proxy: RunningProxy, connect_host: str, sni: str) -> ssl.SSLSocket:
    """CONNECT to ``connect_host`` through the proxy, then TLS naming ``sni``, trusting anyone
    (the test reads who answered from the certificate)."""
    raw = socket.create_connection(("127.0.0.1", proxy.port), timeout=30)
    raw.sendall(f"CONNECT {connect_host}:443 HTTP/1.1\r\nHost: {connect_host}:443\r\n\r\n".encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = raw.recv(4096)
        assert chunk, f"proxy closed the tunnel: {reply!r}"
        reply += chunk
    assert reply.split(b" ", 2)[1] == b"200", reply
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context.wrap_socket(raw, server_hostname=sni)


def issuer_of(sock: ssl.SSLSocket) -> str:
    der = sock.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).issuer.rfc4514_string()


def post_chat(sock: ssl.SSLSocket, host: str, content: str) -> bytes:
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": content}]})
    sock.sendall(
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json"
        f"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}".encode()
    )
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


def test_the_sni_not_the_connect_line_decides_what_is_decrypted(proxy: RunningProxy) -> None:
    key = fake_aws_key_id()
    # CONNECT names a catalog host, the ClientHello a foreign one: passed through untouched.
    with tunnel(proxy, "api.openai.com", FOREIGN) as sock:
        # The upstream's own certificate: egress-watch minted nothing for the foreign name.
        assert CA_COMMON_NAME in issuer_of(sock)
        answer = post_chat(sock, "api.openai.com", f"key {key}")
    assert answer.startswith(b"HTTP/1.1 200")  # not decrypted, so not inspected either
    (received,) = proxy.upstream.requests
    assert received.sni == FOREIGN
    assert proxy.events() == []
    assert "passed through" in proxy.log_path.read_text(errors="replace")

    # The other way round: the ClientHello names a catalog host, so it is decrypted and
    # inspected (block mode stops the key) whatever CONNECT said.
    with tunnel(proxy, "example.org", "api.openai.com") as sock:
        assert CA_COMMON_NAME not in issuer_of(sock)  # egress-watch's own CA answered
        answer = post_chat(sock, "api.openai.com", f"key {key}")
    assert answer.startswith(b"HTTP/1.1 400")  # the block, in the API error shape
    assert len(proxy.upstream.requests) == 1  # still only the passed-through one
    (event,) = proxy.events()
    assert event["action"] == "block"
