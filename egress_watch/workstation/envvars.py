"""Proxy and CA variables for a shell profile, rendered for bash, zsh or fish (pure)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

SHELLS = ("bash", "zsh", "fish")
NO_PROXY = "localhost,127.0.0.1,::1"


@dataclass(frozen=True, slots=True)
class ProxyEnv:
    """What a client needs to go through egress-watch and trust its CA."""

    proxy_url: str
    bundle: str
    """System CAs + ours: for variables that *replace* the trust store."""
    ca_cert: str
    """Our CA alone: for NODE_EXTRA_CA_CERTS, which *adds* to Node's bundled roots."""


def variables(env: ProxyEnv) -> list[tuple[str, str]]:
    """Every variable, in the order a profile shows them; lower-case twins for curl and wget."""
    return [
        ("HTTPS_PROXY", env.proxy_url),
        ("https_proxy", env.proxy_url),
        ("HTTP_PROXY", env.proxy_url),
        ("http_proxy", env.proxy_url),
        ("NO_PROXY", NO_PROXY),
        ("no_proxy", NO_PROXY),
        ("SSL_CERT_FILE", env.bundle),
        ("REQUESTS_CA_BUNDLE", env.bundle),
        ("CURL_CA_BUNDLE", env.bundle),
        ("NODE_EXTRA_CA_CERTS", env.ca_cert),
        # Node >= 24 honours HTTP(S)_PROXY for fetch and https only with this set.
        ("NODE_USE_ENV_PROXY", "1"),
    ]


def render_exports(env: ProxyEnv, shell: str) -> str:
    """Lines to ``eval`` or paste into a profile for ``shell``."""
    if shell not in SHELLS:
        raise ValueError(f"unknown shell {shell!r} (known: {', '.join(SHELLS)})")
    header = "# egress-watch: send tools through the local proxy and trust its CA\n"
    if shell == "fish":
        lines = [f"set -gx {name} {shlex.quote(value)};" for name, value in variables(env)]
    else:
        lines = [f"export {name}={shlex.quote(value)};" for name, value in variables(env)]
    return header + "\n".join(lines) + "\n"


def render_unset(shell: str) -> str:
    """Lines that undo ``render_exports`` in the current shell."""
    names = [name for name, _ in variables(ProxyEnv("", "", ""))]
    if shell == "fish":
        return "".join(f"set -e {name};\n" for name in names)
    return f"unset {' '.join(names)};\n"
