"""Real loopback network fixtures for integration tests.

Integration tests run the real egress-watch proxy (mitmproxy) in a subprocess and need
something real on the other side of it: a certificate authority the test controls, an HTTPS
server that answers like the OpenAI and Anthropic APIs, and a CONNECT proxy that sends
``api.openai.com:443`` to that local server instead of the internet.

Everything binds 127.0.0.1 only. Nothing here polls with ``time.sleep``: waits are done on
``threading.Condition`` objects with deadlines, blocked sockets are woken by shutting them down,
and every loop is bounded by EOF, a deadline or a stop flag.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import ipaddress
import json
import os
import select
import selectors
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "CA_COMMON_NAME",
    "DEFAULT_UPSTREAM_HOSTS",
    "UPSTREAM_TEXT",
    "ConnectProxy",
    "RecordedRequest",
    "TestCA",
    "UpstreamResponse",
    "UpstreamServer",
    "default_response",
    "free_port",
    "make_test_ca",
    "wait_for_port",
]

LOOPBACK = "127.0.0.1"
CA_COMMON_NAME = "egress-watch test upstream CA"
DEFAULT_UPSTREAM_HOSTS: tuple[str, ...] = (
    "api.openai.com",
    "api.anthropic.com",
    "example.org",
    "localhost",
)
UPSTREAM_TEXT = "hello from upstream"

# Limits that keep a misbehaving peer from pinning a thread or eating memory.
_MAX_HEAD_BYTES = 64 * 1024
_MAX_BODY_BYTES = 16 * 1024 * 1024
_MAX_CHUNKS = 100_000
_IO_TIMEOUT = 10.0


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    """Return a currently free TCP port on 127.0.0.1 (for subprocesses that need a fixed port).

    Racy by nature: another process may grab the port before the caller binds it. Servers in this
    module bind port 0 themselves and avoid the race; use this only for things you cannot ask.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def wait_for_port(
    host: str,
    port: int,
    timeout: float = 10.0,
    *,
    process: subprocess.Popen[Any] | None = None,
) -> None:
    """Block until ``host:port`` accepts TCP connections, or raise ``TimeoutError``.

    A listening port in another process cannot be waited on, so this retries connecting. Each
    attempt is capped by a short connect timeout and, after a refusal, a tiny back-off (a
    ``select`` timeout growing to at most 0.1 s) so the loop does not spin. Pass the
    subprocess that should open the port as ``process`` to fail fast (``RuntimeError``) if it
    dies instead of waiting out the whole timeout.
    """
    deadline = time.monotonic() + timeout
    pause = 0.01
    last_error: OSError | None = None
    attempts = 0
    # Bounded twice over: by the deadline and by an attempt cap derived from it.
    max_attempts = int(timeout / 0.01) + 10
    while attempts < max_attempts:
        attempts += 1
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"process {process.pid} exited with code {process.returncode} "
                f"before {host}:{port} accepted connections"
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            with socket.create_connection((host, port), timeout=min(0.5, remaining)):
                return
        except OSError as exc:
            last_error = exc
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        # A refused connect returns instantly; back off a few ms so the loop does not spin.
        select.select([], [], [], min(pause, remaining))
        pause = min(pause * 2, 0.1)
    raise TimeoutError(
        f"{host}:{port} did not accept connections within {timeout:.1f}s "
        f"({attempts} attempts, last error: {last_error!r})"
    )


def _shutdown_quietly(sock: socket.socket) -> None:
    """Wake any thread blocked on ``sock`` (close() alone does not on Linux)."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _close_quietly(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()


# --------------------------------------------------------------------------------------------
# Certificate authority
# --------------------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_private(path: Path, data: bytes) -> None:
    """Write key material readable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class TestCA:
    """A throwaway CA that signs the local upstream's certificates.

    Tests hand ``cert_path`` to whatever must trust the upstream (mitmproxy's
    ``ssl_verify_upstream_trusted_ca``, an ``ssl.SSLContext``, httpx ``verify=``), so the whole
    chain is verified for real instead of switching verification off.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        directory: Path,
        cert: x509.Certificate,
        key: ec.EllipticCurvePrivateKey,
        cert_path: Path,
        key_path: Path,
    ) -> None:
        self.directory = directory
        self.cert = cert
        self.key = key
        self.cert_path = cert_path
        self.key_path = key_path
        self._lock = threading.Lock()
        self._issued = 0

    @property
    def cert_pem(self) -> bytes:
        """The CA certificate as PEM bytes."""
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts only this CA (pass it as httpx ``verify=``)."""
        return ssl.create_default_context(cafile=str(self.cert_path))

    def issue(self, hostnames: Iterable[str]) -> tuple[Path, Path]:
        """Sign a server leaf for ``hostnames`` (DNS SANs) plus IP 127.0.0.1.

        Returns ``(cert_path, key_path)``. The cert file holds the leaf followed by the CA, so
        servers send the full chain.
        """
        names = list(hostnames)
        if not names:
            raise ValueError("issue() needs at least one hostname")
        with self._lock:
            self._issued += 1
            serial_no = self._issued
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        san: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
        san.append(x509.IPAddress(ipaddress.IPv4Address(LOOPBACK)))
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
            .sign(self.key, hashes.SHA256())
        )
        cert_path = self.directory / f"leaf-{serial_no}.pem"
        key_path = self.directory / f"leaf-{serial_no}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + self.cert_pem)
        _write_private(key_path, _key_pem(key))
        return cert_path, key_path


