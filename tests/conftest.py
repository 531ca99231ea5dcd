"""Shared fixtures: a private data home per test, and no network beyond loopback."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path
from typing import Any

import pytest

from egress_watch.classify import kingfisher
from egress_watch.classify.kingfisher import CACHE_ENV as RULE_CACHE_ENV
from egress_watch.classify.proprietary.shared import CACHE_ENV
from egress_watch.classify.proprietary.sources import BACKGROUND_ENV, python_stdlib
from egress_watch.paths import HOME_ENV, HomePaths


@pytest.fixture(scope="session")
def rule_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One private cache of kingfisher's compiled rules for every test process, across runs:
    compiling takes seconds, loading a fraction of one. Filled here, before any test starts a
    proxy process that would otherwise compile within its start-up deadline."""
    path = tmp_path_factory.getbasetemp().parent / "egress-watch-rule-cache"
    kingfisher._compile(path)
    return path


TEST_BACKGROUND = os.pathsep.join(
    str(python_stdlib() / name) for name in ("json", "email", "unittest")
)


@pytest.fixture(autouse=True)
def ew_home(
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    rule_cache: Path,
) -> HomePaths:
    """Every test gets its own data home, so nothing touches the real user's history; the
    machine-wide caches (kingfisher's compiled rules, public-code backgrounds) are shared by the
    tests of one run only. The background built on a first ``index add`` is three packages of
    the Python stdlib (1 MB, under a second), not every public code installed (84 MB, most of
    a minute): tests that need more name their public code."""
    home = tmp_path / "ew-home"
    monkeypatch.setenv(HOME_ENV, str(home))
    monkeypatch.setenv(RULE_CACHE_ENV, str(rule_cache))
    monkeypatch.setenv(CACHE_ENV, str(tmp_path_factory.getbasetemp() / "ew-cache"))
    monkeypatch.setenv(BACKGROUND_ENV, TEST_BACKGROUND)
    return HomePaths(home)


def _is_loopback(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True  # unix sockets
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that tries to reach a non-loopback address from this process."""
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: Any) -> None:
        if not _is_loopback(address):
            raise RuntimeError(f"test tried to reach {address!r}: only loopback is allowed")
        real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


def fake_aws_key_id() -> str:
    """A syntactically valid AWS access key id that is not the documented example."""
    return "AKIA" + "Q3EX" + "T7PL" + "N2ZR" + "W5YB"


def fake_aws_secret() -> str:
    """Forty characters of the AWS secret-key alphabet, assembled so the repo holds no key."""
    return "kQ9" + "xR2mV" + "7tLp4Zw8" + "Nc1Hs6Jd" + "3Fg5Ky0Bu" + "Ae" + "/Wq4Y"
