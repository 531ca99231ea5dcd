"""The loopback network fixtures must work over real sockets before other tests rely on them."""

from __future__ import annotations

import socket
import ssl
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from tests.support.servers import (
    CA_COMMON_NAME,
    UPSTREAM_TEXT,
    ConnectProxy,
    RecordedRequest,
    TestCA,
    UpstreamResponse,
    UpstreamServer,
    free_port,
    make_test_ca,
    wait_for_port,
)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return make_test_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def upstream(ca: TestCA) -> Iterator[UpstreamServer]:
    with UpstreamServer(ca) as up:
        yield up


@pytest.fixture
def proxy(upstream: UpstreamServer) -> Iterator[ConnectProxy]:
    with ConnectProxy(target=("127.0.0.1", upstream.port)) as cp:
        yield cp


def _tunnel(proxy: ConnectProxy, target: str) -> socket.socket:
    """Open a raw CONNECT tunnel through ``proxy`` and return the connected socket."""
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    head = b""
    for _ in range(100):
        if b"\r\n\r\n" in head:
            break
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    assert head.startswith(b"HTTP/1.1 200 "), head
    return sock


def test_ca_and_leaf_files(ca: TestCA, tmp_path: Path) -> None:
    ca_cert = x509.load_pem_x509_certificate(ca.cert_path.read_bytes())
    cn = ca_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == CA_COMMON_NAME

    cert_path, key_path = ca.issue(["api.openai.com", "example.org"])
    leaf = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["api.openai.com", "example.org"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert leaf.issuer == ca_cert.subject
    assert key_path.stat().st_mode & 0o077 == 0
    # A second leaf must not overwrite the first.
    assert ca.issue(["localhost"])[0] != cert_path


def test_openai_post_through_connect_proxy(
    ca: TestCA, upstream: UpstreamServer, proxy: ConnectProxy
) -> None:
    payload = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(proxy=proxy.url, verify=ca.ssl_context(), timeout=10) as client:
        resp = client.post(
            "https://api.openai.com/v1/chat/completions",
            json=payload,
            headers={"Authorization": "Bearer sk-test"},
        )
        ssl_object = resp.extensions["network_stream"].get_extra_info("ssl_object")
        peer = ssl_object.getpeercert()

    assert resp.status_code == 200
    body = resp.json()
    assert body["id"] == "chatcmpl-test"
    assert body["object"] == "chat.completion"
    assert body["model"] == "gpt-4o"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": UPSTREAM_TEXT}
    assert body["choices"][0]["finish_reason"] == "stop"

    (req,) = upstream.wait_for_requests(1, timeout=5)
    assert req.method == "POST"
    assert req.host == "api.openai.com"
    assert req.path == "/v1/chat/completions"
    assert req.sni == "api.openai.com"
    assert req.header("authorization") == "Bearer sk-test"
    assert req.json() == payload

    assert proxy.connect_requests == ["api.openai.com:443"]
    issuer = dict(rdn[0] for rdn in peer["issuer"])
    assert issuer["commonName"] == CA_COMMON_NAME


def test_anthropic_and_fallback_routes(
    ca: TestCA, upstream: UpstreamServer, proxy: ConnectProxy
) -> None:
    with httpx.Client(proxy=proxy.url, verify=ca.ssl_context(), timeout=10) as client:
        msg = client.post(
            "https://api.anthropic.com/v1/messages",
            json={"model": "claude-x", "max_tokens": 5, "messages": []},
        )
        root = client.get("https://example.org/")
        other = client.get("https://api.openai.com/v1/models")

    assert msg.status_code == 200
    assert msg.json()["id"] == "msg_test"
    assert msg.json()["type"] == "message"
    assert msg.json()["content"] == [{"type": "text", "text": UPSTREAM_TEXT}]
    assert (root.status_code, root.text) == (200, "upstream ok")
    assert (other.status_code, other.text) == (200, "upstream ok")

    reqs = upstream.wait_for_requests(3, timeout=5)
    assert [(r.method, r.host, r.path) for r in reqs] == [
        ("POST", "api.anthropic.com", "/v1/messages"),
        ("GET", "example.org", "/"),
        ("GET", "api.openai.com", "/v1/models"),
    ]
    assert sorted(proxy.connect_requests) == [
        "api.anthropic.com:443",
        "api.openai.com:443",
        "example.org:443",
    ]


def test_raw_tls_through_tunnel_sees_test_ca(ca: TestCA, proxy: ConnectProxy) -> None:
    sock = _tunnel(proxy, "api.openai.com:443")
    with ca.ssl_context().wrap_socket(sock, server_hostname="api.openai.com") as tls:
        der = tls.getpeercert(binary_form=True)
        assert tls.selected_alpn_protocol() in (None, "http/1.1")
    assert der is not None
    leaf = x509.load_der_x509_certificate(der)
    assert leaf.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == CA_COMMON_NAME


def test_untrusted_client_fails_verification(proxy: ConnectProxy) -> None:
    sock = _tunnel(proxy, "api.openai.com:443")
    ctx = ssl.create_default_context()  # system roots only: the test CA is not among them
    with pytest.raises(ssl.SSLCertVerificationError):
        ctx.wrap_socket(sock, server_hostname="api.openai.com")
    sock.close()


def test_custom_responder(ca: TestCA) -> None:
    def teapot(req: RecordedRequest) -> UpstreamResponse:
        return UpstreamResponse.text("short and stout", status=418)

    with (
        UpstreamServer(ca, respond=teapot) as up,
        ConnectProxy(target=("127.0.0.1", up.port)) as cp,
        httpx.Client(proxy=cp.url, verify=ca.ssl_context(), timeout=10) as client,
    ):
        resp = client.get("https://api.openai.com/")
    assert (resp.status_code, resp.text) == (418, "short and stout")


def test_wait_for_requests_times_out_clearly(upstream: UpstreamServer) -> None:
    with pytest.raises(TimeoutError, match=r"at least 1 request\(s\) within 0.2s, got 0"):
        upstream.wait_for_requests(1, timeout=0.2)


def test_non_connect_gets_405(proxy: ConnectProxy) -> None:
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
        sock.sendall(b"GET http://example.org/ HTTP/1.1\r\nHost: example.org\r\n\r\n")
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 405 ")
    assert proxy.connect_requests == []
    proxy.wait_idle(timeout=5)


def test_client_abort_mid_tunnel_is_quiet(
    ca: TestCA, upstream: UpstreamServer, proxy: ConnectProxy
) -> None:
    # Abort after the handshake with a TCP reset while the upstream waits for a request.
    sock = _tunnel(proxy, "api.openai.com:443")
    tls = ca.ssl_context().wrap_socket(sock, server_hostname="api.openai.com")
    # (Nothing is sent: a partial request cut by EOF can legally parse as a whole one, which
    # made this test depend on whether the reset or the EOF reached the server first.)
    tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    tls.close()
    # Abort before any TLS at all.
    _tunnel(proxy, "api.anthropic.com:443").close()

    proxy.wait_idle(timeout=5)
    assert proxy.active_tunnels == 0
    assert upstream.requests == []


def test_stop_tears_down_open_tunnels(ca: TestCA) -> None:
    with UpstreamServer(ca) as up:
        cp = ConnectProxy(target=("127.0.0.1", up.port)).start()
        sock = _tunnel(cp, "api.openai.com:443")
        tls = ca.ssl_context().wrap_socket(sock, server_hostname="api.openai.com")
        assert cp.active_tunnels == 1
        cp.stop()  # must not hang on the idle keep-alive tunnel
        assert cp.active_tunnels == 0
        tls.close()


def test_wait_for_port(upstream: UpstreamServer) -> None:
    wait_for_port("127.0.0.1", upstream.port, timeout=2)
    closed = free_port()
    with pytest.raises(TimeoutError, match=f"127.0.0.1:{closed} did not accept"):
        wait_for_port("127.0.0.1", closed, timeout=0.2)


def test_wait_for_port_fails_fast_when_process_dies() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait(timeout=10)
    with pytest.raises(RuntimeError, match="exited with code 3"):
        wait_for_port("127.0.0.1", free_port(), timeout=30, process=proc)
