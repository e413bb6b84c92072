"""ACM handlers: request (issued locally), import, describe, list, get,
delete, tags — enough for HTTPS listeners.

``RequestCertificate`` issues at once from the account's local CA (see
:mod:`certs`): the domain validation is taken as done, so the certificate is
``ISSUED`` with every ``DomainValidationOptions`` entry ``SUCCESS`` (boto3's
``certificate_validated`` waiter passes on the first call).  Trust the CA
that ``GetCertificate`` returns as ``CertificateChain``.

A certificate used by a load balancer listener (a store document of kind
``elbv2.listener`` naming it) cannot be deleted (``ResourceInUseException``).
Private keys are kept in the store in PEM, unencrypted: this is a local tool.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from gureum.core.errors import ServiceError
from gureum.core.store import Scope
from gureum.services.acm import certs
from gureum.services.acm.public import CA, CERT, cert_id
from gureum.services.api import RequestContext, ServiceApi

api = ServiceApi("acm")

MAX_TAGS = 50


def _arn(ctx: RequestContext, cid: str) -> str:
    return f"arn:aws:acm:{ctx.region}:{ctx.account}:certificate/{cid}"


def _load(ctx: RequestContext, arn: str) -> tuple[str, dict[str, Any]]:
    cid = cert_id(ctx.scope, arn)
    if cid is None:
        if not arn.startswith("arn:"):
            raise ServiceError("InvalidArnException", f"String '{arn}' is not a valid ARN")
        raise ServiceError("ResourceNotFoundException", f"Could not find certificate {arn}.")
    doc = ctx.store.get(CERT, ctx.scope, cid)
    if doc is None:
        raise ServiceError("ResourceNotFoundException", f"Could not find certificate {arn}.")
    return cid, doc


def _local_ca(ctx: RequestContext) -> certs.Issued:
    scope = Scope(ctx.account, "")
    doc = ctx.store.get(CA, scope, "local")
    if doc is None:
        made = certs.make_ca(ctx.account, ctx.clock.now())
        ctx.store.insert(CA, scope, "local", {"certificate": made.certificate, "privateKey": made.private_key})
        doc = ctx.store.get(CA, scope, "local")
        assert doc is not None
    return certs.Issued(doc["certificate"], doc["privateKey"])


def _tags(raw: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    tags = [{"Key": t["Key"], "Value": t.get("Value", "")} for t in raw or []]
    if len(tags) > MAX_TAGS:
        raise ServiceError("TooManyTagsException", "the request contains too many tags")
    return tags


def _info_fields(info: certs.Info) -> dict[str, Any]:
    return {
        "DomainName": info.domain,
        "SubjectAlternativeNames": info.alt_names,
        "Serial": info.serial,
        "Subject": info.subject,
        "Issuer": info.issuer,
        "NotBefore": info.not_before,
        "NotAfter": info.not_after,
        "KeyAlgorithm": info.key_algorithm,
        "SignatureAlgorithm": info.signature_algorithm,
    }


@api.operation("RequestCertificate")
async def request_certificate(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    domain = req["DomainName"]
    sans = list(req.get("SubjectAlternativeNames") or [])
    algorithm = req.get("KeyAlgorithm") or "RSA_2048"
    if algorithm not in certs.KEY_ALGORITHMS:
        raise ServiceError("ValidationException", f"Key algorithm {algorithm} is not supported")
    token = req.get("IdempotencyToken")
    if token:
        for _, known in ctx.store.list(CERT, ctx.scope):
            if known.get("_token") == token and known.get("DomainName") == domain:
                return {"CertificateArn": known["CertificateArn"]}
    ca = _local_ca(ctx)
    now = ctx.clock.now()
    issued = await asyncio.to_thread(certs.issue, ca, domain, sans, algorithm, now)
    info = certs.inspect(issued.certificate.encode())
    cid = str(uuid.uuid4())
    method = req.get("ValidationMethod") or "DNS"
    doc: dict[str, Any] = {
        "CertificateArn": _arn(ctx, cid),
        **_info_fields(info),
        "DomainValidationOptions": [_validation(n, method) for n in info.alt_names],
        "CreatedAt": now,
        "IssuedAt": now,
        "Status": "ISSUED",
        "Type": "AMAZON_ISSUED",
        "InUseBy": [],
        "RenewalEligibility": "INELIGIBLE",
        "KeyUsages": [{"Name": "DIGITAL_SIGNATURE"}, {"Name": "KEY_ENCIPHERMENT"}],
        "ExtendedKeyUsages": [
            {"Name": "TLS_WEB_SERVER_AUTHENTICATION", "OID": "1.3.6.1.5.5.7.3.1"},
            {"Name": "TLS_WEB_CLIENT_AUTHENTICATION", "OID": "1.3.6.1.5.5.7.3.2"},
        ],
        "Options": req.get("Options") or {"CertificateTransparencyLoggingPreference": "ENABLED"},
        "_certificate": issued.certificate,
        "_chain": ca.certificate,
        "_privateKey": issued.private_key,
        "_tags": _tags(req.get("Tags")),
        "_token": token,
    }
    ctx.store.put(CERT, ctx.scope, cid, doc)
    return {"CertificateArn": doc["CertificateArn"]}


def _validation(name: str, method: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "DomainName": name,
        "ValidationDomain": name,
        "ValidationStatus": "SUCCESS",
        "ValidationMethod": method,
    }
    if method == "DNS":
        token = uuid.uuid5(uuid.NAMESPACE_DNS, name).hex
        out["ResourceRecord"] = {
            "Name": f"_{token[:32]}.{name.lstrip('*.')}.",
            "Type": "CNAME",
            "Value": f"_{token[::-1][:32]}.acm-validations.localhost.",
        }
    return out


@api.operation("ImportCertificate")
def import_certificate(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    cert_data, key_data = req["Certificate"], req["PrivateKey"]
    try:
        info = certs.inspect(cert_data, key_data)
    except certs.CertificateError as exc:
        raise ServiceError("ValidationException", str(exc)) from None
    now = ctx.clock.now()
    if req.get("CertificateArn"):
        cid, doc = _load(ctx, req["CertificateArn"])
        if doc.get("Type") != "IMPORTED":
            raise ServiceError("ValidationException", "Only imported certificates can be re-imported")
        if req.get("Tags"):
            raise ServiceError("InvalidParameterException", "Tags cannot be given when re-importing")
    else:
        cid, doc = str(uuid.uuid4()), {"CreatedAt": now, "_tags": _tags(req.get("Tags"))}
    doc.update(
        CertificateArn=_arn(ctx, cid),
        **_info_fields(info),
        ImportedAt=now,
        Status="ISSUED" if info.not_after > now else "EXPIRED",
        Type="IMPORTED",
        InUseBy=[],
        RenewalEligibility="INELIGIBLE",
        _certificate=cert_data.decode(),
        _chain=(req.get("CertificateChain") or b"").decode(),
        _privateKey=key_data.decode(),
    )
    ctx.store.put(CERT, ctx.scope, cid, doc)
    return {"CertificateArn": doc["CertificateArn"]}


def _in_use_by(ctx: RequestContext, arn: str) -> list[str]:
    users = []
    for _, listener in ctx.store.list("elbv2.listener", ctx.scope):
        if any(c.get("CertificateArn") == arn for c in listener.get("Certificates") or []):
            users.append(listener["LoadBalancerArn"])
    return sorted(set(users))


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


@api.operation("DescribeCertificate")
def describe_certificate(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _, doc = _load(ctx, req["CertificateArn"])
    return {"Certificate": {**_public(doc), "InUseBy": _in_use_by(ctx, doc["CertificateArn"])}}


@api.operation("GetCertificate")
def get_certificate(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _, doc = _load(ctx, req["CertificateArn"])
    if doc.get("Status") != "ISSUED":
        raise ServiceError("RequestInProgressException", "The certificate is not issued")
    out = {"Certificate": doc["_certificate"]}
    if doc.get("_chain"):
        out["CertificateChain"] = doc["_chain"]
    return out


@api.operation("ListCertificates")
def list_certificates(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    statuses = set(req.get("CertificateStatuses") or [])
    rows = [d for _, d in ctx.store.list(CERT, ctx.scope) if not statuses or d["Status"] in statuses]
    start = int(req["NextToken"]) if str(req.get("NextToken") or "").isdigit() else 0
    size = int(req.get("MaxItems") or 1000)
    chunk = rows[start : start + size]
    out: dict[str, Any] = {"CertificateSummaryList": [_summary(ctx, d) for d in chunk]}
    if start + size < len(rows):
        out["NextToken"] = str(start + size)
    return out


def _summary(ctx: RequestContext, d: dict[str, Any]) -> dict[str, Any]:
    return {
        "CertificateArn": d["CertificateArn"],
        "DomainName": d["DomainName"],
        "SubjectAlternativeNameSummaries": d.get("SubjectAlternativeNames", []),
        "HasAdditionalSubjectAlternativeNames": False,
        "Status": d["Status"],
        "Type": d["Type"],
        "KeyAlgorithm": d["KeyAlgorithm"],
        "InUse": bool(_in_use_by(ctx, d["CertificateArn"])),
        "RenewalEligibility": d.get("RenewalEligibility", "INELIGIBLE"),
        "NotBefore": d["NotBefore"],
        "NotAfter": d["NotAfter"],
        "CreatedAt": d.get("CreatedAt"),
        **({"IssuedAt": d["IssuedAt"]} if d.get("IssuedAt") else {}),
        **({"ImportedAt": d["ImportedAt"]} if d.get("ImportedAt") else {}),
    }


@api.operation("DeleteCertificate")
def delete_certificate(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    cid, doc = _load(ctx, req["CertificateArn"])
    if _in_use_by(ctx, doc["CertificateArn"]):
        raise ServiceError(
            "ResourceInUseException", f"Certificate {doc['CertificateArn']} in account {ctx.account} is in use."
        )
    ctx.store.delete(CERT, ctx.scope, cid)
    return {}


@api.operation("AddTagsToCertificate")
def add_tags(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    cid, doc = _load(ctx, req["CertificateArn"])
    merged = {t["Key"]: t.get("Value", "") for t in doc.get("_tags") or []}
    merged.update({t["Key"]: t.get("Value", "") for t in req["Tags"]})
    doc["_tags"] = _tags([{"Key": k, "Value": v} for k, v in merged.items()])
    ctx.store.put(CERT, ctx.scope, cid, doc)
    return {}


@api.operation("RemoveTagsFromCertificate")
def remove_tags(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    cid, doc = _load(ctx, req["CertificateArn"])
    drop = {(t["Key"], t.get("Value")) for t in req["Tags"]}
    doc["_tags"] = [
        t for t in doc.get("_tags") or [] if (t["Key"], None) not in drop and (t["Key"], t["Value"]) not in drop
    ]
    ctx.store.put(CERT, ctx.scope, cid, doc)
    return {}


@api.operation("ListTagsForCertificate")
def list_tags(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _, doc = _load(ctx, req["CertificateArn"])
    return {"Tags": list(doc.get("_tags") or [])}
