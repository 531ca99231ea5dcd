"""The official ``openai`` and ``anthropic`` Python SDKs, unmodified, through the real proxy.

Each SDK is set up the way a user would: an ``httpx`` client with ``proxy=`` the proxy and
``verify=`` the CA bundle ``egress-watch env`` names (in-process calls), or a script run with
the variables ``egress-watch env`` prints (HTTPS_PROXY, SSL_CERT_FILE). The SDKs keep their
default base URLs (api.openai.com, api.anthropic.com); the test upstream behind a CONNECT
tunnel impersonates both hosts and answers as the fake model of ``fake_model.py``, echoing the
user's words. One proxy per mode (monitor, redact, block), started once for the module.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic
import openai
import psutil
import pytest

from egress_watch.capture.toolname import tool_name
from egress_watch.paths import HomePaths
from tests.clients.fake_model import DONE_TEXT, FakeModel
from tests.clients.test_real_clients import _exports, fake_key
from tests.conftest import fake_aws_key_id
from tests.integration.conftest import RunningProxy, start_proxy
from tests.support.servers import ConnectProxy, UpstreamServer, make_test_ca

pytestmark = pytest.mark.slow

SERVICES = {"openai": "openai", "anthropic": "anthropic"}
MODELS = {"openai": "gpt-4o", "anthropic": "claude-sonnet-4-5"}
FAMILIES = {"openai": "openai-chat", "anthropic": "anthropic-messages"}


@dataclass
class ModeSetup:
    """A running proxy in one mode, its fake model, and the variables ``egress-watch env`` gave."""

    mode: str
    proxy: RunningProxy
    upstream: UpstreamServer
    variables: dict[str, str]
    seen: set[object] = field(default_factory=set)
    """Ids of the events earlier calls made."""

    def new_events(self) -> list[dict[str, Any]]:
        """The events recorded since the last call (``egress-watch events --json``)."""
        fresh = [e for e in self.proxy.events() if e["id"] not in self.seen]
        self.seen.update(e["id"] for e in fresh)
        return fresh

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.variables["SSL_CERT_FILE"])


class Proxies:
    """One proxy per mode, started on first use and kept for the module."""

    def __init__(self, stack: ExitStack, root: Path) -> None:
        self.stack, self.root = stack, root
        self.started: dict[str, ModeSetup] = {}

    def get(self, mode: str) -> ModeSetup:
        if mode not in self.started:
            self.started[mode] = self._start(mode)
        return self.started[mode]

    def _start(self, mode: str) -> ModeSetup:
        root = self.root / mode
        ca = make_test_ca(root / "test-ca")
        model = FakeModel(str(root / "unused"), echo=True)
        upstream = self.stack.enter_context(UpstreamServer(ca, respond=model))
        tunnel = self.stack.enter_context(ConnectProxy(("127.0.0.1", upstream.port)))
        home = HomePaths(root / "ew-home")
        flags = ("--mode", mode)
        proxy = self.stack.enter_context(start_proxy(root, ca, home, *flags, upstream=tunnel))
        printed = proxy.cli("env", "--shell", "bash")
        assert printed.returncode == 0, printed.stderr
        return ModeSetup(mode, proxy, upstream, _exports(printed.stdout))


@pytest.fixture(scope="module")
def proxies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxies]:
    with ExitStack() as stack:
        yield Proxies(stack, tmp_path_factory.mktemp("sdk"))


def _prompt() -> str:
    return f"Deploy with AWS key {fake_aws_key_id()} please."


def _openai_call(setup: ModeSetup, stream: bool) -> str:
    with openai.DefaultHttpxClient(proxy=setup.proxy.url, verify=setup.tls()) as client:
        sdk = openai.OpenAI(api_key=fake_key(), http_client=client)
        messages: Any = [{"role": "user", "content": _prompt()}]
        model = MODELS["openai"]
        if not stream:
            answer = sdk.chat.completions.create(model=model, messages=messages)
            return answer.choices[0].message.content or ""
        chunks = sdk.chat.completions.create(model=model, messages=messages, stream=True)
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def _anthropic_call(setup: ModeSetup, stream: bool) -> str:
    with anthropic.DefaultHttpxClient(proxy=setup.proxy.url, verify=setup.tls()) as client:
        sdk = anthropic.Anthropic(api_key=fake_key(), http_client=client)
        messages: Any = [{"role": "user", "content": _prompt()}]
        model = MODELS["anthropic"]
        if not stream:
            answer = sdk.messages.create(model=model, max_tokens=64, messages=messages)
            return "".join(b.text for b in answer.content if b.type == "text")
        with sdk.messages.stream(model=model, max_tokens=64, messages=messages) as streamed:
            return streamed.get_final_text()


CALLS: dict[str, Callable[[ModeSetup, bool], str]] = {
    "openai": _openai_call,
    "anthropic": _anthropic_call,
}
BLOCKED: dict[str, type[Exception]] = {
    "openai": openai.BadRequestError,
    "anthropic": anthropic.BadRequestError,
}


def _this_process_tool() -> str:
    """The tool name egress-watch resolves for the process running these calls (pytest)."""
    me = psutil.Process()
    return tool_name(me.name(), me.exe(), me.cmdline(), me.cwd())


@dataclass
class Outcome:
    answer: str | None
    error: Exception | None
    events: list[dict[str, Any]]
    bodies: list[bytes]


def _call(setup: ModeSetup, sdk: str, stream: bool) -> Outcome:
    """One SDK call; the events it made and what the upstream received for it."""
    before = len(setup.upstream.requests)
    answer, error = None, None
    try:
        answer = CALLS[sdk](setup, stream)
    except (openai.APIError, anthropic.APIError) as raised:
        error = raised
    events = setup.new_events()
    return Outcome(answer, error, events, [r.body for r in setup.upstream.requests[before:]])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("sdk", list(CALLS))
@pytest.mark.parametrize("mode", ["monitor", "redact", "block"])
def test_sdk_call_through_the_proxy(proxies: Proxies, mode: str, sdk: str, stream: bool) -> None:
    setup = proxies.get(mode)
    done = _call(setup, sdk, stream)
    key = fake_aws_key_id()
    assert len(done.events) == 1, done.events
    event = done.events[0]
    assert event["service"] == SERVICES[sdk]
    assert event["family"] == FAMILIES[sdk]
    assert event["model"] == MODELS[sdk]
    assert event["tool"] == _this_process_tool()
    assert ("aws-access-key", "user") in {(f["rule"], f["role"]) for f in event["findings"]}
    assert event["action"] == ("pass" if setup.mode == "monitor" else setup.mode)
    sent = b"".join(done.bodies).decode("utf-8", "replace")
    if setup.mode == "monitor":
        assert done.error is None, done.error
        assert key in sent  # monitor only records
        assert done.answer == f"{DONE_TEXT} You said: {_prompt()}"
    elif setup.mode == "redact":
        assert done.error is None, done.error
        assert key not in sent
        assert "[REDACTED:aws-access-key:" in sent
        # the model echoed the placeholder; restore gave the SDK its value back
        assert done.answer == f"{DONE_TEXT} You said: {_prompt()}"
        assert event["restored_count"] == 1
    else:
        assert done.bodies == []  # the upstream never saw the request
        assert isinstance(done.error, BLOCKED[sdk]), repr(done.error)
        message = str(done.error)
        assert "egress-watch blocked this request" in message
        assert "egress-watch allow" in message
        assert key not in message
        assert done.answer is None


SCRIPT = """\
import sys
import {sdk}

