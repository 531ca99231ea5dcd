"""Give an HTTP/2 or HTTP/3 request body the length an HTTP/1.1 upstream needs to read it.

HTTP/2 frames a body itself, so a client may send one without ``content-length`` (curl does
for ``-T -`` or a chunked upload). When mitmproxy forwards such a request to an upstream that
speaks only HTTP/1.1 it writes the head without ``content-length`` or ``transfer-encoding``:
the upstream reads a request with no body and the bytes that follow are garbage to it. Once
the body is read whole (every body egress-watch inspects is), its length is known: say it.
``content-length`` is valid in HTTP/2 as well, so the upstream's protocol does not matter.
"""

from __future__ import annotations

from mitmproxy import http


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
