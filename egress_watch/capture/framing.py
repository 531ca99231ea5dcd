"""Give an HTTP/2 or HTTP/3 request body the length an HTTP/1.1 upstream needs to read it.

HTTP/2 frames a body itself, so a client may send one without ``content-length`` (curl does
for ``-T -`` or a chunked upload). When mitmproxy forwards such a request to an upstream that
speaks only HTTP/1.1 it writes the head without ``content-length`` or ``transfer-encoding``:
the upstream reads a request with no body and the bytes that follow are garbage to it. Once
the body is read whole (every body egress-watch inspects is), its length is known: say it.
``content-length`` is valid in HTTP/2 as well, so the upstream's protocol does not matter.
"""

from __future__ import annotations

from mitmproxy import connection, http


def frame_buffered_body(request: http.Request) -> bool:
    """Add ``content-length`` to a whole HTTP/2 or /3 body that has no framing header.

    True when the header was added. Requests with a length or a transfer coding, without a
    body, or from an HTTP/1 client are left alone.
    """
    if request.http_version not in ("HTTP/2.0", "HTTP/3"):
        return False
    if not request.raw_content:
        return False
    if "content-length" in request.headers or "transfer-encoding" in request.headers:
        return False
    request.headers["content-length"] = str(len(request.raw_content))
    return True


def frame_streamed_body(request: http.Request) -> bool:
    """Chunked framing for an HTTP/2 body forwarded as it arrives, towards an HTTP/1.1 upstream.

    Its length is unknown when the head leaves, so the upstream must get it chunked. Only for
    an upstream that does not speak HTTP/2 (``transfer-encoding`` is forbidden there). True when
    the header was added (HTTP/2 requests with no length or transfer coding only).
    """
    if request.http_version != "HTTP/2.0":
        return False
    if "content-length" in request.headers or "transfer-encoding" in request.headers:
        return False
    request.headers["transfer-encoding"] = "chunked"
    return True


def speaks_http2(server: connection.Server) -> bool:
    return server.alpn == b"h2"


class StreamFraming:
    """Frame streamed HTTP/2 bodies once the upstream's protocol is known.

    The proxy connects lazily: when a streamed request's head is seen, the upstream connection
    may not exist yet. Its flow waits (per client connection) until the TLS handshake with the
    upstream says which protocol it chose (ALPN); a connection already open is asked at once.
    """

    def __init__(self) -> None:
        self._waiting: dict[str, list[http.HTTPFlow]] = {}

    def streamed(self, flow: http.HTTPFlow) -> None:
        """Called from ``requestheaders`` after the body was set to stream."""
        if flow.request.http_version != "HTTP/2.0":
            return
        server = flow.server_conn
        if server.connected and server.tls_established:
            if not speaks_http2(server):
                frame_streamed_body(flow.request)
            return
        self._waiting.setdefault(flow.client_conn.id, []).append(flow)

    def upstream_ready(self, client: connection.Client, server: connection.Server) -> None:
        """After the TLS handshake with the upstream (its ALPN chosen)."""
        for flow in self._waiting.pop(client.id, ()):
            if not speaks_http2(server):
                frame_streamed_body(flow.request)

    def forget(self, client: connection.Client) -> None:
        self._waiting.pop(client.id, None)