def make_test_ca(directory: str | os.PathLike[str]) -> TestCA:
    """Create a fresh EC P-256 CA in ``directory`` (``ca.pem`` / ``ca.key``)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "egress-watch tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME),
        ]
    )
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    cert_path = d / "ca.pem"
    key_path = d / "ca.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_private(key_path, _key_pem(key))
    return TestCA(d, cert, key, cert_path, key_path)


# --------------------------------------------------------------------------------------------
# HTTPS upstream
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """One request exactly as it reached the upstream (after any proxy in between)."""

    method: str
    host: str | None
    path: str
    headers: dict[str, str]  # lower-cased names; repeated headers joined with ", "
    raw_headers: tuple[tuple[str, str], ...]  # original names, order and repeats
    body: bytes
    sni: str | None  # TLS server name the client sent, if any

    def header(self, name: str) -> str | None:
        """Case-insensitive header lookup."""
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """Decode the body as JSON."""
        return json.loads(self.body)


@dataclass(frozen=True)
class UpstreamResponse:
    """A canned response; return one from ``UpstreamServer(respond=...)`` to override defaults."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunks: Iterable[bytes] | None = None
    """When set, the body is sent chunked, one write per item, as a streaming API does (SSE)."""
    websocket: Callable[[str], list[str]] | None = None
    """For a WebSocket upgrade: accept it, then answer each client text message with these
    text messages (each client message is also recorded, as method ``WS``)."""

    @classmethod
    def json(cls, payload: Any, status: int = 200) -> UpstreamResponse:
        return cls(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})

    @classmethod
    def text(cls, text: str, status: int = 200) -> UpstreamResponse:
        return cls(status, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})


Responder = Callable[[RecordedRequest], UpstreamResponse | None]


def _request_model(req: RecordedRequest, fallback: str) -> str:
    try:
        payload = req.json()
    except ValueError:
        return fallback
    model = payload.get("model") if isinstance(payload, dict) else None
    return model if isinstance(model, str) else fallback


def default_response(req: RecordedRequest) -> UpstreamResponse:
    """Answer like the real APIs: OpenAI chat completions, Anthropic messages, else text."""
    path = req.path.split("?", 1)[0]
    if req.method == "POST" and path == "/v1/chat/completions":
        return UpstreamResponse.json(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": _request_model(req, "gpt-test"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": UPSTREAM_TEXT},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
            }
        )
    if req.method == "POST" and path == "/v1/messages":
        return UpstreamResponse.json(
            {
                "id": "msg_test",
                "type": "message",
                "role": "assistant",
                "model": _request_model(req, "claude-test"),
                "content": [{"type": "text", "text": UPSTREAM_TEXT}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 5, "output_tokens": 3},
            }
        )
    return UpstreamResponse.text("upstream ok")


