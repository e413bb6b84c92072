"""TLS for HTTPS listeners: SSL policies and server contexts from ACM.

A listener's certificate comes from ACM through its public functions
(:mod:`gureum.services.acm.public`).  ``ssl.SSLContext.load_cert_chain``
reads only files, so the PEMs are written to a private temporary file
(mode 0600) that is removed as soon as the context has loaded it.

SSL policies: the names AWS offers are accepted; each maps to the lowest TLS
version it allows (``…TLS13-1-3…`` → 1.3, ``…1-2…`` → 1.2, the older ones →
whatever the system's OpenSSL allows, usually 1.2).  Cipher lists are left
to OpenSSL's defaults.
"""

from __future__ import annotations

import os
import ssl
import tempfile

from gureum.core.store import Scope, Store
from gureum.services.elbv2.records import err

DEFAULT_POLICY = "ELBSecurityPolicy-2016-08"
POLICIES = (
    "ELBSecurityPolicy-2016-08",
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-1-2021-06",
    "ELBSecurityPolicy-TLS13-1-0-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-2021-06-PQ-2025-09",
    "ELBSecurityPolicy-TLS-1-2-2017-01",
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
    "ELBSecurityPolicy-TLS-1-1-2017-01",
    "ELBSecurityPolicy-FS-2018-06",
    "ELBSecurityPolicy-FS-1-1-2019-08",
    "ELBSecurityPolicy-FS-1-2-2019-08",
    "ELBSecurityPolicy-FS-1-2-Res-2019-08",
    "ELBSecurityPolicy-FS-1-2-Res-2020-10",
    "ELBSecurityPolicy-2015-05",
    "ELBSecurityPolicy-TLS-1-0-2015-04",
)


def check_policy(name: str | None) -> str:
    policy = name or DEFAULT_POLICY
    if policy not in POLICIES:
        raise err("SSLPolicyNotFound", f"SSL policy '{policy}' not found")
    return policy


def minimum_version(policy: str) -> ssl.TLSVersion | None:
    if "TLS13-1-3" in policy:
        return ssl.TLSVersion.TLSv1_3
    if "1-2" in policy:
        return ssl.TLSVersion.TLSv1_2
    return None


def certificate_exists(store: Store, scope: Scope, arn: str) -> bool:
    from gureum.services.acm import public as acm

    return acm.exists(store, scope, arn)


def server_context(store: Store, scope: Scope, arn: str, policy: str) -> ssl.SSLContext:
    """A server SSLContext for a listener's certificate (ValueError if gone)."""
    from gureum.services.acm import public as acm

    pair = acm.key_pair(store, scope, arn)
    if pair is None:
        raise ValueError(f"certificate {arn} is not available")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    low = minimum_version(policy)
    if low is not None:
        ctx.minimum_version = low
    ctx.set_alpn_protocols(["http/1.1"])
    fd, path = tempfile.mkstemp(prefix="gureum-cert-", suffix=".pem")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(pair.certificate.strip() + "\n")
            if pair.chain:
                f.write(pair.chain.strip() + "\n")
            f.write(pair.private_key.strip() + "\n")
        ctx.load_cert_chain(path)
    finally:
        os.unlink(path)
    return ctx


def client_context() -> ssl.SSLContext:
    """For HTTPS targets: ALB does not verify target certificates."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx
