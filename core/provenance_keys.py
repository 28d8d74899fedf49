"""Where the platform's signing material comes from: the C2PA certificate chain and key, the roots its
verifier trusts, and the watermark key.

Production names PEM files in settings (refused when missing). Everywhere else, the first run generates a
development CA and a signing certificate under SL_DATA_DIR/c2pa; every later run, and every process sharing
that directory (API, Serve replicas), uses the same ones.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.settings import Settings

DEVELOPMENT_ORGANIZATION = "Style License (development)"
CA_FILE, CHAIN_FILE, KEY_FILE = "development-ca.pem", "signer-chain.pem", "signer-key.pem"


@dataclass(frozen=True)
class ProvenanceKeys:
    certificate_chain_pem: bytes  # the signing certificate first, then its intermediates
    private_key_pem: bytes
    trust_anchors_pem: bytes  # signatures chaining to these verify as "trusted"
    watermark_key: bytes
    timestamp_url: str | None = None


def load_provenance_keys(settings: Settings) -> ProvenanceKeys:
    provenance = settings.provenance
    configured = (provenance.c2pa_certificate_chain_path, provenance.c2pa_private_key_path)
    anchors_path = provenance.c2pa_trust_anchors_path
    if all(configured):
        chain, key = (path.read_bytes() for path in configured)
        anchors = anchors_path.read_bytes() if anchors_path else b""
    elif any(configured):
        raise ValueError("SL_PROVENANCE_C2PA_CERTIFICATE_CHAIN_PATH and _PRIVATE_KEY_PATH go together")
    else:
        directory = ensure_development_certificates(settings.app.data_dir / "c2pa")
        chain, key, anchors = ((directory / name).read_bytes() for name in (CHAIN_FILE, KEY_FILE, CA_FILE))
    return ProvenanceKeys(
        certificate_chain_pem=chain,
        private_key_pem=key,
        trust_anchors_pem=anchors,
        watermark_key=provenance.watermark_key.encode(),
        timestamp_url=provenance.c2pa_timestamp_url,
    )


def ensure_development_certificates(directory: Path) -> Path:
    """Create the development CA and signing certificate in `directory` unless they exist; returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    # Processes starting together (API and replicas) must not each make their own CA.
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (directory / KEY_FILE).exists():
            _write_development_certificates(directory)
    return directory


def _write_development_certificates(directory: Path) -> None:
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Style License Development CA")
    ca = (
        _certificate(ca_name, ca_name, ca_key.public_key(), now, years=10)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(certificates=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer_name = _name("Style License Development Signer")
    signer = (
        _certificate(signer_name, ca_name, signer_key.public_key(), now, years=5)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(certificates=False), critical=True)
        # C2PA accepts signing certificates with this purpose (or document signing).
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    _write(directory / CA_FILE, ca.public_bytes(pem))
    _write(directory / CHAIN_FILE, signer.public_bytes(pem) + ca.public_bytes(pem))
    # Written last: its presence means the set is complete.
    _write(directory / KEY_FILE, signer_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ), private=True)


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEVELOPMENT_ORGANIZATION),
    ])


def _certificate(subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey,
                 now: datetime, *, years: int) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * years))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _key_usage(*, certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not certificates, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=certificates, crl_sign=certificates,
        encipher_only=False, decipher_only=False,
    )


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
