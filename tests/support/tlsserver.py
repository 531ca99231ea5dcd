"""A threaded TLS listener on 127.0.0.1 that the protocol-specific test upstreams build on."""

from __future__ import annotations

import socket
import ssl
import threading
from types import TracebackType
from typing import Self

from tests.support.servers import DEFAULT_UPSTREAM_HOSTS, TestCA


class ThreadedTlsServer:
    """Accepts TLS connections (one thread each) and hands them to ``speak``."""

    alpn: tuple[str, ...] = ("http/1.1",)

    def __init__(self, ca: TestCA) -> None:
        cert, key = ca.issue(DEFAULT_UPSTREAM_HOSTS)
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.load_cert_chain(cert, key)
        self._tls.set_alpn_protocols(list(self.alpn))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def speak(self, sock: ssl.SSLSocket) -> None:
        """Serve one connection until the peer or the server stops."""
        raise NotImplementedError

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
                self.speak(sock)
        except (OSError, ssl.SSLError, ValueError):
            return  # a client that went away is not the server's problem
