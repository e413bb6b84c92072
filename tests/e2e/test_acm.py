"""ACM through boto3: certificates issued by the local CA, imported ones,
listing, tags, deletion; the issued chain verifies with ``cryptography``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

pytestmark = pytest.mark.e2e


@pytest.fixture
def acm(client: Callable[..., Any]) -> Any:
    return client("acm")


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def self_signed(cn: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn), x509.DNSName("alt." + cn)]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def test_request_describe_get_and_delete(acm: Any) -> None:
    arn = acm.request_certificate(
        DomainName="app.example", SubjectAlternativeNames=["www.app.example"], KeyAlgorithm="EC_prime256v1",
        Tags=[{"Key": "env", "Value": "dev"}],
    )["CertificateArn"]  # fmt: skip
    acm.get_waiter("certificate_validated").wait(CertificateArn=arn, WaiterConfig={"Delay": 1})
    cert = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert (cert["Status"], cert["Type"], cert["KeyAlgorithm"]) == ("ISSUED", "AMAZON_ISSUED", "EC_prime256v1")
    assert cert["SubjectAlternativeNames"] == ["app.example", "www.app.example"]
    assert {v["ValidationStatus"] for v in cert["DomainValidationOptions"]} == {"SUCCESS"}
    assert cert["DomainValidationOptions"][0]["ResourceRecord"]["Type"] == "CNAME"
    assert cert["NotAfter"] - cert["NotBefore"] > dt.timedelta(days=390)
    pem = acm.get_certificate(CertificateArn=arn)
    leaf = x509.load_pem_x509_certificate(pem["Certificate"].encode())
    ca = x509.load_pem_x509_certificate(pem["CertificateChain"].encode())
    leaf.verify_directly_issued_by(ca)  # raises if the chain does not hold
    assert leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName
    ) == ["app.example", "www.app.example"]
    assert acm.list_tags_for_certificate(CertificateArn=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]
    acm.add_tags_to_certificate(CertificateArn=arn, Tags=[{"Key": "team", "Value": "web"}])
    acm.remove_tags_from_certificate(CertificateArn=arn, Tags=[{"Key": "env"}])
    assert acm.list_tags_for_certificate(CertificateArn=arn)["Tags"] == [{"Key": "team", "Value": "web"}]
    listed = [c["CertificateArn"] for c in acm.list_certificates(CertificateStatuses=["ISSUED"])["CertificateSummaryList"]]
    assert arn in listed
    assert arn not in [c["CertificateArn"] for c in acm.list_certificates(CertificateStatuses=["EXPIRED"])["CertificateSummaryList"]]
    acm.delete_certificate(CertificateArn=arn)
    with pytest.raises(ClientError) as exc:
        acm.describe_certificate(CertificateArn=arn)
    assert code(exc) == "ResourceNotFoundException"


def test_import_and_reimport(acm: Any) -> None:
    cert_pem, key_pem = self_signed("imported.example")
    arn = acm.import_certificate(Certificate=cert_pem, PrivateKey=key_pem)["CertificateArn"]
    got = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert (got["Type"], got["Status"], got["DomainName"]) == ("IMPORTED", "ISSUED", "imported.example")
    assert got["SubjectAlternativeNames"] == ["imported.example", "alt.imported.example"]
    assert acm.get_certificate(CertificateArn=arn)["Certificate"].strip() == cert_pem.decode().strip()
    other_cert, other_key = self_signed("other.example")
    with pytest.raises(ClientError) as exc:
        acm.import_certificate(Certificate=cert_pem, PrivateKey=other_key)
    assert code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        acm.import_certificate(Certificate=b"not a certificate", PrivateKey=key_pem)
    assert code(exc) == "ValidationException"
    again = acm.import_certificate(CertificateArn=arn, Certificate=other_cert, PrivateKey=other_key)["CertificateArn"]
    assert again == arn
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["DomainName"] == "other.example"
    acm.delete_certificate(CertificateArn=arn)
