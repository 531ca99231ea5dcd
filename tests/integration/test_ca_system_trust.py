"""`trust` / `untrust` against the real Linux system store, inside a private mount namespace.

update-ca-certificates has no option for another root, so the test runs it for real in a mount
namespace (``unshare --mount``) where copies of /etc/ssl/certs and the anchor directory are
bind-mounted over the originals and the update hooks are hidden: the machine's own store is
never touched (checked at the end). Needs root and util-linux ``unshare``; skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from egress_watch.paths import HomePaths
from egress_watch.workstation.trust import pem_blocks
from tests.support.servers import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not sys.platform.startswith("linux")
        or os.geteuid() != 0
        or shutil.which("unshare") is None
        or shutil.which("update-ca-certificates") is None,
        reason="needs root, unshare and update-ca-certificates (Debian-style system store)",
    ),
]

SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")
CA_VARS = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")


def can_unshare() -> bool:
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.fixture
def daemon(ew_home: HomePaths) -> Iterator[int]:
    port = free_port()
    ew = [sys.executable, "-m", "egress_watch", "--home", str(ew_home.home)]
    started = subprocess.run([*ew, "start", "--listen-port", str(port)], capture_output=True,
                             text=True, timeout=90, check=False)  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        yield port
    finally:
        subprocess.run([*ew, "stop"], capture_output=True, timeout=60, check=False)


def test_trust_and_untrust_the_system_store_for_real(
    tmp_path: Path, ew_home: HomePaths, daemon: int
) -> None:
    if not can_unshare():
        pytest.skip("unshare --mount is not permitted here")
    certs, anchors, hooks = tmp_path / "certs", tmp_path / "anchors", tmp_path / "hooks"
    shutil.copytree("/etc/ssl/certs", certs, symlinks=True)
    shutil.copytree("/usr/local/share/ca-certificates", anchors, symlinks=True)
    hooks.mkdir()
    ew = f"{shlex.quote(sys.executable)} -m egress_watch --home {shlex.quote(str(ew_home.home))}"
    script = f"""
set -e
mount --bind {certs} /etc/ssl/certs
mount --bind {anchors} /usr/local/share/ca-certificates
mount --bind {hooks} /etc/ca-certificates/update.d
export HTTPS_PROXY=http://127.0.0.1:{daemon}
{ew} trust --yes 2>&2
{ew} doctor --json > {tmp_path}/trusted.json || true
cp /etc/ssl/certs/ca-certificates.crt {tmp_path}/bundle-trusted.crt
{ew} untrust --yes
{ew} doctor --json > {tmp_path}/untrusted.json || true
cp /etc/ssl/certs/ca-certificates.crt {tmp_path}/bundle-untrusted.crt
"""
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS + CA_VARS}
    result = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c",
                             script], capture_output=True, text=True, timeout=240, env=env,
                            check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    ours = pem_blocks(ew_home.ca_cert.read_text())[0]
    assert ours in pem_blocks((tmp_path / "bundle-trusted.crt").read_text())
    assert ours not in pem_blocks((tmp_path / "bundle-untrusted.crt").read_text())

    trusted = {c["name"]: c for c in json.loads((tmp_path / "trusted.json").read_text())["checks"]}
    # Python and curl use the system store: with no CA variable set they accept the canary.
    assert trusted["canary-python"]["ok"], trusted["canary-python"]
    if not trusted["canary-curl"]["skipped"]:
        assert trusted["canary-curl"]["ok"], trusted["canary-curl"]
    # Node ignores the system store: it still needs NODE_EXTRA_CA_CERTS, and doctor says so.
    if not trusted["canary-node"]["skipped"]:
        assert not trusted["canary-node"]["ok"]
        assert "NODE_EXTRA_CA_CERTS" in trusted["canary-node"]["fix"]
    untrusted = json.loads((tmp_path / "untrusted.json").read_text())["checks"]
    assert not next(c for c in untrusted if c["name"] == "canary-python")["ok"]

    # The machine's own store never saw any of it.
    assert ours not in pem_blocks(SYSTEM_BUNDLE.read_text())
    assert not Path("/usr/local/share/ca-certificates/egress-watch.crt").exists()
