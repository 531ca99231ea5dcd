"""Daemon robustness with real processes: status JSON, SIGTERM flush, SIGHUP reload, stale pid."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from egress_watch.paths import HomePaths
from tests.conftest import fake_aws_key_id
from tests.integration.conftest import RunningProxy, start_proxy, wait_until
from tests.support.servers import TestCA, free_port

pytestmark = pytest.mark.slow


def chat(proxy: RunningProxy, content: str) -> httpx.Response:
    with httpx.Client(proxy=proxy.url, verify=proxy.client_ssl_context()) as client:
        return client.post(
            "https://api.openai.com/v1/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": content}]},
            timeout=30,
        )


def status(proxy: RunningProxy) -> dict[str, object]:
    return json.loads(proxy.cli("status", "--json").stdout)


def test_status_json_has_the_documented_keys_and_counts(running_proxy: RunningProxy) -> None:
    assert chat(running_proxy, "hello").status_code == 200
    wait_until(running_proxy, lambda: status(running_proxy).get("events") == 1, "events == 1")
    info = status(running_proxy)
    assert {"pid", "port", "uptime", "requests", "events", "errors"} <= set(info)
    assert info["pid"] == running_proxy.process.pid
    assert info["port"] == running_proxy.port
    assert info["requests"] == 1
    assert info["errors"] == 0
    assert isinstance(info["uptime"], float)
    assert info["uptime"] >= 0


def test_sigterm_with_requests_in_flight_exits_cleanly_and_loses_no_event(
    running_proxy: RunningProxy, ew_home: HomePaths
) -> None:
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(chat, running_proxy, f"request {i}") for i in range(16)]
        running_proxy.upstream.wait_for_requests(1, timeout=30)
        running_proxy.process.send_signal(signal.SIGTERM)
        assert running_proxy.process.wait(timeout=30) == 0
        for future in futures:
            future.exception(timeout=30)  # each one either got its answer or a closed connection
    forwarded = len(running_proxy.upstream.requests)
    events = running_proxy.events()
    assert len(events) >= forwarded >= 1
    assert not ew_home.pidfile.exists()
    assert not ew_home.state.exists()


def test_sighup_reloads_the_config_and_a_bad_file_changes_nothing(
    running_proxy: RunningProxy, ew_home: HomePaths
) -> None:
    secret = f"aws_access_key_id = {fake_aws_key_id()}"
    assert chat(running_proxy, secret).status_code == 200  # monitor: forwarded
    config = ew_home.config.read_text()
    ew_home.config.write_text(config.replace('mode = "monitor"', 'mode = "block"'))
    running_proxy.process.send_signal(signal.SIGHUP)
    wait_until(running_proxy, lambda: "reloaded" in running_proxy.log_path.read_text(),
               "reload logged")  # fmt: skip
    assert chat(running_proxy, secret).status_code == 400

    ew_home.config.write_text(config.replace('mode = "monitor"', 'mode = "sometimes"'))
    running_proxy.process.send_signal(signal.SIGHUP)
    wait_until(running_proxy, lambda: "reload refused" in running_proxy.log_path.read_text(),
               "refusal logged")  # fmt: skip
    assert running_proxy.process.poll() is None
    assert chat(running_proxy, secret).status_code == 400  # still the last good config

    # Bytes that are not UTF-8: one clear log line naming file and key, no traceback.
    ew_home.config.write_bytes(config.encode().replace(b"retention_days", b"retenti\xf3n_days"))
    running_proxy.process.send_signal(signal.SIGHUP)
    refusals = lambda: running_proxy.log_path.read_text(errors="replace").count("reload refused")  # noqa: E731
    wait_until(running_proxy, lambda: refusals() == 2, "second refusal logged")
    log = running_proxy.log_path.read_text(errors="replace")
    assert "Traceback" not in log
    assert "UnicodeDecodeError" not in log
    assert f"{ew_home.config}: key store.retenti" in log
    assert running_proxy.process.poll() is None
    assert chat(running_proxy, secret).status_code == 400


def test_a_pidfile_naming_another_live_program_does_not_block_start(
    tmp_path: Path, test_ca: TestCA, ew_home: HomePaths
) -> None:
    other = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)  # fmt: skip
    try:
        ew_home.home.mkdir(parents=True)
        ew_home.pidfile.write_text(f"{other.pid}\n")
        with start_proxy(tmp_path, test_ca, ew_home) as proxy:
            assert ew_home.pidfile.read_text().strip() == str(proxy.process.pid)
    finally:
        other.communicate(b"", timeout=10)


def test_port_in_use_names_the_holder(ew_home: HomePaths) -> None:
    port = free_port()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import socket, sys\n"
         f"s = socket.create_server(('127.0.0.1', {port}))\nprint('up', flush=True)\n"
         "sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "up"
        result = subprocess.run(
            [sys.executable, "-m", "egress_watch", "--home", str(ew_home.home), "start",
             "--foreground", "--listen-port", str(port)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        holder.communicate("", timeout=10)
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use by python" in result.stderr
    assert f"(pid {holder.pid})" in result.stderr
