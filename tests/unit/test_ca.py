"""The name-constrained CA: which domains it may sign for, and when it is regenerated."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509

from egress_watch.catalog.services import Catalog, Service, builtin_catalog
from egress_watch.workstation.ca import (
    CANARY_HOST,
    CaFiles,
    broadened,
    build_ca,
    ca_domains,
    ensure_ca,
    needs_new_ca,
    stored_domains,
)

NOW = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)


def catalog(*hosts: str) -> Catalog:
    return Catalog((Service("x", "X", tuple(hosts), "generic-json"),))


@pytest.mark.parametrize(
    ("hosts", "extra", "expected"),
    [
        (("api.openai.com", "*.api.openai.com"), (), ("api.openai.com", CANARY_HOST)),
        (("*.githubcopilot.com", "api.githubcopilot.com"), (), ("githubcopilot.com", CANARY_HOST)),
        (
            ("API.Example.COM.",),
            ("llm.corp.test",),
            ("api.example.com", CANARY_HOST, "llm.corp.test"),
        ),
    ],
)
def test_ca_domains_strip_wildcards_and_drop_covered_names(
    hosts: tuple[str, ...], extra: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    assert ca_domains(catalog(*hosts), extra) == tuple(sorted(expected))


def test_the_builtin_catalog_hosts_are_all_covered() -> None:
    domains = ca_domains(builtin_catalog())
    for service in builtin_catalog().services:
        for pattern in service.hosts:
            host = pattern.removeprefix("*.")
            assert any(host == d or host.endswith("." + d) for d in domains), host


def test_constraints_are_critical_dns_only_and_exclude_every_ip() -> None:
    _, cert = build_ca(("api.openai.com",), NOW)
    ext = cert.extensions.get_extension_for_class(x509.NameConstraints)
    assert ext.critical
    assert ext.value.permitted_subtrees == [x509.DNSName("api.openai.com")]
    assert set(ext.value.excluded_subtrees or []) == {
        x509.IPAddress(ipaddress.ip_network("0.0.0.0/0")),
        x509.IPAddress(ipaddress.ip_network("::/0")),
    }
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic.ca
    assert basic.path_length == 0


def test_ensure_ca_keeps_the_ca_until_the_domain_set_changes(tmp_path: Path) -> None:
    confdir = tmp_path / "mitmproxy"
    files = CaFiles(confdir)
    assert ensure_ca(confdir, ("a.test",), NOW) == "no CA yet"
    first = files.cert.read_bytes()
    assert files.key_and_cert.stat().st_mode & 0o777 == 0o600
    assert confdir.stat().st_mode & 0o777 == 0o700
    assert stored_domains(files) == ("a.test",)
    assert ensure_ca(confdir, ("a.test",), NOW) is None
    assert files.cert.read_bytes() == first
    assert ensure_ca(confdir, ("a.test", "b.test"), NOW) == "the service catalog's domains changed"
    assert files.cert.read_bytes() != first
    assert stored_domains(files) == ("a.test", "b.test")


def test_a_foreign_ca_is_replaced_and_an_expiring_one_renewed(tmp_path: Path) -> None:
    files = CaFiles(tmp_path)
    ensure_ca(tmp_path, ("a.test",), NOW)
    files.meta.unlink()  # as after mitmproxy created its own, unconstrained CA
    assert (
        needs_new_ca(files, ("a.test",), NOW) == "the CA is not egress-watch's name-constrained CA"
    )
    ensure_ca(tmp_path, ("a.test",), NOW)
    later = NOW + dt.timedelta(days=3 * 365 - 100)
    assert needs_new_ca(files, ("a.test",), later) == "the CA expires soon"


def test_a_wildcard_inside_a_pattern_widens_to_the_suffix_and_is_reported() -> None:
    bedrock = catalog("bedrock-runtime.*.amazonaws.com", "api.openai.com")
    assert ca_domains(bedrock) == ("amazonaws.com", "api.openai.com", CANARY_HOST)
    assert broadened(bedrock) == [("bedrock-runtime.*.amazonaws.com", "amazonaws.com")]
    assert broadened(catalog("*.api.openai.com")) == []


def test_a_partial_label_wildcard_widens_too() -> None:
    vertex = catalog("*-aiplatform.googleapis.com")
    assert ca_domains(vertex) == (CANARY_HOST, "googleapis.com")
    assert broadened(vertex) == [("*-aiplatform.googleapis.com", "googleapis.com")]
