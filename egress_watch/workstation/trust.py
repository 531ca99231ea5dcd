"""Make clients trust our CA: the system store, a combined bundle, and VS Code's settings.

Command lines are built by pure functions (tested); running them is the edge, and anything
that needs sudo is shown to the user and confirmed first.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from egress_watch.errors import EgressWatchError
from egress_watch.paths import HomePaths
from egress_watch.workstation.ca import CA_COMMON_NAME

LINUX_ANCHOR_DIR = Path("/usr/local/share/ca-certificates")
LINUX_ANCHOR_NAME = "egress-watch.crt"
MACOS_SYSTEM_KEYCHAIN = "/Library/Keychains/System.keychain"
SYSTEM_BUNDLE_CANDIDATES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine, Arch
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/ssl/cert.pem",  # macOS, BSD
)
PEM_BEGIN = "-----BEGIN CERTIFICATE-----"
PEM_END = "-----END CERTIFICATE-----"


class TrustError(EgressWatchError):
    """The CA could not be trusted or untrusted."""


def bundle_path(paths: HomePaths) -> Path:
    """The combined bundle (system CAs + ours) the CA variables point to."""
    return paths.home / "ca-bundle.pem"


def trust_record(paths: HomePaths) -> Path:
    """What ``trust`` changed, so ``untrust`` can reverse exactly that."""
    return paths.home / "trust.json"


def pem_blocks(text: str) -> list[str]:
    """The PEM certificates in ``text``, normalised, in order."""
    blocks, rest = [], text
    while (start := rest.find(PEM_BEGIN)) >= 0 and (end := rest.find(PEM_END, start)) >= 0:
        blocks.append(rest[start : end + len(PEM_END)].strip() + "\n")
        rest = rest[end + len(PEM_END) :]
    return blocks


def combine_bundle(system_pem: str, our_pem: str, old_pems: Sequence[str] = ()) -> str:
    """System CAs minus any earlier copy of ours, then our CA last, labelled."""
    ours = pem_blocks(our_pem)
    drop = set(ours) | {b for old in old_pems for b in pem_blocks(old)}
    kept = [b for b in pem_blocks(system_pem) if b not in drop]
    return "".join(kept) + "# egress-watch CA (name-constrained to AI services)\n" + "".join(ours)


def system_bundle_file() -> Path | None:
    """The OS's CA bundle: OpenSSL's compiled-in default (not $SSL_CERT_FILE, which may be ours)."""
    default = ssl.get_default_verify_paths().openssl_cafile
    for candidate in (default, *SYSTEM_BUNDLE_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    chosen = os.environ.get("SSL_CERT_FILE")  # the user's own bundle, unless it is ours
    if chosen and Path(chosen).is_file() and Path(chosen).name != "ca-bundle.pem":
        return Path(chosen)
    return None


def write_bundle(paths: HomePaths, ca_cert: Path) -> Path:
    """Write the combined bundle into the data home and return its path."""
    system = system_bundle_file()
    if system is None:
        raise TrustError("no system CA bundle found; set SSL_CERT_FILE to your own bundle")
    target = bundle_path(paths)
    old = [target.read_text()] if target.exists() else []
    text = combine_bundle(system.read_text(errors="replace"), ca_cert.read_text(), old[-1:])
    tmp = target.with_suffix(".tmp")
    tmp.write_text(text)
    os.chmod(tmp, 0o644)
    tmp.replace(target)
    return target


@dataclass(frozen=True, slots=True)
class Plan:
    """Commands to run, in order; ``sudo`` is True when any of them needs it."""

    commands: tuple[tuple[str, ...], ...]

    @property
    def sudo(self) -> bool:
        return any(c[:1] == ("sudo",) for c in self.commands)

    def describe(self) -> str:
        return "\n".join("  " + " ".join(c) for c in self.commands)


def _as_root(command: tuple[str, ...], is_root: bool) -> tuple[str, ...]:
    return command if is_root else ("sudo", *command)


def system_trust_plan(platform: str, ca_cert: Path, is_root: bool) -> Plan:
    """The commands that add ``ca_cert`` to the system store on ``platform`` (``sys.platform``)."""
    if platform == "darwin":
        add = ("security", "add-trusted-cert", "-d", "-r", "trustRoot", "-k",
               MACOS_SYSTEM_KEYCHAIN, str(ca_cert))  # fmt: skip
        return Plan((_as_root(add, is_root),))
    if platform.startswith("linux"):
        anchor = LINUX_ANCHOR_DIR / LINUX_ANCHOR_NAME
        copy = ("install", "-D", "-m", "0644", str(ca_cert), str(anchor))
        return Plan((_as_root(copy, is_root), _as_root(("update-ca-certificates",), is_root)))
    raise TrustError(f"system trust is not supported on {platform}; use `trust --bundle-only`")


def system_untrust_plan(platform: str, ca_cert: Path, is_root: bool) -> Plan:
    """The commands that take our CA out of the system store again."""
    if platform == "darwin":
        remove = ("security", "remove-trusted-cert", "-d", str(ca_cert))
        delete = ("security", "delete-certificate", "-c", CA_COMMON_NAME, MACOS_SYSTEM_KEYCHAIN)
        return Plan((_as_root(remove, is_root), _as_root(delete, is_root)))
    if platform.startswith("linux"):
        anchor = LINUX_ANCHOR_DIR / LINUX_ANCHOR_NAME
        return Plan((_as_root(("rm", "-f", str(anchor)), is_root),
                     _as_root(("update-ca-certificates", "--fresh"), is_root)))  # fmt: skip
    raise TrustError(f"system trust is not supported on {platform}")


def run_plan(plan: Plan) -> None:
    """Run each command, stopping at the first failure with its output in the error."""
    for command in plan.commands:
        if shutil.which(command[0]) is None:
            raise TrustError(f"{command[0]} not found; run by hand:\n{plan.describe()}")
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise TrustError(f"{' '.join(command)} failed: {result.stderr.strip()[-400:]}")


def vscode_settings(proxy_url: str) -> dict[str, Any]:
    """VS Code / Cursor settings: proxy every extension, trust the OS store (where our CA is)."""
    return {
        "http.proxy": proxy_url,
        "http.proxySupport": "override",
        "http.systemCertificates": True,
    }


def merge_vscode_settings(path: Path, proxy_url: str) -> None:
    """Add our keys to a settings.json; a file with comments (JSONC) is left for the user."""
    try:
        current = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        raise TrustError(
            f"{path} is not plain JSON (comments?); add these keys by hand:\n"
            + json.dumps(vscode_settings(proxy_url), indent=2)
        ) from None
    if not isinstance(current, dict):
        raise TrustError(f"{path}: expected a JSON object")
    current.update(vscode_settings(proxy_url))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=4) + "\n")


def save_record(paths: HomePaths, record: dict[str, Any]) -> None:
    """Remember what was trusted where."""
    trust_record(paths).write_text(json.dumps(record, indent=1) + "\n")


def load_record(paths: HomePaths) -> dict[str, Any]:
    """What an earlier ``trust`` did, or an empty record."""
    try:
        record = json.loads(trust_record(paths).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def is_root() -> bool:
    """Whether this process may write the system store without sudo."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def current_platform() -> str:
    return sys.platform
