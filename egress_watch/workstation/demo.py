"""``egress-watch demo``: a first look without any AI account or network.

A fake AWS key goes, in an OpenAI-shaped chat request, through the *running* proxy to the
doctor's canary host (``canary.egress-watch.invalid``), which the daemon answers itself: nothing
leaves the machine. The proxy inspects and records it like any AI request, under the service
``egress-watch-demo``, so it shows in ``events`` and the dashboard; reports leave that service
out (it is a test event, not an exposure).
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from egress_watch.model import Route
from egress_watch.workstation.ca import CANARY_HOST

DEMO_SERVICE = "egress-watch-demo"
DEMO_PATH = "/egress-watch-canary/demo/v1/chat/completions"
DEMO_ROUTE = Route(DEMO_SERVICE, "openai-chat")
TIMEOUT_S = 15.0


def demo_key() -> str:
    """A well-formed AWS access key id that is nobody's (assembled, so no scanner flags us)."""
    return "AKIA" + "EGRESS" + "WATCH" + "DEMO" + "7Q"


def demo_body() -> bytes:
    prompt = f"egress-watch demo: deploy with aws_access_key_id = {demo_key()}"
    return json.dumps(
        {"model": "egress-watch-demo", "messages": [{"role": "user", "content": prompt}]}
    ).encode()


@dataclass(frozen=True, slots=True)
class DemoResult:
    status: int
    answer: str


def send_demo(proxy_url: str, ca_cert: Path) -> DemoResult:
    """POST the demo request through the proxy, trusting our CA; the answer the proxy gave."""
    context = ssl.create_default_context(cafile=str(ca_cert))
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({"https": proxy_url}),
        urllib.request.HTTPSHandler(context=context),
    )
    request = urllib.request.Request(
        f"https://{CANARY_HOST}{DEMO_PATH}",
        data=demo_body(),
        headers={"content-type": "application/json", "user-agent": "egress-watch-demo"},
        method="POST",
    )
    try:
        with opener.open(request, timeout=TIMEOUT_S) as response:
            return DemoResult(int(response.status), response.read().decode(errors="replace"))
    except urllib.error.HTTPError as error:  # a block answers 400: still a demo that worked
        return DemoResult(int(error.code), error.read().decode(errors="replace"))
