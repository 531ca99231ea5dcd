"""Which process sent it: a real client subprocess through the real proxy is named on the event."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import fake_aws_key_id
from tests.integration.conftest import RunningProxy

pytestmark = pytest.mark.slow
CLIENT_NAME = Path(sys.executable).name[:15]  # the kernel's name of `python -c …`

CLIENT = """
import os, ssl, sys, httpx
_token, prompt, proxy, cafile, url = sys.argv[1:6]
verify = ssl.create_default_context(cafile=cafile)
verify.check_hostname = url.endswith("/completions")  # the test upstream names no real host
with httpx.Client(proxy=proxy, verify=verify, timeout=30) as client:
    if url.endswith("/completions"):
        body = {"model": "m", "messages": [{"role": "user", "content": prompt}]}
        print(client.post(url, json=body).status_code)
    else:
        print(client.get(url).status_code)
print(os.getpid())
"""


def test_the_event_names_the_client_process(running_proxy: RunningProxy, tmp_path: Path) -> None:
    repo = tmp_path / "project"
    (repo / ".git").mkdir(parents=True)
    (repo / "src").mkdir()
    secret_arg = "--api-key=" + "sk-" + "proj-" + "Q3EXT7PLN2ZRW5YB" * 3
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    result = subprocess.run(
        [sys.executable, str(script), secret_arg, f"use {fake_aws_key_id()}", running_proxy.url,
         str(running_proxy.paths.ca_cert), "https://api.openai.com/v1/chat/completions"],
        cwd=repo / "src", capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    status, pid = result.stdout.split()
    assert status == "200"
    (event,) = running_proxy.events()
    assert event["process_pid"] == int(pid)
    assert event["process_exe"] == os.path.realpath(sys.executable)
    assert event["process_name"] == CLIENT_NAME
    assert event["process_cwd"] == str(repo / "src")
    assert event["process_repo"] == str(repo)
    cmdline = str(event["process_cmdline"])
    assert cmdline.startswith(f"{sys.executable} {script} --api-key=[REDACTED] ")
    assert "'use [REDACTED:aws-access-key:" in cmdline  # masked by content, too
    assert fake_aws_key_id() not in cmdline
    parents = event["process_parents"]
    assert isinstance(parents, str)
    assert f"[{os.getpid()}]" in parents  # this test process started the client


def test_a_passed_through_host_records_its_process(
    running_proxy: RunningProxy, tmp_path: Path
) -> None:
    cafile = str(running_proxy.test_ca.cert_path)
    subprocess.run(
        [sys.executable, "-c", CLIENT, "-", "-", running_proxy.url, cafile, "https://example.org/"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    query = "SELECT host, decrypted, last_process FROM hosts"
    deadline = time.monotonic() + 15  # host rows are written behind the traffic
    while True:
        rows = sqlite3.connect(running_proxy.paths.database).execute(query).fetchall()
        if rows or time.monotonic() > deadline:
            break
    assert rows == [("example.org", 0, CLIENT_NAME)]
