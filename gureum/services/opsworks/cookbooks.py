"""Custom cookbooks: a zip (or tarball) in S3, laid out like Chef's.

::

    <cookbook>/attributes/*.json | *.yml   defaults merged into the attributes
    <cookbook>/templates/**/<name>.j2       Jinja2 templates, rendered by Gureum
    <cookbook>/recipes/<recipe>.sh | .py    what ``cookbook::recipe`` runs
    <cookbook>/files/…                      anything else a recipe wants

A single folder wrapping the cookbooks (``my-repo/<cookbook>/…``, as GitHub
archives have) is stripped.  A recipe ``cookbook::recipe`` is
``<cookbook>/recipes/<recipe>.sh`` (run with ``sh``) or ``.py`` (run with the
instance's ``python3``: the process driver, or an AMI that has one — the
busybox AMI has none).  Chef itself is not needed and ``.rb`` recipes are
not run.

Templates are rendered on Gureum's side (Jinja2, sandboxed, undefined names
are errors) with the command's attributes as ``node`` (and each top-level
attribute by name, and ``app`` — the app's ``deploy`` entry — in per-app
recipes), then copied into the instance; a recipe copies one into place with
``opsworks-template <name> <dest>``.  A template that fails to render fails
only the recipe that asks for it.

A snapshot (:class:`Cookbooks`) is what one instance has: it changes on Setup
and on ``update_custom_cookbooks`` only, as OpsWorks' instance-local copy
did.  Snapshots are stored by content digest (``opsworks.cookbooks``).
Everything here is pure except :func:`fetch` (S3) and :func:`save`/:func:`load`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import posixpath
import tarfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml  # type: ignore[import-untyped]

from gureum.core.store import Scope, Store
from gureum.services.opsworks.attributes import deep_merge
from gureum.services.opsworks.records import COOKBOOKS
from gureum.services.opsworks.sources import SourceError, archive_format, object_ref

if TYPE_CHECKING:
    from gureum.app import App

MAX_ARCHIVE_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
_PARTS = ("recipes", "attributes", "templates", "files", "definitions", "libraries", "metadata.json",
          "metadata.rb")


class CookbookError(ValueError):
    """The cookbooks cannot be used; ``str()`` goes into the command's log."""


@dataclass(frozen=True)
class Cookbooks:
    files: dict[str, bytes] = field(default_factory=dict)  # "cookbook/recipes/x.sh" → bytes

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        for path in sorted(self.files):
            h.update(path.encode() + b"\0" + hashlib.sha256(self.files[path]).digest())
        return h.hexdigest()

    def names(self) -> list[str]:
        return sorted({p.split("/", 1)[0] for p in self.files})

    def recipe(self, cookbook: str, recipe: str) -> str | None:
        """The path of ``cookbook::recipe`` (``.sh`` before ``.py``), or None."""
        for ext in (".sh", ".py"):
            path = f"{cookbook}/recipes/{recipe}{ext}"
            if path in self.files:
                return path
        return None

    def attributes(self) -> dict[str, Any]:
        """The cookbooks' attribute files merged, in name order (CookbookError on bad files)."""
        out: dict[str, Any] = {}
        for path in sorted(self.files):
            parts = path.split("/")
            if len(parts) != 3 or parts[1] != "attributes":
                continue
            out = deep_merge(out, _attribute_file(path, self.files[path]))
        return out

    def templates(self, cookbook: str) -> dict[str, str]:
        """``name`` (path under templates/, without ``.j2``) → source, for one cookbook."""
        prefix = f"{cookbook}/templates/"
        out = {}
        for path, data in self.files.items():
            if path.startswith(prefix) and path.endswith(".j2"):
                out[path[len(prefix):-3]] = data.decode("utf-8", errors="replace")
        return out


