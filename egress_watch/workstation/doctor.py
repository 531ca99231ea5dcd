"""``egress-watch doctor``: check the set-up end to end, with a fix for every failed check.

The canary: the daemon answers requests for ``canary.egress-watch.invalid`` itself
(``CanaryResponder``), from *inside* the TLS session it intercepted with our CA. A client that
gets the canary's nonce and the daemon's pid back therefore proves, on this machine, that it
reached the proxy, trusted our CA, and had its request decrypted by this daemon. No byte leaves
the machine: ``.invalid`` never resolves and the daemon never connects upstream for it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import sqlite3
import ssl
import subprocess
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from egress_watch.catalog.services import catalog_with
from egress_watch.classify.proprietary.background import background_info, public_hashes_lost
from egress_watch.classify.proprietary.index import CodeIndexError, index_path, open_index
from egress_watch.classify.proprietary.repos import list_repos
from egress_watch.config.settings import load_settings
from egress_watch.paths import HomePaths
from egress_watch.workstation.ca import (
    CANARY_HOST,
    CaFiles,
    ca_domains,
    cert_fingerprint,
    load_ca_cert,
    stored_domains,
)
from egress_watch.workstation.history_health import history_fix, history_line

CANARY_PATH = "/egress-watch-canary/"
CANARY_HEADER = "x-egress-watch-canary"
TIMEOUT_S = 10.0
FIX_ENV = 'eval "$(egress-watch env)"  (or add its output to your shell profile)'
FIX_TRUST = "egress-watch trust  (system store + bundle), then " + FIX_ENV

NODE_CANARY = r"""
const http = require('http'), tls = require('tls');
const [proxyHost, proxyPort, host, path] = process.argv.slice(1);
const fail = (m) => { console.error(m); process.exit(1); };
const req = http.request({host: proxyHost, port: +proxyPort, method: 'CONNECT',
                          path: host + ':443', timeout: 10000});
req.on('timeout', () => fail('timeout'));
req.on('error', (e) => fail(e.code || e.message));
req.on('connect', (res, socket) => {
  if (res.statusCode !== 200) fail('CONNECT answered ' + res.statusCode);
  const s = tls.connect({socket, servername: host}, () =>
    s.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
  let data = '';
  s.on('data', (d) => { data += d; });
  s.on('error', (e) => fail(e.code || e.message));
  s.on('end', () => { process.stdout.write(data.slice(data.indexOf('\r\n\r\n') + 4)); });
});
req.end();
"""


@dataclass(frozen=True, slots=True)
class Check:
    """One finding of the doctor; ``fix`` says what to run when it failed."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    skipped: bool = False


class CanaryResponder:
    """mitmproxy addon: answer the doctor's canary host locally, never upstream."""

    def request(self, flow: Any) -> None:
        from mitmproxy import http

        if flow.response is not None or flow.request.pretty_host != CANARY_HOST:
            return
        nonce = flow.request.path.removeprefix(CANARY_PATH)
        body = json.dumps({"egress_watch_canary": nonce, "pid": os.getpid()})
        flow.response = http.Response.make(
            200, body, {"content-type": "application/json", CANARY_HEADER: "intercepted"}
        )


def canary_verdict(body: str, nonce: str, daemon_pid: int | None) -> str | None:
    """None when the canary came back from the running daemon, else what was wrong."""
    try:
        answer = json.loads(body)
    except ValueError:
        return f"unexpected answer: {body[:80]!r}"
    if not isinstance(answer, dict) or answer.get("egress_watch_canary") != nonce:
        return "the answer did not carry our canary"
    if daemon_pid is not None and answer.get("pid") != daemon_pid:
        return f"answered by pid {answer.get('pid')}, not the daemon (pid {daemon_pid})"
    return None


def _python_canary(proxy_url: str, url: str) -> str:
    """Fetch ``url`` through the proxy as a Python client does, with the default trust store."""
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({"https": proxy_url}),
        urllib.request.HTTPSHandler(context=ssl.create_default_context()),
    )
    with opener.open(url, timeout=TIMEOUT_S) as response:
        return str(response.read().decode())


def _run(command: list[str]) -> str:
    """Run a client; its stderr becomes the error."""
    result = subprocess.run(  # noqa: S603 - fixed argv of a client found on PATH
        command, capture_output=True, text=True, timeout=TIMEOUT_S + 5, check=False
    )
    if result.returncode != 0:
        raise RuntimeError((result.stderr or result.stdout).strip()[-300:] or "failed")
    return result.stdout


