"""Certificates for ACM: a local CA, issuing leaf certificates, reading
imported ones.  Uses the ``cryptography`` package; no I/O, no clock (``now``
comes in as epoch seconds).

* The local CA ("Gureum Local CA") is one per account, made on first use and
  kept in the store by the caller.  Trust its certificate (``GetCertificate``
  returns it as ``CertificateChain``) and every certificate Gureum issues
  verifies.
* Issued certificates last 395 days, like ACM's (13 months) (valid from 30
  days back: see ``BACKDATE``), carry the
  domain and every alternative name as DNS SANs, and use the requested key
  algorithm (``RSA_2048`` by default, as ACM; ``EC_prime256v1``,
  ``EC_secp384r1``).
* :func:`inspect` reads an imported certificate and checks that its private
  key matches.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 395
CA_VALID_DAYS = 3650
# Certificates are valid from this long before "now": Gureum's clock may run
# ahead of the wall clock (--time-scale), and real TLS clients check validity
# against the wall clock.
BACKDATE = 30 * 86400
KEY_ALGORITHMS = ("RSA_2048", "EC_prime256v1", "EC_secp384r1")

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class CertificateError(ValueError):
    """A certificate or key cannot be read or does not match."""


@dataclass(frozen=True, slots=True)
class Issued:
    certificate: str  # PEM
    private_key: str  # PEM (PKCS#8, unencrypted)


@dataclass(frozen=True, slots=True)
class Info:
    domain: str
    alt_names: list[str]
    serial: str
    subject: str
    issuer: str
    not_before: float
    not_after: float
    key_algorithm: str
    signature_algorithm: str


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def new_key(algorithm: str) -> PrivateKey:
    if algorithm == "RSA_2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "EC_prime256v1":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "EC_secp384r1":
        return ec.generate_private_key(ec.SECP384R1())
    raise CertificateError(f"Key algorithm {algorithm} is not supported")


def key_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def make_ca(account: str, now: float) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Gureum"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Gureum Local CA {account}"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_utc(now - BACKDATE))
        .not_valid_after(_utc(now + CA_VALID_DAYS * 86400))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),  # fmt: skip
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert_pem(cert), key_pem(key))


def issue(ca: Issued, domain: str, alt_names: list[str], algorithm: str, now: float) -> Issued:
    """A leaf certificate for ``domain`` (+ ``alt_names``) signed by ``ca``."""
    ca_cert = x509.load_pem_x509_certificate(ca.certificate.encode())
    ca_key = serialization.load_pem_private_key(ca.private_key.encode(), None)
    key = new_key(algorithm)
    names = list(dict.fromkeys([domain, *alt_names]))
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain[:64])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_utc(now - BACKDATE))
        .not_valid_after(_utc(now + VALID_DAYS * 86400))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    cert = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    return Issued(cert_pem(cert), key_pem(key))


def _key_algorithm(key: object) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA_{key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"secp256r1": "EC_prime256v1", "secp384r1": "EC_secp384r1", "secp521r1": "EC_secp521r1"}.get(
            key.curve.name, "EC_" + key.curve.name
        )
    raise CertificateError("The certificate's key type is not supported")


def _pem_cert(data: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise CertificateError("The certificate field contains more than one certificate or is not PEM") from exc


def inspect(cert_data: bytes, key_data: bytes | None = None) -> Info:
    """What an imported certificate says; checks ``key_data`` matches it."""
    cert = _pem_cert(cert_data)
    if key_data is not None:
        try:
            key = serialization.load_pem_private_key(key_data, None)
        except (ValueError, TypeError) as exc:
            raise CertificateError("The private key is not supported or is encrypted") from exc
        pub = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        mine = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if pub != mine:
            raise CertificateError("The private key does not match the certificate")
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName
        )
    except x509.ExtensionNotFound:
        sans = []
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    domain = str(cns[0].value) if cns else (sans[0] if sans else "")
    algo = cert.signature_hash_algorithm
    sig = f"{algo.name.upper() if algo else 'NONE'}WITH{'RSA' if isinstance(cert.public_key(), rsa.RSAPublicKey) else 'ECDSA'}"
    return Info(
        domain=domain,
        alt_names=list(dict.fromkeys([domain, *sans])) if domain else list(sans),
        serial=":".join(f"{b:02x}" for b in cert.serial_number.to_bytes(20, "big").lstrip(b"\0")),
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc.timestamp(),
        not_after=cert.not_valid_after_utc.timestamp(),
        key_algorithm=_key_algorithm(cert.public_key()),
        signature_algorithm=sig,
    )