class _UpstreamHTTPServer(http.server.ThreadingHTTPServer):
    """Threading server that does TLS per connection and never prints to stderr."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: UpstreamServer, tls: ssl.SSLContext) -> None:
        self.owner = owner
        self.tls = tls
        self.conns: set[socket.socket] = set()
        self.conns_lock = threading.Lock()
        super().__init__((LOOPBACK, 0), _UpstreamHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Resets, aborted handshakes and timeouts are expected in proxy tests; keep a note
        # for debugging instead of dumping tracebacks into pytest output.
        self.owner.errors.append(repr(sys.exc_info()[1]))


class _UpstreamHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real APIs
    server_version = "egress-watch-test-upstream"
    sys_version = ""
    timeout = _IO_TIMEOUT  # an idle or stuck client frees its thread after this
    disable_nagle_algorithm = True  # small writes go out at once, as real API servers do
    server: _UpstreamHTTPServer
    _sni: str | None = None

    def setup(self) -> None:
        # Handshake here, in the per-connection thread, so a silent client cannot block accept().
        raw: socket.socket = self.request
        raw.settimeout(_IO_TIMEOUT)
        with self.server.conns_lock:
            self.server.conns.add(raw)
        try:
            tls_sock = self.server.tls.wrap_socket(raw, server_side=True)
        finally:
            with self.server.conns_lock:
                self.server.conns.discard(raw)
        self._sni = getattr(tls_sock, "egress_watch_sni", None)
        with self.server.conns_lock:
            self.server.conns.add(tls_sock)
        self.request = self.connection = tls_sock
        super().setup()

    def finish(self) -> None:
        # wrap_socket() detached the raw socket the server would close, so close the TLS one.
        try:
            super().finish()
        finally:
            with self.server.conns_lock:
                self.server.conns.discard(self.request)
            _close_quietly(self.request)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: access logs would only clutter pytest output."""

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > _MAX_BODY_BYTES:
            raise ValueError(f"unreasonable Content-Length {length}")
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        for _ in range(_MAX_CHUNKS):
            size_line = self.rfile.readline(1024)
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                # Trailers end with an empty line; bounded like everything else.
                for _ in range(100):
                    if self.rfile.readline(8192) in (b"\r\n", b"\n", b""):
                        break
                return b"".join(parts)
            total += size
            if total > _MAX_BODY_BYTES:
                raise ValueError("chunked body too large")
            parts.append(self.rfile.read(size))
            self.rfile.readline(16)  # CRLF after the chunk
        raise ValueError("too many chunks")

    def _handle(self) -> None:
        body = self._read_body()
        raw_headers = tuple((k, v) for k, v in self.headers.items())
        headers: dict[str, str] = {}
        for k, v in raw_headers:
            key = k.lower()
            headers[key] = f"{headers[key]}, {v}" if key in headers else v
        req = RecordedRequest(
            method=self.command,
            host=self.headers.get("Host"),
            path=self.path,
            headers=headers,
            raw_headers=raw_headers,
            body=body,
            sni=self._sni,
        )
        # Record before answering: once a client has the response, the request is visible.
        self.server.owner._record(req)
        resp = self.server.owner.respond(req) if self.server.owner.respond else None
        if resp is None:
            resp = default_response(req)
        if resp.websocket is not None and self.headers.get("Sec-WebSocket-Key"):
            self._websocket(req, resp.websocket)
            return
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        if resp.chunks is not None:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in resp.chunks:
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    def _websocket(self, req: RecordedRequest, answer: Callable[[str], list[str]]) -> None:
        """Accept the upgrade, then serve text messages until the client closes (wsproto)."""
        import base64
        import hashlib

        from wsproto.connection import Connection, ConnectionType
        from wsproto.events import CloseConnection, Ping, TextMessage

        key = self.headers["Sec-WebSocket-Key"].strip()
        accept = base64.b64encode(
            hashlib.sha1(  # noqa: S324 - RFC 6455's handshake digest, not a security hash
                (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()
            ).digest()
        ).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        ws = Connection(ConnectionType.SERVER)
        parts: list[str] = []  # a message may arrive in several frames or reads
        while True:
            data = self.connection.recv(65536)
            if not data:
                return
            ws.receive_data(data)
            for event in ws.events():
                if isinstance(event, TextMessage):
                    parts.append(event.data)
                    if not event.message_finished:
                        continue
                    text, parts = "".join(parts), []
                    self.server.owner._record(
                        RecordedRequest(
                            "WS", req.host, req.path, req.headers, req.raw_headers,
                            text.encode(), req.sni,
                        )
                    )  # fmt: skip
                    for reply in answer(text):
                        self.connection.sendall(ws.send(TextMessage(data=reply)))
                elif isinstance(event, Ping):
                    self.connection.sendall(ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    self.connection.sendall(ws.send(event.response()))
                    return

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class UpstreamServer:
    """HTTPS server on 127.0.0.1 that impersonates api.openai.com / api.anthropic.com.

    Records every request it receives so tests can assert what actually left the proxy.
    Use as ``with UpstreamServer(ca) as up:``; ``up.port`` is the bound port.
    """

    def __init__(
        self,
        ca: TestCA,
        hostnames: Iterable[str] = DEFAULT_UPSTREAM_HOSTS,
        *,
        respond: Responder | None = None,
    ) -> None:
        self.ca = ca
        self.hostnames = list(hostnames)
        self.respond = respond
        self.errors: list[str] = []  # swallowed per-connection errors, for debugging
        self._requests: list[RecordedRequest] = []
        self._cond = threading.Condition()
        self._server: _UpstreamHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind, load the leaf certificate and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("UpstreamServer already started")
        cert_path, key_path = self.ca.issue(self.hostnames)
        self.cert_path, self.key_path = cert_path, key_path
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert_path, key_path)
        tls.set_alpn_protocols(["http/1.1"])  # we only speak HTTP/1.1; stop h2 negotiation

        def remember_sni(sock: Any, server_name: str | None, _ctx: ssl.SSLContext) -> None:
            sock.egress_watch_sni = server_name

        tls.sni_callback = remember_sni
        self._server = _UpstreamHTTPServer(self, tls)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # only bounds how long stop() waits
            name=f"upstream-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open keep-alive connections and close the listener."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        with server.conns_lock:
            conns = list(server.conns)
        for sock in conns:
            _shutdown_quietly(sock)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- inspection -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("UpstreamServer is not running")
        return int(self._server.server_address[1])

    @property
    def address(self) -> tuple[str, int]:
        return (LOOPBACK, self.port)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of every request received so far, in arrival order."""
        with self._cond:
            return list(self._requests)

    def clear(self) -> None:
        with self._cond:
            self._requests.clear()

    def wait_for_requests(self, n: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """Wait until at least ``n`` requests arrived; raise ``TimeoutError`` otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._requests) >= n, timeout=timeout):
                seen = [f"{r.method} {r.host}{r.path}" for r in self._requests]
                raise TimeoutError(
                    f"upstream expected at least {n} request(s) within {timeout}s, "
                    f"got {len(seen)}: {seen}"
                )
            return list(self._requests)

    def _record(self, req: RecordedRequest) -> None:
        with self._cond:
            self._requests.append(req)
            self._cond.notify_all()


