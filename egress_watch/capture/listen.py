"""Where the proxy may listen: loopback by default; beyond it only when asked, and said aloud
(pure)."""

from __future__ import annotations

import ipaddress

from egress_watch.errors import ConfigError


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_listen_host(host: str, allow_remote: bool) -> None:
    """Refuse a non-loopback address unless the user allowed it explicitly."""
    if not is_loopback(host) and not allow_remote:
        raise ConfigError(
            f"proxy.listen_host: {host} is reachable from other machines; egress-watch listens "
            "on loopback only unless you pass --allow-remote (or set allow_remote = true under "
            "[proxy] in config.toml)"
        )


def remote_warning(host: str, port: int) -> str | None:
    """What listening on ``host`` exposes, or None on loopback."""
    if is_loopback(host):
        return None
    return (
        f"warning: egress-watch listens on {host}:{port}, beyond this machine: anyone who can "
        "reach that address can relay their traffic through this machine and its network, and "
        "their requests to AI services are decrypted with your CA and recorded in your history"
    )
