"""Tags of every EC2 resource, in one place of the store.

One document per tagged resource (kind ``ec2.tags``, key = the resource id):
``{"type": "instance", "tags": {key: value}}``.  Keeping tags apart from the
resources means CreateTags never races a controller that is saving an
instance, and DescribeTags reads one kind.

Rules (EC2 "Tag your resources"): at most 50 tags per resource; keys of 1–128
and values of 0–256 characters; keys starting with ``aws:`` are reserved for
AWS (Gureum sets a few itself, e.g. ``aws:ec2launchtemplate:id``, through
``system=True``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from gureum.core.store import Scope, Store
from gureum.services.ec2 import errors
from gureum.services.ec2.names import TAGS

MAX_TAGS = 50

# Resource types by id prefix (DescribeTags' resource-type values).
TYPES_BY_PREFIX = {
    "i": "instance",
    "ami": "image",
    "lt": "launch-template",
    "vpc": "vpc",
    "subnet": "subnet",
    "sg": "security-group",
    "eni": "network-interface",
    "vol": "volume",
    "snap": "snapshot",
    "dopt": "dhcp-options",
    "igw": "internet-gateway",
    "rtb": "route-table",
    "acl": "network-acl",
}


def resource_type(resource_id: str) -> str | None:
    prefix = resource_id.rsplit("-", 1)[0] if "-" in resource_id else ""
    return TYPES_BY_PREFIX.get(prefix)


def check(tags: Sequence[Mapping[str, Any]], *, system: bool = False) -> dict[str, str]:
    """Validate ``[{"Key", "Value"}]`` and return them as a dict."""
    out: dict[str, str] = {}
    for t in tags:
        key = t.get("Key")
        if key is None or key == "":
            raise errors.invalid("Tag keys must not be empty.")
        key = str(key)
        value = "" if t.get("Value") is None else str(t.get("Value"))
        if len(key) > 128:
            raise errors.invalid(f"Tag key exceeds the maximum length of 128 characters: {key}")
        if len(value) > 256:
            raise errors.invalid(f"Tag value exceeds the maximum length of 256 characters: {value}")
        if key.lower().startswith("aws:") and not system:
            raise errors.invalid("Tag keys starting with 'aws:' are reserved for internal use")
        out[key] = value
    return out


def get(store: Store, scope: Scope, resource_id: str) -> dict[str, str]:
    doc = store.get(TAGS, scope, resource_id)
    return dict(doc["tags"]) if doc else {}


def tags_by(store: Store, scope: Scope, id_field: str) -> Callable[[Mapping[str, Any]], dict[str, str]]:
    """A function giving the tags of a document whose id is its ``id_field``."""

    def tags_of(doc: Mapping[str, Any]) -> dict[str, str]:
        return get(store, scope, str(doc[id_field]))

    return tags_of


def wire(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def add(store: Store, scope: Scope, resource_id: str, tags: Mapping[str, str]) -> None:
    if not tags:
        return
    with store.transaction():
        current = get(store, scope, resource_id)
        current.update(tags)
        if len(current) > MAX_TAGS:
            raise errors.client("TagLimitExceeded", f"The maximum number of tags per resource is {MAX_TAGS}")
        rtype = resource_type(resource_id) or "unknown"
        store.put(TAGS, scope, resource_id, {"type": rtype, "tags": current})


def remove(store: Store, scope: Scope, resource_id: str, tags: Sequence[Mapping[str, Any]] | None) -> None:
    """DeleteTags: no ``tags`` removes all; a tag with a Value removes it only when it matches."""
    with store.transaction():
        current = get(store, scope, resource_id)
        if tags is None:
            current = {}
        for t in tags or ():
            key = str(t.get("Key", ""))
            if key in current and (t.get("Value") is None or current[key] == str(t.get("Value"))):
                del current[key]
        if current:
            store.put(TAGS, scope, resource_id, {"type": resource_type(resource_id) or "unknown", "tags": current})
        else:
            store.delete(TAGS, scope, resource_id)


def drop(store: Store, scope: Scope, resource_id: str) -> None:
    store.delete(TAGS, scope, resource_id)


def all_tags(store: Store, scope: Scope) -> Iterable[tuple[str, str, str, str]]:
    """Every tag of the scope as (resource id, resource type, key, value), sorted."""
    for rid, doc in store.list(TAGS, scope):
        for key, value in sorted(doc.get("tags", {}).items()):
            yield rid, str(doc.get("type", "")), key, value


def from_specs(specs: Sequence[Mapping[str, Any]] | None, resource_type_name: str) -> dict[str, str]:
    """The tags of ``TagSpecifications`` for one resource type."""
    out: dict[str, str] = {}
    for spec in specs or ():
        if spec.get("ResourceType") == resource_type_name:
            out.update(check(spec.get("Tags") or []))
    return out


class TagGetters(Mapping[str, Any]):
    """Filter getters that also answer ``tag:<key>``, ``tag-key`` and ``tag-value``.

    ``tags_of(item)`` returns the item's tags; the plain getters come from ``base``.
    """

    def __init__(self, base: Mapping[str, Any], tags_of: Any) -> None:
        self.base = base
        self.tags_of = tags_of

    def __getitem__(self, name: str) -> Any:
        if name in self.base:
            return self.base[name]
        if name.startswith("tag:"):
            key = name[4:]
            return lambda item: [v for k, v in self.tags_of(item).items() if k == key]
        if name == "tag-key":
            return lambda item: list(self.tags_of(item))
        if name == "tag-value":
            return lambda item: list(self.tags_of(item).values())
        raise KeyError(name)

    def __iter__(self) -> Any:
        return iter(self.base)

    def __len__(self) -> int:
        return len(self.base)
