"""What other services may ask ACM: does a certificate exist, and its PEMs.

Store layout (scope = account + region): kind ``acm.certificate``, key = the
certificate id (the UUID at the end of the ARN); the document keeps the
Describe fields plus private ``_certificate``, ``_chain`` and ``_privateKey``
(PEM text).  The local CA lives under kind ``acm.ca``, scope (account, ""),
key ``local``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gureum.core.store import Scope, Store

CERT = "acm.certificate"
CA = "acm.ca"


@dataclass(frozen=True, slots=True)
class KeyPair:
    certificate: str
    chain: str
    private_key: str


def cert_id(scope: Scope, arn: str) -> str | None:
    prefix = f"arn:aws:acm:{scope.region}:{scope.account}:certificate/"
    if not isinstance(arn, str) or not arn.startswith(prefix):
        return None
    rest = arn[len(prefix) :]
    return rest or None


def find(store: Store, scope: Scope, arn: str) -> dict[str, Any] | None:
    cid = cert_id(scope, arn)
    return None if cid is None else store.get(CERT, scope, cid)


def exists(store: Store, scope: Scope, arn: str) -> bool:
    doc = find(store, scope, arn)
    return doc is not None and doc.get("Status") == "ISSUED"


def key_pair(store: Store, scope: Scope, arn: str) -> KeyPair | None:
    """The certificate, chain and private key (PEM) of an issued certificate."""
    doc = find(store, scope, arn)
    if doc is None or doc.get("Status") != "ISSUED" or not doc.get("_privateKey"):
        return None
    return KeyPair(doc["_certificate"], doc.get("_chain", ""), doc["_privateKey"])