client = {sdk}.{cls}(api_key="-".join(["fake", "test", "key"]))
prompt = "Our AWS key is " + sys.argv[1]
try:
    {call}
except {sdk}.APIError as error:
    print(type(error).__name__, error, file=sys.stderr)
    sys.exit(3)
"""
ASK = "[{'role': 'user', 'content': prompt}]"
SCRIPT_CALLS = {
    "openai": ("OpenAI", f"print(client.chat.completions.create(model='gpt-4o', messages={ASK}))"),
    "anthropic": ("Anthropic", "print(client.messages.create(model='claude-sonnet-4-5', "
                  f"max_tokens=64, messages={ASK}))"),
}  # fmt: skip


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sdk", list(SCRIPT_CALLS))
def test_a_script_configured_by_egress_watch_env_is_named_and_blocked(
    proxies: Proxies, sdk: str, tmp_path: Path
) -> None:
    """A user's own script, run with the variables of ``egress-watch env`` and nothing else."""
    setup = proxies.get("block")
    setup.new_events()
    cls, call = SCRIPT_CALLS[sdk]
    script = tmp_path / f"ask_{sdk}.py"
    script.write_text(SCRIPT.format(sdk=sdk, cls=cls, call=call))
    done = subprocess.run(
        [sys.executable, str(script), fake_aws_key_id()],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **setup.variables},
        capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stderr.startswith("BadRequestError"), done.stderr
    assert "egress-watch blocked this request" in done.stderr
    assert "egress-watch allow" in done.stderr
    assert fake_aws_key_id() not in done.stderr + done.stdout
    events = setup.new_events()
    assert [(e["tool"], e["service"], e["action"]) for e in events] == [
        (f"ask_{sdk}", SERVICES[sdk], "block")
    ]
    assert json.dumps(events).count(fake_aws_key_id()) == 0
