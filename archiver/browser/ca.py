"""A certificate authority made for one run, for the proxy's https interception.

The browser talks TLS to the proxy, which must present a certificate for
whatever host a page asks for. A CA key is made when the run starts and
lives only in memory and in a private temporary folder; every host's
certificate is signed by it with one shared leaf key, and the browser is
told to trust exactly that key (Chromium's
``--ignore-certificate-errors-spki-list``), not the CA system-wide. Nothing
outside this run can be intercepted with it.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import shutil
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALID = datetime.timedelta(days=2)


class RunCA:
    """The run's CA, a leaf key, and one TLS server context per host, cached."""

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="archiver-ca-", dir=folder))
        now = datetime.datetime.now(datetime.UTC)
        self._not_before = now - datetime.timedelta(hours=1)
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, "archiver run CA (one run only)")]
        )
        self._name = name
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self._not_before)
            .not_valid_after(now + _VALID)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self._key, hashes.SHA256())
        )
        self._leaf_key = ec.generate_private_key(ec.SECP256R1())
        key_path = self._folder / "leaf.key"
        key_path.write_bytes(
            self._leaf_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_path.chmod(0o600)
        self._key_path = key_path
        self._contexts: dict[str, ssl.SSLContext] = {}

    def close(self) -> None:
        """Remove the key and certificate files (the key lives on in memory only)."""
        shutil.rmtree(self._folder, ignore_errors=True)

    @property
    def spki_hash(self) -> str:
        """base64 SHA-256 of the leaf key's SubjectPublicKeyInfo, as Chromium wants."""
        spki = self._leaf_key.public_key().public_bytes(
            serialization.Encoding.DER,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")

    def ca_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def context_for(self, host: str) -> ssl.SSLContext:
        """A server-side TLS context presenting a certificate for ``host``."""
        found = self._contexts.get(host)
        if found is None:
            found = self._contexts[host] = self._make_context(host)
        return found

    def _make_context(self, host: str) -> ssl.SSLContext:
        literal = host.strip("[]")
        try:
            alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(literal))
        except ValueError:
            alt = x509.DNSName(host)
        cert = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host[:64])])
            )
            .issuer_name(self._name)
            .public_key(self._leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self._not_before)
            .not_valid_after(self._not_before + _VALID)
            .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        chain = self._folder / f"{hashlib.sha256(host.encode()).hexdigest()[:16]}.pem"
        chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + self.ca_pem())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(chain), str(self._key_path))
        # HTTP/1.1 only: the records hold HTTP/1.1 messages, as plain capture's do.
        context.set_alpn_protocols(["http/1.1"])
        return context
