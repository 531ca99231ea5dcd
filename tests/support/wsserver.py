"""WebSocket peers over TLS for tests: an upstream that records client messages, and a client
that reaches it through an HTTP CONNECT proxy (both built on wsproto, which mitmproxy ships)."""

from __future__ import annotations

import ssl
import threading

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Request,
    TextMessage,
)

from tests.support.h2client import _tunnel
from tests.support.servers import TestCA
from tests.support.tlsserver import ThreadedTlsServer


class WebSocketUpstream(ThreadedTlsServer):
    """Accepts WebSocket upgrades, records each client text message, answers ``ack:<n>``."""

    def __init__(self, ca: TestCA) -> None:
        super().__init__(ca)
        self.messages: list[str] = []
        self._received = threading.Condition()

    def wait_for_messages(self, count: int, timeout: float = 10) -> list[str]:
        with self._received:
            if not self._received.wait_for(lambda: len(self.messages) >= count, timeout):
                raise TimeoutError(f"upstream got {self.messages!r}, expected {count} messages")
            return list(self.messages)

    def answer(self, _message: str) -> list[str]:
        """The server's messages in reply to one client text message (a subclass's model)."""
        return [f"ack:{len(self.messages)}"]

    def speak(self, sock: ssl.SSLSocket) -> None:
        self._speak(sock)

    def _speak(self, sock: ssl.SSLSocket) -> None:
        ws = WSConnection(ConnectionType.SERVER)
        while not self.stopping:
            data = sock.recv(65536)
            if not data:
                return
            ws.receive_data(data)
            for event in ws.events():
                if isinstance(event, Request):
                    sock.sendall(ws.send(AcceptConnection()))
                elif isinstance(event, TextMessage):
                    with self._received:
                        self.messages.append(event.data)
                        self._received.notify_all()
                    for reply in self.answer(event.data):
                        sock.sendall(ws.send(TextMessage(reply)))
                elif isinstance(event, CloseConnection):
                    sock.sendall(ws.send(event.response()))
                    return


class WebSocketClient:
    """A WebSocket client through a CONNECT proxy; ``send`` a text, ``receive`` the next one."""

    def __init__(self, proxy_port: int, context: ssl.SSLContext, host: str, path: str) -> None:
        context.set_alpn_protocols(["http/1.1"])
        self._sock = context.wrap_socket(_tunnel(proxy_port, host, 30), server_hostname=host)
        self._ws = WSConnection(ConnectionType.CLIENT)
        self._sock.sendall(self._ws.send(Request(host=host, target=path)))
        self._pending: list[object] = []
        accepted = self._next_event()
        if not isinstance(accepted, AcceptConnection):
            raise ConnectionError(f"upgrade refused: {accepted!r}")

    def _next_event(self) -> object:
        while not self._pending:
            data = self._sock.recv(65536)
            if not data:
                raise ConnectionError("connection closed")
            self._ws.receive_data(data)
            self._pending.extend(self._ws.events())
        return self._pending.pop(0)

    def send(self, text: str) -> None:
        self._sock.sendall(self._ws.send(TextMessage(text)))

    def receive(self) -> str:
        event = self._next_event()
        if isinstance(event, TextMessage | BytesMessage):
            return str(event.data)
        raise ConnectionError(f"expected a message, got {event!r}")

    def close(self) -> None:
        try:
            self._sock.sendall(self._ws.send(CloseConnection(code=1000)))
        finally:
            self._sock.close()
