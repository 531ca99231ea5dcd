"""The running proxy signs with our name-constrained CA, and only for catalog hosts."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest
from cryptography import x509

from egress_watch.paths import HomePaths
from egress_watch.workstation.ca import CA_COMMON_NAME, CaFiles, stored_domains
from tests.integration.conftest import RunningProxy
from tests.support.servers import CA_COMMON_NAME as UPSTREAM_CA_NAME

pytestmark = pytest.mark.slow


def served_certificate(proxy: RunningProxy, host: str, context: ssl.SSLContext) -> x509.Certificate:
    """CONNECT through the proxy and complete a TLS handshake for ``host``; return the leaf."""
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=20) as raw:
        raw.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = raw.recv(4096)
            assert chunk, "proxy closed the CONNECT"
            head += chunk
        assert head.startswith(b"HTTP/1.1 200"), head
        with context.wrap_socket(raw, server_hostname=host) as tls:
            der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def common_name(name: x509.Name) -> str:
    return str(name.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value)


def test_catalog_host_gets_a_leaf_from_our_constrained_ca(
    running_proxy: RunningProxy, ew_home: HomePaths
) -> None:
    assert stored_domains(CaFiles(ew_home.confdir)) is not None  # the daemon made our CA
    leaf = served_certificate(running_proxy, "api.openai.com", running_proxy.client_ssl_context())
    assert common_name(leaf.issuer) == CA_COMMON_NAME
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["api.openai.com"]
    assert sans.get_values_for_type(x509.IPAddress) == []


def test_other_hosts_are_passed_through_with_the_real_certificate(
    running_proxy: RunningProxy,
) -> None:
    context = ssl.create_default_context(cafile=running_proxy.test_ca.cert_path)
    leaf = served_certificate(running_proxy, "example.org", context)
    assert common_name(leaf.issuer) == UPSTREAM_CA_NAME


def test_an_old_unconstrained_ca_is_replaced_at_start(
    tmp_path: Path, test_ca, ew_home: HomePaths
) -> None:
    from mitmproxy.certs import CertStore

    from tests.integration.conftest import start_proxy

    CertStore.create_store(ew_home.confdir, "mitmproxy", 2048)  # what mitmproxy itself makes
    with start_proxy(tmp_path, test_ca, ew_home) as proxy:
        leaf = served_certificate(proxy, "api.anthropic.com", proxy.client_ssl_context())
    assert common_name(leaf.issuer) == CA_COMMON_NAME
    assert not (ew_home.confdir / "mitmproxy-ca.p12").exists()