def _attribute_file(path: str, data: bytes) -> dict[str, Any]:
    try:
        if path.endswith(".json"):
            doc = json.loads(data)
        elif path.endswith((".yml", ".yaml")):
            doc = yaml.safe_load(data)
        else:
            return {}  # attributes/default.rb and the like: not read
    except (ValueError, yaml.YAMLError) as exc:
        raise CookbookError(f"cannot read attributes file {path}: {exc}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise CookbookError(f"attributes file {path} must hold an object")
    return doc


# -- unpacking ------------------------------------------------------------------------------


def _members(data: bytes) -> dict[str, bytes]:
    fmt = archive_format(data)
    out: dict[str, bytes] = {}
    total = 0
    if fmt == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for info in z.infolist():
                if info.is_dir():
                    continue
                total += info.file_size
                if total > MAX_UNPACKED_BYTES:
                    raise CookbookError("the cookbooks archive unpacks to more than 50 MB")
                out[info.filename] = z.read(info)
        return out
    mode: Any = {"tgz": "r:gz", "tbz": "r:bz2", "tar": "r:"}[fmt]
    with tarfile.open(fileobj=io.BytesIO(data), mode=mode) as t:
        for member in t.getmembers():
            if not member.isfile():
                continue
            total += member.size
            if total > MAX_UNPACKED_BYTES:
                raise CookbookError("the cookbooks archive unpacks to more than 50 MB")
            f = t.extractfile(member)
            out[member.name] = f.read() if f else b""
    return out


def _clean(path: str) -> str:
    norm = posixpath.normpath(path.replace("\\", "/")).lstrip("/")
    if norm.startswith("..") or norm in ("", "."):
        raise CookbookError(f"unsafe path in the archive: {path!r}")
    return norm


def _is_cookbook(files: Mapping[str, bytes], prefix: str) -> bool:
    return any(p[len(prefix):].split("/", 1)[0] in _PARTS for p in files if p.startswith(prefix))


def parse_archive(data: bytes) -> Cookbooks:
    """The cookbooks in a zip or tarball (CookbookError if it is none)."""
    try:
        raw = {_clean(name): body for name, body in _members(data).items()}
    except (SourceError, zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise CookbookError(f"cannot open the cookbooks archive: {exc}") from None
    tops = {p.split("/", 1)[0] for p in raw}
    if len(tops) == 1 and all("/" in p for p in raw):
        top = next(iter(tops))
        if not _is_cookbook(raw, top + "/"):
            raw = {p.split("/", 1)[1]: b for p, b in raw.items()}
    files = {p: b for p, b in raw.items() if "/" in p and _is_cookbook(raw, p.split("/", 1)[0] + "/")}
    if not files:
        raise CookbookError("the archive holds no cookbook (<cookbook>/recipes/…, attributes/, templates/)")
    return Cookbooks(files)


# -- templates --------------------------------------------------------------------------------


def render_templates(cookbooks: Cookbooks, context: Mapping[str, Any]) -> dict[str, tuple[bytes, str]]:
    """``cookbook/name`` → (rendered bytes, "") or (b"", error message), for every template."""
    from jinja2 import DictLoader, StrictUndefined, TemplateError
    from jinja2.sandbox import SandboxedEnvironment

    out: dict[str, tuple[bytes, str]] = {}
    for cookbook in cookbooks.names():
        sources = cookbooks.templates(cookbook)
        if not sources:
            continue
        env = SandboxedEnvironment(loader=DictLoader({k + ".j2": v for k, v in sources.items()}),
                                   undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)
        for name in sorted(sources):
            try:
                text = env.get_template(name + ".j2").render(**context)
                out[f"{cookbook}/{name}"] = (text.encode(), "")
            except TemplateError as exc:
                out[f"{cookbook}/{name}"] = (b"", f"{type(exc).__name__}: {exc}")
    return out


def template_context(attrs: Mapping[str, Any], app: Mapping[str, Any] | None) -> dict[str, Any]:
    ctx: dict[str, Any] = {k: v for k, v in attrs.items() if isinstance(k, str) and k.isidentifier()}
    ctx["node"] = attrs
    ctx["app"] = app
    return ctx


# -- storage and fetching ------------------------------------------------------------------------


def save(store: Store, scope: Scope, cookbooks: Cookbooks) -> str:
    digest = cookbooks.digest
    if store.get(COOKBOOKS, scope, digest) is None:
        store.put(COOKBOOKS, scope, digest,
                  {"files": {p: base64.b64encode(b).decode() for p, b in cookbooks.files.items()}})
    return digest


def load(store: Store, scope: Scope, digest: str | None) -> Cookbooks:
    """A stored snapshot; no digest (no custom cookbooks) or a lost one is empty."""
    doc = store.get(COOKBOOKS, scope, digest) if digest else None
    if doc is None:
        return Cookbooks()
    return Cookbooks({p: base64.b64decode(b) for p, b in doc["files"].items()})


def fetch(app: App, stack: Mapping[str, Any]) -> Cookbooks:
    """The stack's custom cookbooks as they are in S3 now (empty when it uses none)."""
    if not stack.get("UseCustomCookbooks"):
        return Cookbooks()
    from gureum.core.errors import ServiceError
    from gureum.services.s3.public import read_object

    try:
        ref = object_ref(stack.get("CustomCookbooksSource"))
    except SourceError as exc:
        raise CookbookError(f"custom cookbooks: {exc}") from None
    try:
        data = read_object(app, ref.bucket, ref.key, ref.version_id)
    except ServiceError as exc:
        raise CookbookError(f"cannot download the custom cookbooks from {ref}: {exc.code}: {exc.message}") from None
    if len(data) > MAX_ARCHIVE_BYTES:
        raise CookbookError(f"the custom cookbooks archive {ref} is larger than 20 MB")
    return parse_archive(data)
