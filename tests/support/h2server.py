"""A minimal HTTP/2 (h2 over TLS) upstream on 127.0.0.1, for tests that need real HTTP/2.

mitmproxy mirrors the upstream's ALPN to the client, so a client only speaks HTTP/2 through
the proxy when the upstream does; real AI APIs do, the HTTP/1.1 test upstream does not.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from types import TracebackType
from typing import Self

import h2.config
import h2.connection
import h2.events

from tests.support.servers import DEFAULT_UPSTREAM_HOSTS, TestCA

ANSWER = json.dumps(
    {
        "id": "chatcmpl-h2",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello over h2"}}],
    }
).encode()


class H2UpstreamServer:
    """Answers every request with an OpenAI-shaped JSON body; records (path, body) pairs."""

    def __init__(self, ca: TestCA) -> None:
        cert, key = ca.issue(DEFAULT_UPSTREAM_HOSTS)
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.load_cert_chain(cert, key)
        self._tls.set_alpn_protocols(["h2"])
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.requests: list[tuple[str, bytes]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            raw.settimeout(10)
            with self._tls.wrap_socket(raw, server_side=True) as sock:
                self._speak_h2(sock)
        except (OSError, ssl.SSLError, h2.exceptions.ProtocolError):
            return  # a client that went away is not the server's problem

    def _speak_h2(self, sock: ssl.SSLSocket) -> None:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        paths: dict[int, str] = {}
        bodies: dict[int, bytearray] = {}
        while not self._stop.is_set():
            data = sock.recv(65536)
            if not data:
                return
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    headers = {k.decode() if isinstance(k, bytes) else k:
                               v.decode() if isinstance(v, bytes) else v
                               for k, v in event.headers}  # fmt: skip
                    paths[event.stream_id] = headers.get(":path", "")
                    bodies[event.stream_id] = bytearray()
                elif isinstance(event, h2.events.DataReceived):
                    bodies[event.stream_id] += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    self.requests.append((paths[event.stream_id], bytes(bodies[event.stream_id])))
                    response_headers = [
                        (":status", "200"),
                        ("content-type", "application/json"),
                        ("content-length", str(len(ANSWER))),
                    ]
                    conn.send_headers(event.stream_id, response_headers)
                    conn.send_data(event.stream_id, ANSWER, end_stream=True)
            sock.sendall(conn.data_to_send())
