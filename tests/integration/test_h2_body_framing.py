"""curl over HTTP/2 with a body of unknown length, through the proxy to an HTTP/1.1 upstream.

HTTP/2 frames the body itself, so curl sends ``-T -`` (and a chunked upload) without
``content-length``; mitmproxy forwarded such a request to an HTTP/1.1-only upstream with no
length or transfer coding, and the upstream read an empty body. egress-watch now gives the
buffered body its length (egress_watch/capture/framing.py). The upstream here speaks only HTTP/1.1.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from egress_watch.paths import HomePaths
from tests.conftest import fake_aws_key_id
from tests.integration.conftest import RunningProxy, start_proxy
from tests.support.servers import make_test_ca

pytestmark = pytest.mark.slow


def _curl_reason() -> str | None:
    curl = shutil.which("curl")
    if curl is None:
        return "curl is not installed"
    version = subprocess.run([curl, "-V"], capture_output=True, text=True, check=False).stdout
    if "HTTP2" not in version:
        return "this curl has no HTTP/2 support"
    return None


JSON = ["-H", "Content-Type: application/json"]
UPLOADS = {
    "upload from stdin (-T -)": [*JSON, "-X", "POST", "-T", "-"],
    "chunked data (-H Transfer-Encoding)": [
        *JSON, "-H", "Transfer-Encoding: chunked", "--data-binary", "@-"],
    # forwarded as it arrives (Connect streaming, as Cursor sends), inspected when it ends
    "streamed RPC body": ["-H", "Content-Type: application/connect+json", "-X", "POST", "-T", "-"],
}  # fmt: skip


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    root = tmp_path_factory.mktemp("h2-body")
    with start_proxy(root, make_test_ca(root / "ca"), HomePaths(root / "ew")) as running:
        yield running


def _send(proxy: RunningProxy, upload: list[str], body: bytes, http: str) -> str:
    done = subprocess.run(
        ["curl", "-sS", http, "-x", proxy.url, "--cacert", str(proxy.paths.ca_cert),
         *upload,
         "https://api.openai.com/v1/chat/completions", "-o", "/dev/null",
         "-w", "%{http_code} %{http_version}"],
        input=body, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout.decode()


@pytest.mark.skipif(_curl_reason() is not None, reason=_curl_reason() or "")
@pytest.mark.parametrize("upload", list(UPLOADS))
@pytest.mark.parametrize("http", ["--http2", "--http1.1"])
def test_a_body_of_unknown_length_reaches_an_http1_upstream_whole_and_is_scanned(
    proxy: RunningProxy, upload: str, http: str
) -> None:
    marker = f"{upload} over {http}"
    body = json.dumps(
        {
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": f"{marker}: deploy with {fake_aws_key_id()}"}],
        }
    ).encode()
    before = len(proxy.upstream.requests)
    before_ids = {e["id"] for e in proxy.events()}
    status = _send(proxy, UPLOADS[upload], body, http)
    assert status == ("200 2" if http == "--http2" else "200 1.1")  # the client side's protocol
    arrived = [r for r in proxy.upstream.requests[before:] if marker.encode() in r.body]
    assert [r.body for r in arrived] == [body], "the upstream got the request without its body"
    framing = arrived[0].headers
    assert framing.get("content-length") == str(len(body)) or "chunked" in framing.get(
        "transfer-encoding", ""
    )
    newest = _newest_event(proxy, after=before_ids)
    assert newest["bytes_out"] == len(body)
    assert "aws-access-key" in {f["rule"] for f in newest["findings"]}


def _newest_event(proxy: RunningProxy, after: set[object]) -> dict[str, Any]:
    """The event of the request just sent (a streamed body's event is written when it ends)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        fresh = [e for e in proxy.events() if e["id"] not in after]
        if fresh:
            assert len(fresh) == 1, fresh
            return fresh[0]
    raise AssertionError("no event for the request within 30 s")