def runtime_clients(
    proxy_url: str, host: str, port: int
) -> dict[str, Callable[[str, str], str] | None]:
    """Each runtime we can test on this machine: name -> fetch(url, path), or None if absent."""
    curl, node = shutil.which("curl"), shutil.which("node")
    return {
        "python": lambda url, _path: _python_canary(proxy_url, url),
        "curl": (
            lambda url, _path: _run([curl, "-sS", "--max-time", "10", "--proxy", proxy_url, url])
        )
        if curl
        else None,
        "node": (
            lambda _url, path: _run([node, "-e", NODE_CANARY, host, str(port), CANARY_HOST, path])
        )
        if node
        else None,
    }


def check_canaries(status: Mapping[str, Any]) -> list[Check]:
    """Send a canary through the proxy from every runtime found (python, curl, node)."""
    host, port = str(status["listen_host"]), int(status["listen_port"])
    proxy_url = f"http://{host}:{port}"
    checks = []
    for name, fetch in runtime_clients(proxy_url, host, port).items():
        if fetch is None:
            checks.append(Check(f"canary-{name}", True, f"{name} not found", skipped=True))
            continue
        nonce = secrets.token_hex(8)
        path = CANARY_PATH + nonce
        try:
            problem = canary_verdict(fetch(f"https://{CANARY_HOST}{path}", path), nonce,
                                     status.get("pid"))  # fmt: skip
        except Exception as error:
            problem = f"{type(error).__name__}: {error}"[:300]
        fix = {"node": "NODE_EXTRA_CA_CERTS: " + FIX_ENV}.get(name, FIX_TRUST)
        checks.append(
            Check(f"canary-{name}", problem is None,
                  problem or f"{name} reached the proxy, trusted our CA, request decrypted",
                  "" if problem is None else fix)
        )  # fmt: skip
    return checks


def check_daemon(status: Mapping[str, Any]) -> list[Check]:
    """Is the daemon up, and does its port accept connections?"""
    if not status.get("running"):
        fix = "egress-watch start  (or: systemctl --user start egress-watch after `install`)"
        return [Check("daemon", False, "the proxy is not running", fix)]
    checks = [Check("daemon", True, f"running, pid {status['pid']}, errors {status['errors']}")]
    problem = history_line(status)
    home = Path(str(status.get("home") or "."))
    checks.append(Check("history", problem is None, problem or "events are being written",
                        "" if problem is None else history_fix(home)))  # fmt: skip
    address = (str(status["listen_host"]), int(status["listen_port"]))
    try:
        with socket.create_connection(address, timeout=TIMEOUT_S):
            checks.append(Check("port", True, f"{address[0]}:{address[1]} accepts connections"))
    except OSError as error:
        fix = "egress-watch stop && egress-watch start; see daemon.log"
        checks.append(Check("port", False, f"{address[0]}:{address[1]}: {error}", fix))
    return checks


def check_ca(paths: HomePaths) -> list[Check]:
    """CA present, ours, current for the catalog, and private."""
    files = CaFiles(paths.confdir)
    if load_ca_cert(files) is None or not files.key_and_cert.exists():
        return [Check("ca-files", False, f"no CA in {paths.confdir}", "egress-watch start")]
    checks = []
    key_mode = files.key_and_cert.stat().st_mode & 0o777
    dir_mode = paths.confdir.stat().st_mode & 0o777
    private = not key_mode & 0o077 and not dir_mode & 0o077
    checks.append(Check("ca-permissions", private, f"key {key_mode:o}, directory {dir_mode:o}",
                        "" if private else f"chmod 700 {paths.confdir}; "
                        f"chmod 600 {files.key_and_cert}"))  # fmt: skip
    domains = stored_domains(files)
    current = domains == ca_domains(catalog_with(load_settings(paths.config).services))
    if domains is None:
        detail = "not egress-watch's name-constrained CA"
    else:
        detail = f"name-constrained to {len(domains)} domains"
        detail += "" if current else ", but the catalog changed since"
    restart = "egress-watch stop && egress-watch start (makes a new CA), then egress-watch trust"
    checks.append(Check("ca-constrained", current, detail, "" if current else restart))
    checks += check_trust_record(paths)
    return checks


