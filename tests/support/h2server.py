"""A minimal HTTP/2 (h2 over TLS) upstream on 127.0.0.1, for tests that need real HTTP/2.

mitmproxy mirrors the upstream's ALPN to the client, so a client only speaks HTTP/2 through
the proxy when the upstream does; real AI APIs do, the HTTP/1.1 test upstream does not.
"""

from __future__ import annotations

import json
import ssl

import h2.config
import h2.connection
import h2.events
import h2.exceptions

from tests.support.servers import TestCA
from tests.support.tlsserver import ThreadedTlsServer

ANSWER = json.dumps(
    {
        "id": "chatcmpl-h2",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello over h2"}}],
    }
).encode()


class H2UpstreamServer(ThreadedTlsServer):
    """Answers every request with an OpenAI-shaped JSON body; records (path, body) pairs."""

    alpn = ("h2",)

    def __init__(self, ca: TestCA) -> None:
        super().__init__(ca)
        self.requests: list[tuple[str, bytes]] = []

    def speak(self, sock: ssl.SSLSocket) -> None:
        try:
            self._speak_h2(sock)
        except h2.exceptions.ProtocolError:
            return

    def _speak_h2(self, sock: ssl.SSLSocket) -> None:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        paths: dict[int, str] = {}
        bodies: dict[int, bytearray] = {}
        while not self.stopping:
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
