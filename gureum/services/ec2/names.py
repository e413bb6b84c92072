"""Names shared by the EC2 modules: store kinds, controller names, id shapes,
scoped keys and the built-in AMI.

Rules: pure, no I/O.  Every EC2 resource lives in the store under one of the
kinds below, keyed by its id, in the scope (account, region) of the request.
A controller key carries its scope: ``account|region|id``.
"""

from __future__ import annotations

import hashlib
import re

from gureum.core.store import Scope

INSTANCE = "ec2.instance"
IMAGE = "ec2.image"
LAUNCH_TEMPLATE = "ec2.launch-template"
LAUNCH_TEMPLATE_VERSION = "ec2.launch-template-version"
TAGS = "ec2.tags"

INSTANCE_CONTROLLER = "ec2.instance"
IMAGE_CONTROLLER = "ec2.image"

# Bus topic published on every instance state change:
# {"scope": Scope, "instanceId": str, "state": str, "previous": str}.
STATE_TOPIC = "ec2.instance.state"

# The built-in AMI every region offers: the offline base image.  A fixed id
# (``ami-`` + 17 hex digits, like a real one) so scripts can hard-code it.
BUILTIN_AMI = "ami-0ba5eba5eba5e0001"
BUILTIN_AMI_NAME = "gureum-busybox"
BUILTIN_DOCKER_IMAGE = "gureum/busybox:latest"
AMAZON_OWNER = "137112412989"  # the account that owns Amazon's public AMIs

# Where CreateImage puts the committed container: repository + the AMI id as tag.
BAKED_REPOSITORY = "gureum/ami"

_ID = re.compile(r"^(?P<prefix>[a-z]+(?:-[a-z]+)*)-(?P<hex>[0-9a-f]{8}|[0-9a-f]{17})$")


def is_id(value: str, prefix: str) -> bool:
    """``i-0123abcd`` or ``i-0123456789abcdef0`` style ids of ``prefix``."""
    m = _ID.match(value or "")
    return m is not None and m.group("prefix") == prefix


def stable_id(prefix: str, *parts: str) -> str:
    """A deterministic id (default VPC records): the same input, the same id."""
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()
    return f"{prefix}-0{digest[:16]}"


def scoped_key(scope: Scope, key: str) -> str:
    return f"{scope.account}|{scope.region}|{key}"


def split_scoped_key(skey: str) -> tuple[Scope, str]:
    account, region, key = skey.split("|", 2)
    return Scope(account, region), key


def instance_arn(scope: Scope, instance_id: str) -> str:
    return f"arn:aws:ec2:{scope.region}:{scope.account}:instance/{instance_id}"


def private_dns_name(ip: str, region: str) -> str:
    """``ip-127-0-1-5.ec2.internal`` in us-east-1, ``….<region>.compute.internal`` elsewhere."""
    host = "ip-" + ip.replace(".", "-")
    return f"{host}.ec2.internal" if region == "us-east-1" else f"{host}.{region}.compute.internal"


def iso(epoch: float) -> str:
    """EC2's string timestamps (image CreationDate): ``2024-01-02T03:04:05.000Z``."""
    from gureum.core.clock import to_datetime

    when = to_datetime(epoch)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
