"""Our own certificate authority, name-constrained to the AI services egress-watch decrypts.

mitmproxy's default CA can sign for any site, so its stolen key would expose all of the user's
TLS. Ours carries a critical X.509 Name Constraints extension: it may only sign for the catalog's
domains (and the doctor's canary host under the reserved ``.invalid`` TLD), never for an IP
address. It is written in mitmproxy's confdir format so the proxy uses it as is, and it is
regenerated whenever the catalog's domain set changes (the set is stored next to it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from egress_watch.catalog.services import Catalog
from egress_watch.paths import make_private_dirs

CA_COMMON_NAME = "egress-watch local CA (AI services only)"
CA_ORGANIZATION = "egress-watch"
CANARY_HOST = "canary.egress-watch.invalid"
"""The doctor's canary host: ``.invalid`` never resolves (RFC 2606), so it is no real site."""
CA_LIFETIME = dt.timedelta(days=3 * 365)
RENEW_BEFORE = dt.timedelta(days=200)
"""Longer than mitmproxy's leaf lifetime (199 days), so no leaf outlives the CA."""
KEY_BITS = 2048
BASENAME = "mitmproxy"
META_NAME = "egress-watch-ca.json"
STALE_FILES = ("mitmproxy-ca.p12", "mitmproxy-ca-cert.p12")


@dataclass(frozen=True, slots=True)
class CaFiles:
    """The files of the CA inside mitmproxy's confdir."""

    confdir: Path

    @property
    def key_and_cert(self) -> Path:
        """Private key + certificate: what mitmproxy's ``CertStore.from_store`` loads."""
        return self.confdir / f"{BASENAME}-ca.pem"

    @property
    def cert(self) -> Path:
        return self.confdir / f"{BASENAME}-ca-cert.pem"

    @property
    def cert_cer(self) -> Path:
        return self.confdir / f"{BASENAME}-ca-cert.cer"

    @property
    def meta(self) -> Path:
        return self.confdir / META_NAME


def constraint_subtree(pattern: str) -> str:
    """The DNS subtree that covers a catalog host pattern.

    ``*.api.openai.com`` -> ``api.openai.com``. The built-in catalog lists cloud regions
    explicitly (``bedrock-runtime.{aws}.amazonaws.com``), so each host is its own subtree. A
    wildcard inside a name, which only a config.toml entry can still hold, cannot be expressed
    as a name constraint: it widens to the labels after the last wildcard; ``broadened`` lists
    those cases so ``trust`` can name them.
    """
    labels = pattern.lower().rstrip(".").split(".")
    wild = [i for i, label in enumerate(labels) if "*" in label]
    return ".".join(labels[wild[-1] + 1 :]) if wild else ".".join(labels)


def broadened(catalog: Catalog) -> list[tuple[str, str]]:
    """(pattern, subtree) where the constraint is wider than the pattern's own subdomains."""
    return [
        (p, constraint_subtree(p))
        for s in catalog.services
        for p in s.hosts
        if "*" in (p[2:] if p.startswith("*.") else p)
    ]


def ca_domains(catalog: Catalog, extra_hosts: Iterable[str] = ()) -> tuple[str, ...]:
    """The DNS subtrees the CA may sign for: every catalog host pattern's subtree, deduplicated.

    A DNS name constraint ``api.openai.com`` covers that host and all its subdomains, so a
    domain already covered by another one in the set is dropped.
    """
    patterns = [p for s in catalog.services for p in s.hosts] + list(extra_hosts)
    names = {constraint_subtree(p) for p in patterns} | {CANARY_HOST}
    names.discard("")
    kept = {n for n in names if not any(n.endswith("." + other) for other in names)}
    return tuple(sorted(kept))


def name_constraints(domains: Iterable[str]) -> x509.NameConstraints:
    """Permit only these DNS subtrees; exclude every IPv4 and IPv6 address."""
    permitted: list[x509.GeneralName] = [x509.DNSName(d) for d in domains]
    excluded: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_network("0.0.0.0/0")),
        x509.IPAddress(ipaddress.ip_network("::/0")),
    ]
    return x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=excluded)


def build_ca(
    domains: Iterable[str], now: dt.datetime, key: rsa.RSAPrivateKey | None = None
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A self-signed CA that may sign server certificates for ``domains`` only."""
    domains = tuple(domains)
    if not domains:
        raise ValueError("a name-constrained CA needs at least one domain")
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, CA_ORGANIZATION),
        ]
    )
    usage = x509.KeyUsage(
        digital_signature=False, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=2))
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(name_constraints(domains), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def cert_fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, as ``openssl x509 -fingerprint -sha256`` shows it."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def load_ca_cert(files: CaFiles) -> x509.Certificate | None:
    """The CA certificate in the confdir, or None if it is missing or unreadable."""
    try:
        return x509.load_pem_x509_certificate(files.cert.read_bytes())
    except (OSError, ValueError):
        return None


def stored_domains(files: CaFiles) -> tuple[str, ...] | None:
    """The domain set the current CA was made for, or None (no CA of ours, e.g. mitmproxy's)."""
    try:
        meta = json.loads(files.meta.read_text())
        return tuple(meta["domains"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def needs_new_ca(files: CaFiles, domains: tuple[str, ...], now: dt.datetime) -> str | None:
    """Why the CA must be (re)generated, or None when the current one fits."""
    cert = load_ca_cert(files)
    if cert is None or not files.key_and_cert.exists():
        return "no CA yet"
    if stored_domains(files) is None:
        return "the CA is not egress-watch's name-constrained CA"
    if stored_domains(files) != domains:
        return "the service catalog's domains changed"
    if cert.not_valid_after_utc - now < RENEW_BEFORE:
        return "the CA expires soon"
    return None


def _write(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path`` atomically, created with ``mode`` from the first byte on."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    tmp.replace(path)


def write_ca(
    files: CaFiles, key: rsa.RSAPrivateKey, cert: x509.Certificate, domains: tuple[str, ...]
) -> None:
    """Write key+cert (0600), the public cert, and the domain set, in mitmproxy's layout."""
    make_private_dirs(files.confdir)
    os.chmod(files.confdir, 0o700)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    _write(files.key_and_cert, key_pem + cert_pem, 0o600)
    _write(files.cert, cert_pem, 0o644)
    _write(files.cert_cer, cert_pem, 0o644)
    for stale in STALE_FILES:  # mitmproxy's PKCS12 copies of an earlier CA would mislead
        (files.confdir / stale).unlink(missing_ok=True)
    meta = {"domains": list(domains), "sha256": cert_fingerprint(cert)}
    _write(files.meta, json.dumps(meta, indent=1).encode(), 0o644)


def ensure_ca(
    confdir: Path, domains: tuple[str, ...], now: dt.datetime | None = None
) -> str | None:
    """Create or renew the CA when needed; returns why it was (re)generated, or None."""
    files = CaFiles(confdir)
    now = now or dt.datetime.now(dt.UTC)
    reason = needs_new_ca(files, domains, now)
    if reason is not None:
        key, cert = build_ca(domains, now)
        write_ca(files, key, cert, domains)
    return reason