def check_trust_record(paths: HomePaths) -> list[Check]:
    """After a new CA, what `trust` installed earlier is stale until it runs again."""
    from egress_watch.workstation.trust import load_record

    record = load_record(paths)
    cert = load_ca_cert(CaFiles(paths.confdir))
    if not record or cert is None:
        return []
    current = record.get("ca_sha256") == cert_fingerprint(cert)
    where = "the system store and the bundle" if record.get("system") else "the bundle"
    detail = f"{where}: current CA" if current else f"{where}: an older CA, not the current one"
    return [Check("ca-trusted", current, detail, "" if current else "egress-watch trust")]


def _holds_ca(path: str, ca_pem: str) -> bool:
    from egress_watch.workstation.trust import pem_blocks

    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return False
    return bool(set(pem_blocks(ca_pem)) & set(pem_blocks(text)))


def check_environment(
    paths: HomePaths, status: Mapping[str, Any], environ: Mapping[str, str]
) -> list[Check]:
    """Proxy variables point at the daemon; CA variables name a file holding our CA."""
    checks = []
    if status.get("running"):
        want = f"http://{status['listen_host']}:{status['listen_port']}"
        have = environ.get("HTTPS_PROXY") or environ.get("https_proxy") or ""
        ok = have.rstrip("/") == want
        checks.append(Check("proxy-env", ok, f"HTTPS_PROXY={have or '(unset)'}; daemon: {want}",
                            "" if ok else FIX_ENV))  # fmt: skip
    ca = CaFiles(paths.confdir).cert
    ca_pem = ca.read_text() if ca.exists() else ""
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"):
        value = environ.get(name, "")
        ok = bool(value) and bool(ca_pem) and _holds_ca(value, ca_pem)
        detail = f"{name}={value or '(unset)'}" + ("" if ok or not value else ": lacks our CA")
        checks.append(Check(f"env-{name}", ok, detail, "" if ok else FIX_TRUST))
    return checks


def check_code_index(paths: HomePaths) -> list[Check]:
    """Is the code index usable (its hashes depend on the egress-watch and Python version)?"""
    location = index_path(paths.config.parent)
    if not location.exists():
        return [Check("code-index", True, "no repositories indexed", skipped=True)]
    try:
        conn = open_index(location, create=False)
    except (CodeIndexError, sqlite3.Error) as error:
        return [Check("code-index", False, str(error), "egress-watch index rebuild")]
    try:
        repos = list_repos(conn)
        background = background_check(conn)
    finally:
        conn.close()
    files = sum(repo.files for repo in repos)
    return [Check("code-index", True, f"{len(repos)} repositories, {files} files indexed"),
            *background]  # fmt: skip


def background_check(conn: sqlite3.Connection) -> list[Check]:
    """What the index's public-code background holds (sources, files, MB, when built); a
    failure when its machine-wide file is gone (common idioms would alert again)."""
    info = background_info(conn)
    if info is None:
        return []
    parts = [f"{part.source} ({part.bytes / 1e6:.1f} MB)" for part in info.parts if part.files]
    sources = ", ".join(parts) or ", ".join(info.sources)
    detail = (
        f"{info.files} files ({info.bytes / 1e6:.1f} MB) of public code from "
        f"{sources or 'no source'}; {info.hashes} common sequences "
        f"({info.file_bytes / 1e6:.1f} MB), built {info.built or 'by an older version'}"
        f" in {info.seconds:.0f} s"
    )
    if info.hashes and public_hashes_lost(conn):
        return [Check("code-background", False, detail + "; its file is gone",
                      "egress-watch index rebuild")]  # fmt: skip
    return [Check("code-background", True, detail)]


def run_checks(
    paths: HomePaths, status: Mapping[str, Any], environ: Mapping[str, str]
) -> list[Check]:
    """Every check, in the order a user should fix them."""
    checks = check_daemon(status) + check_ca(paths) + check_environment(paths, status, environ)
    checks += check_code_index(paths)
    if status.get("running"):
        checks += check_canaries(status)
    return checks


def summary(checks: list[Check]) -> dict[str, Any]:
    """The ``--json`` document."""
    return {
        "ok": all(c.ok for c in checks),
        "checks": [asdict(c) for c in checks],
    }


def render_text(checks: list[Check]) -> str:
    """One line per check, a fix under each failure."""
    lines = []
    for c in checks:
        mark = "skip" if c.skipped else ("ok" if c.ok else "FAIL")
        lines.append(f"{mark:<4}  {c.name:<26} {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"      fix: {c.fix}")
    failed = sum(not c.ok for c in checks)
    lines.append("all checks passed" if not failed else f"{failed} check(s) failed")
    return "\n".join(lines) + "\n"
