"""The CA really is constrained: OpenSSL and Python's ssl accept catalog hosts, reject the rest."""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from egress_watch.workstation.ca import build_ca

NOW = dt.datetime.now(dt.UTC)


def leaf(
    ca_key: rsa.RSAPrivateKey, ca: x509.Certificate, names: list[x509.GeneralName], cn: str
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A server certificate as mitmproxy makes one: CN plus SANs, signed by ``ca``."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


@pytest.fixture(scope="module")
def ca() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    return build_ca(("api.anthropic.com", "api.openai.com"), NOW)


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


DNS = x509.DNSName
ACCEPTED = {
    "exact catalog host": ([DNS("api.openai.com")], "api.openai.com"),
    "subdomain of a catalog host": ([DNS("eu.api.openai.com")], "eu.api.openai.com"),
    "another catalog service": ([DNS("api.anthropic.com")], "api.anthropic.com"),
}
REJECTED = {
    "another domain": ([DNS("www.example.com")], "www.example.com"),
    "a look-alike suffix": ([DNS("evilapi.openai.com")], "evilapi.openai.com"),
    "a parent of a catalog host": ([DNS("openai.com")], "openai.com"),
    "a catalog SAN next to a foreign one": (
        [DNS("api.openai.com"), DNS("mail.example.com")],
        "api.openai.com",
    ),
    "an IP address SAN": (
        [DNS("api.openai.com"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
        "api.openai.com",
    ),
}


def openssl_verify(tmp_path: Path, ca_cert: x509.Certificate, cert: x509.Certificate) -> str:
    (tmp_path / "ca.pem").write_bytes(pem(ca_cert))
    (tmp_path / "leaf.pem").write_bytes(pem(cert))
    result = subprocess.run(
        ["openssl", "verify", "-purpose", "sslserver", "-CAfile", str(tmp_path / "ca.pem"),
         str(tmp_path / "leaf.pem")],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return result.stdout + result.stderr


needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl CLI")


@needs_openssl
@pytest.mark.parametrize("case", ACCEPTED)
def test_openssl_accepts_catalog_hosts(tmp_path: Path, ca: tuple, case: str) -> None:
    names, cn = ACCEPTED[case]
    _, cert = leaf(*ca, names, cn)
    assert openssl_verify(tmp_path, ca[1], cert).strip().endswith(": OK")


@needs_openssl
@pytest.mark.parametrize("case", REJECTED)
def test_openssl_rejects_everything_else(tmp_path: Path, ca: tuple, case: str) -> None:
    names, cn = REJECTED[case]
    _, cert = leaf(*ca, names, cn)
    output = openssl_verify(tmp_path, ca[1], cert)
    assert "subtree violation" in output or "excluded subtree" in output, output


def handshake(tmp_path: Path, ca: tuple, names: list[x509.GeneralName], host: str) -> None:
    """A real TLS handshake on loopback: server presents the leaf, client trusts only our CA."""
    key, cert = leaf(*ca, names, host)
    (tmp_path / "server.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()) + pem(cert)
    )  # fmt: skip
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(tmp_path / "server.pem")
    client_ctx = ssl.create_default_context(cadata=pem(ca[1]).decode())
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def serve() -> None:
            conn, _ = listener.accept()
            try:
                with server_ctx.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

        server = threading.Thread(target=serve, daemon=True)
        server.start()
        try:
            with (
                socket.create_connection(listener.getsockname(), timeout=10) as raw,
                client_ctx.wrap_socket(raw, server_hostname=host),
            ):
                pass
        finally:
            server.join(timeout=10)


@pytest.mark.parametrize("case", ACCEPTED)
def test_python_ssl_accepts_catalog_hosts(tmp_path: Path, ca: tuple, case: str) -> None:
    names, host = ACCEPTED[case]
    handshake(tmp_path, ca, names, host)


@pytest.mark.parametrize("case", REJECTED)
def test_python_ssl_rejects_everything_else(tmp_path: Path, ca: tuple, case: str) -> None:
    names, host = REJECTED[case]
    with pytest.raises(ssl.SSLCertVerificationError, match="subtree violation"):
        handshake(tmp_path, ca, names, host)
