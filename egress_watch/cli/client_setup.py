"""What the set-up commands share: the proxy address clients should use, and the CA paths."""

from __future__ import annotations

from egress_watch.config.settings import load_settings
from egress_watch.paths import HomePaths
from egress_watch.workstation.envvars import ProxyEnv


def proxy_url(paths: HomePaths) -> str:
    """The running daemon's address, else the configured one."""
    from egress_watch.capture import daemon

    info = daemon.status(paths)
    if info["running"]:
        return f"http://{info['listen_host']}:{info['listen_port']}"
    settings = load_settings(paths.config)
    return f"http://{settings.listen_host}:{settings.listen_port}"


def proxy_env(paths: HomePaths) -> ProxyEnv:
    """Proxy URL, combined bundle and our CA certificate for this data home."""
    from egress_watch.workstation.trust import bundle_path

    return ProxyEnv(proxy_url(paths), str(bundle_path(paths)), str(paths.ca_cert))
