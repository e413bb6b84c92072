"""The attributes a recipe sees (Chef's ``node``), merged.  Pure: no I/O.

A command's attributes are one JSON object, merged from lowest to highest
precedence (later wins, objects merge key by key, anything else replaces):

1. the custom cookbooks' ``<cookbook>/attributes/*.json|yml`` (cookbooks and
   files in name order) — their defaults;
2. what OpsWorks itself says (Chef 11's stack configuration and deployment
   attributes): ``opsworks`` (stack, this instance, the layers with their
   online instances — the topology —, applications, the activity) and
   ``deploy`` (one entry per app);
3. the stack's ``CustomJson``;
4. the ``CustomJson`` of each of the instance's layers, in order;
5. the deployment's ``CustomJson``.

Recipes get the object in the file ``$OPSWORKS_ATTRIBUTES`` and, flattened,
in environment variables (:func:`flatten_env`): ``{"myapp": {"port": 8080}}``
becomes ``OPSWORKS_ATTR_MYAPP_PORT=8080`` (busybox has no JSON tool).
Paths inside the instance (``deploy_to``) are relative to the instance's
root, which is ``/`` on docker and ``$OPSWORKS_ROOT`` on the process driver.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gureum.services.opsworks.records import iso, json_object

Doc = dict[str, Any]

ENV_PREFIX = "OPSWORKS_ATTR_"
MAX_ENV_VARS = 500
MAX_ENV_VALUE = 4096
_NAME_RE = re.compile(r"[^A-Za-z0-9]+")


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> Doc:
    out: Doc = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def merge_all(layers: Iterable[Mapping[str, Any]]) -> Doc:
    out: Doc = {}
    for layer in layers:
        out = deep_merge(out, layer)
    return out


# -- what OpsWorks says -------------------------------------------------------------------


def instance_view(inst: Mapping[str, Any], layer_names: Mapping[str, str]) -> Doc:
    return {
        "id": inst.get("InstanceId"),
        "hostname": inst.get("Hostname"),
        "private_ip": inst.get("PrivateIp"),
        "ip": inst.get("PublicIp") or inst.get("PrivateIp"),
        "private_dns_name": inst.get("PrivateDns"),
        "aws_instance_id": inst.get("Ec2InstanceId"),
        "instance_type": inst.get("InstanceType"),
        "availability_zone": inst.get("AvailabilityZone"),
        "os": inst.get("Os"),
        "status": inst.get("Status"),
        "layers": [layer_names[lid] for lid in inst.get("LayerIds") or [] if lid in layer_names],
    }


def topology(layers: Sequence[Mapping[str, Any]], instances: Sequence[Mapping[str, Any]],
             include: str | None = None) -> Doc:
    """``opsworks.layers``: each layer with its online instances (and ``include``, the current one)."""
    names = {lay["LayerId"]: lay["Shortname"] for lay in layers}
    out: Doc = {}
    for lay in layers:
        members = {}
        for inst in instances:
            if lay["LayerId"] not in (inst.get("LayerIds") or []):
                continue
            if inst.get("Status") == "online" or inst.get("InstanceId") == include:
                members[inst.get("Hostname") or inst["InstanceId"]] = instance_view(inst, names)
        out[lay["Shortname"]] = {"id": lay["LayerId"], "name": lay["Name"], "type": lay.get("Type"),
                                 "instances": members}
    return out


def app_view(app: Mapping[str, Any]) -> Doc:
    source = app.get("AppSource") or {}
    env = {e["Key"]: e["Value"] for e in app.get("Environment") or []}
    return {
        "application": app["Shortname"],
        "application_type": app.get("Type"),
        "name": app.get("Name"),
        "deploy_to": f"/srv/www/{app['Shortname']}",
        "document_root": (app.get("Attributes") or {}).get("DocumentRoot") or "",
        "domains": list(app.get("Domains") or []),
        "environment": env,
        "environment_variables": env,
        "ssl_support": bool(app.get("EnableSsl")),
        "scm": {"scm_type": source.get("Type"), "repository": source.get("Url"),
                "revision": source.get("Revision")},
    }


def opsworks_section(*, stack: Mapping[str, Any], layers: Sequence[Mapping[str, Any]],
                     instances: Sequence[Mapping[str, Any]], instance: Mapping[str, Any],
                     apps: Sequence[Mapping[str, Any]], activity: str, now: float) -> Doc:
    names = {lay["LayerId"]: lay["Shortname"] for lay in layers}
    return {
        "activity": activity,
        "sent_at": int(now),
        "sent_at_iso": iso(now),
        "agent_version": stack.get("AgentVersion"),
        "stack": {"id": stack["StackId"], "name": stack["Name"], "region": stack.get("Region"),
                  "vpc_id": stack.get("VpcId")},
        "instance": instance_view(instance, names),
        "layers": topology(layers, instances, include=instance.get("InstanceId")),
        "applications": [{"name": a["Name"], "slug_name": a["Shortname"], "application_type": a.get("Type")}
                         for a in apps],
    }


def node_attributes(*, cookbook_defaults: Mapping[str, Any], stack: Mapping[str, Any],
                    layers: Sequence[Mapping[str, Any]], instances: Sequence[Mapping[str, Any]],
                    instance: Mapping[str, Any], apps: Sequence[Mapping[str, Any]], activity: str,
                    now: float, deployment_json: str | None = None) -> Doc:
    """The merged attributes of one command (see the module docstring for the order)."""
    own = {lid for lid in instance.get("LayerIds") or []}
    generated = {
        "opsworks": opsworks_section(stack=stack, layers=layers, instances=instances, instance=instance,
                                     apps=apps, activity=activity, now=now),
        "deploy": {a["Shortname"]: app_view(a) for a in apps},
    }
    out = deep_merge(cookbook_defaults, generated)
    out = deep_merge(out, json_object(stack.get("CustomJson")))
    for lay in layers:
        if lay["LayerId"] in own:
            out = deep_merge(out, json_object(lay.get("CustomJson")))
    return deep_merge(out, json_object(deployment_json))


# -- environment ------------------------------------------------------------------------------


def env_name(path: Sequence[str], prefix: str = ENV_PREFIX) -> str:
    parts = [_NAME_RE.sub("_", p).strip("_").upper() for p in path]
    return prefix + "_".join(p for p in parts if p)


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return None


def flatten_env(attrs: Mapping[str, Any], prefix: str = ENV_PREFIX) -> dict[str, str]:
    """Scalar leaves (and lists of scalars, space-separated) as environment variables.

    The first of two paths that sanitize to one name wins; values longer than
    :data:`MAX_ENV_VALUE` and anything past :data:`MAX_ENV_VARS` are left out
    (the JSON file has everything).
    """
    out: dict[str, str] = {}

    def walk(node: Any, path: list[str]) -> None:
        if len(out) >= MAX_ENV_VARS or len(path) > 8:
            return
        if isinstance(node, Mapping):
            for k, v in node.items():
                walk(v, [*path, str(k)])
            return
        if isinstance(node, list):
            items = [_scalar(v) for v in node]
            value = None if any(i is None for i in items) else " ".join(i for i in items if i is not None)
        else:
            value = _scalar(node)
        name = env_name(path, prefix)
        if value is not None and len(value) <= MAX_ENV_VALUE and name != prefix and name not in out:
            out[name] = value

    walk(attrs, [])
    return out


def online_hosts(instances: Iterable[Mapping[str, Any]]) -> str:
    """``hostname=ip`` of every online instance, space-separated (OPSWORKS_ONLINE_HOSTS)."""
    return " ".join(f"{i.get('Hostname')}={i.get('PrivateIp')}" for i in instances
                    if i.get("Status") == "online" and i.get("PrivateIp"))
