"""A small HTTP/2 client that reaches a host through an HTTP CONNECT proxy.

httpx offers "http/1.1" before "h2" (and mitmproxy honours the client's order), and with
``http1=False`` it speaks HTTP/2 to the proxy itself; neither gives HTTP/2 inside the tunnel.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass

import h2.config
import h2.connection
import h2.events


@dataclass(frozen=True)
class H2Response:
    status: int
    headers: dict[str, str]
    body: bytes
    alpn: str | None


def _tunnel(proxy_port: int, host: str, timeout: float) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proxy_port), timeout=timeout)
    sock.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("proxy closed the tunnel")
        reply += chunk
    if not reply.startswith(b"HTTP/1.1 200"):
        raise ConnectionError(reply.split(b"\r\n", 1)[0].decode())
    return sock


def h2_post(
    proxy_port: int,
    context: ssl.SSLContext,
    host: str,
    path: str,
    chunks: Iterable[bytes],
    headers: dict[str, str],
    timeout: float = 30,
) -> H2Response:
    """POST ``chunks`` (one DATA frame each) over HTTP/2 and read the whole response."""
    context.set_alpn_protocols(["h2"])
    with context.wrap_socket(_tunnel(proxy_port, host, timeout), server_hostname=host) as sock:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        conn.initiate_connection()
        stream = conn.get_next_available_stream_id()
        conn.send_headers(
            stream,
            [(":method", "POST"), (":scheme", "https"), (":authority", host), (":path", path),
             *headers.items()],
        )  # fmt: skip
        for chunk in chunks:
            conn.send_data(stream, chunk)
            sock.sendall(conn.data_to_send())
        conn.end_stream(stream)
        sock.sendall(conn.data_to_send())
        status, received, body = 0, {}, bytearray()
        while True:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("connection closed before the response ended")
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    received = {k.decode(): v.decode() for k, v in event.headers}
                    status = int(received[":status"])
                elif isinstance(event, h2.events.DataReceived):
                    body += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, stream)
                elif isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
                    return H2Response(status, received, bytes(body), sock.selected_alpn_protocol())
            sock.sendall(conn.data_to_send())