# --------------------------------------------------------------------------------------------
# CONNECT proxy
# --------------------------------------------------------------------------------------------


class ConnectProxy:
    """Plain-HTTP CONNECT proxy on 127.0.0.1 that tunnels *every* CONNECT to one target.

    Point mitmproxy's upstream mode (or any client's proxy setting) here and
    ``api.openai.com:443`` lands on the local :class:`UpstreamServer`, while the TLS inside the
    tunnel still carries the real hostname (SNI / certificate checks happen end to end).
    Only CONNECT is supported; anything else gets ``405``.
    """

    def __init__(self, target: tuple[str, int], *, idle_timeout: float = 60.0) -> None:
        self.target = target
        self.idle_timeout = idle_timeout
        self.errors: list[str] = []
        self._connects: list[str] = []
        self._cond = threading.Condition()  # guards _connects, _active, _socks, _threads
        self._active = 0
        self._socks: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._listener: socket.socket | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._stopping = False

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Self:
        if self._listener is not None:
            raise RuntimeError("ConnectProxy already started")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, 0))
        listener.listen(64)
        listener.setblocking(False)
        self._listener = listener
        self._wake_r, self._wake_w = socket.socketpair()
        self._stopping = False
        self._accept_thread = threading.Thread(
            target=self._accept_loop,
            args=(listener, self._wake_r),
            name=f"connect-proxy-{self.port}",
            daemon=True,
        )
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, tear down open tunnels and join every thread (bounded)."""
        listener = self._listener
        if listener is None:
            return
        self._stopping = True
        assert self._wake_w is not None
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=5)
        with self._cond:
            socks = list(self._socks)
            threads = list(self._threads)
        for sock in socks:
            _shutdown_quietly(sock)
        deadline = time.monotonic() + 5
        for t in threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        for maybe in (listener, self._wake_r, self._wake_w):
            if maybe is not None:
                _close_quietly(maybe)
        self._listener = self._wake_r = self._wake_w = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- inspection -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("ConnectProxy is not running")
        return int(self._listener.getsockname()[1])

    @property
    def url(self) -> str:
        """Proxy URL for httpx ``proxy=`` or mitmproxy ``upstream:`` mode."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def connect_requests(self) -> list[str]:
        """Every CONNECT target asked for (``"api.openai.com:443"``), in order."""
        with self._cond:
            return list(self._connects)

    @property
    def active_tunnels(self) -> int:
        with self._cond:
            return self._active

    def wait_for_connects(self, n: int, timeout: float = 10.0) -> list[str]:
        """Wait until at least ``n`` CONNECTs were received; raise ``TimeoutError`` otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._connects) >= n, timeout=timeout):
                raise TimeoutError(
                    f"proxy expected at least {n} CONNECT(s) within {timeout}s, "
                    f"got {self._connects}"
                )
            return list(self._connects)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until no connection is being handled (all tunnels torn down)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._active == 0, timeout=timeout):
                raise TimeoutError(
                    f"{self._active} proxy connection(s) still open after {timeout}s"
                )

    # -- internals --------------------------------------------------------------------------

    def _accept_loop(self, listener: socket.socket, wake_r: socket.socket) -> None:
        """Accept until stop() writes to the wake socket; one handler thread per client."""
        with selectors.DefaultSelector() as sel:
            sel.register(listener, selectors.EVENT_READ, "accept")
            sel.register(wake_r, selectors.EVENT_READ, "wake")
            while not self._stopping:  # ends when stop() writes to the wake socket
                for key, _ in sel.select():
                    if key.data == "wake":
                        return
                    try:
                        client, _addr = listener.accept()
                        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError as exc:
                        self.errors.append(repr(exc))
                        return
                    client.setblocking(True)
                    t = threading.Thread(
                        target=self._serve_client, args=(client,), name="connect-proxy-conn"
                    )
                    t.daemon = True
                    with self._cond:
                        self._threads.add(t)
                        self._socks.add(client)
                        self._active += 1
                    t.start()

    def _track(self, sock: socket.socket) -> None:
        with self._cond:
            self._socks.add(sock)

    def _serve_client(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            client.settimeout(_IO_TIMEOUT)
            head, rest = self._read_head(client)
            if head is None:
                return
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            parts = request_line.split()
            if len(parts) != 3 or not parts[2].startswith("HTTP/"):
                client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                return
            method, target, _version = parts
            if method.upper() != "CONNECT":
                client.sendall(
                    b"HTTP/1.1 405 Method Not Allowed\r\nAllow: CONNECT\r\n"
                    b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                )
                return
            with self._cond:
                self._connects.append(target)
                self._cond.notify_all()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            self._track(upstream)
            if self._stopping:
                return
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:  # the client may pipeline its TLS ClientHello behind the CONNECT
                upstream.sendall(rest)
            self._tunnel(client, upstream)
        except Exception as exc:  # a test fixture must never raise into pytest output
            self.errors.append(repr(exc))
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    _close_quietly(sock)
            with self._cond:
                self._socks.discard(client)
                if upstream is not None:
                    self._socks.discard(upstream)
                self._threads.discard(threading.current_thread())
                self._active -= 1
                self._cond.notify_all()

    def _read_head(self, client: socket.socket) -> tuple[bytes | None, bytes]:
        """Read up to the blank line ending the request head (bounded by size and timeout)."""
        buf = b""
        while len(buf) <= _MAX_HEAD_BYTES:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                return buf[:end], buf[end + 4 :]
            try:
                chunk = client.recv(4096)
            except OSError:
                return None, b""
            if not chunk:
                return None, b""
            buf += chunk
        client.sendall(b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n")
        return None, b""

    def _tunnel(self, client: socket.socket, upstream: socket.socket) -> None:
        """Pump both directions until both sides are done; one extra thread per tunnel."""
        client.settimeout(self.idle_timeout)
        upstream.settimeout(self.idle_timeout)
        back = threading.Thread(
            target=self._pump, args=(upstream, client), name="connect-proxy-pump", daemon=True
        )
        back.start()
        self._pump(client, upstream)
        back.join(timeout=self.idle_timeout + 5)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        """Copy src -> dst. EOF half-closes dst; any error tears down both sockets."""
        try:
            while True:  # ends on EOF, error, idle timeout or shutdown() from stop()
                data = src.recv(65536)
                if not data:
                    with contextlib.suppress(OSError):
                        dst.shutdown(socket.SHUT_WR)
                    return
                dst.sendall(data)
        except OSError:
            # Reset, broken pipe, idle timeout or stop(): wake the other direction too.
            _shutdown_quietly(src)
            _shutdown_quietly(dst)
