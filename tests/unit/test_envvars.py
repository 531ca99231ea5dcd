"""Shell exports: what each variable is set to, and that real shells read them back intact."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from egress_watch.workstation.envvars import (
    NO_PROXY,
    ProxyEnv,
    render_exports,
    render_unset,
    variables,
)

ENV = ProxyEnv("http://127.0.0.1:8080", "/home/o'neil/ew home/ca-bundle.pem", "/h/ca.pem")


def test_variables_cover_proxies_and_every_runtimes_ca_setting() -> None:
    values = dict(variables(ENV))
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        assert values[name] == "http://127.0.0.1:8080"
    assert values["NO_PROXY"] == values["no_proxy"] == NO_PROXY
    # Variables that replace the trust store get the combined bundle; Node's adds to its own.
    assert values["SSL_CERT_FILE"] == values["REQUESTS_CA_BUNDLE"] == ENV.bundle
    assert values["CURL_CA_BUNDLE"] == ENV.bundle
    assert values["NODE_EXTRA_CA_CERTS"] == ENV.ca_cert


@pytest.mark.parametrize(
    ("shell", "line"),
    [
        ("bash", "export HTTPS_PROXY=http://127.0.0.1:8080;"),
        ("zsh", "export NO_PROXY=localhost,127.0.0.1,::1;"),
        ("fish", "set -gx HTTPS_PROXY http://127.0.0.1:8080;"),
    ],
)
def test_render_uses_each_shells_syntax(shell: str, line: str) -> None:
    assert line in render_exports(ENV, shell).splitlines()


def test_unknown_shell_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown shell 'tcsh'"):
        render_exports(ENV, "tcsh")


READ_BACK = {
    "bash": 'eval "$1"; printf "%s|%s" "$SSL_CERT_FILE" "$HTTPS_PROXY"',
    "zsh": 'eval "$1"; printf "%s|%s" "$SSL_CERT_FILE" "$HTTPS_PROXY"',
    "fish": 'eval $argv[1]; printf "%s|%s" "$SSL_CERT_FILE" "$HTTPS_PROXY"',
}


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_a_real_shell_reads_the_values_back_intact(shell: str) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    args = [shell, "-c", READ_BACK[shell], *(["x"] if shell != "fish" else []),
            render_exports(ENV, shell)]  # fmt: skip
    out = subprocess.run(args, capture_output=True, text=True, timeout=30, check=True).stdout
    assert out == f"{ENV.bundle}|{ENV.proxy_url}"


def test_unset_removes_what_exports_set() -> None:
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    script = 'eval "$1"; eval "$2"; printf "%s" "${SSL_CERT_FILE-unset}${https_proxy-unset}"'
    args = ["bash", "-c", script, "x", render_exports(ENV, "bash"), render_unset("bash")]
    out = subprocess.run(args, capture_output=True, text=True, timeout=30, check=True).stdout
    assert out == "unsetunset"
