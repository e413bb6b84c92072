"""ECR's records in the store, shared by the control plane and the registry.

Kinds (all scoped by account and region):

=================  ======================  ============================================
kind               key                     document
=================  ======================  ============================================
ecr.repository     ``<name>``              the repository (AWS member names)
ecr.image          ``<name>@<digest>``     one manifest: media type, size, pushedAt, text
ecr.tag            ``<name>:<tag>``        ``{"digest": …}`` – tags are the source of truth
ecr.blob           ``<name>@<digest>``     a blob this repository may read (pushed/mounted)
ecr.upload         ``<upload id>``         an upload in progress and its repository
=================  ======================  ============================================

``@`` and ``:`` never occur in repository names, so ``<name>@`` and
``<name>:`` prefixes list exactly one repository's records.  Multi-record
changes (a manifest and its tag, a repository and all it holds) happen in one
store transaction.  Errors are raised as registry errors
(:class:`~gureum.services.ecr.oci.RegistryError`); the control plane maps them
to its own exceptions.
"""

from __future__ import annotations

from typing import Any

from gureum.core.ids import arn
from gureum.core.store import Scope, Store
from gureum.services.ecr.oci import Manifest, RegistryError, is_digest, tag_mutable

REPO = "ecr.repository"
IMAGE = "ecr.image"
TAG = "ecr.tag"
BLOB = "ecr.blob"
UPLOAD = "ecr.upload"

Doc = dict[str, Any]


def repository_arn(scope: Scope, name: str) -> str:
    return arn("ecr", f"repository/{name}", account=scope.account, region=scope.region)


def repository_uri(port: int, name: str) -> str:
    """Where the local docker CLI pushes and pulls this repository.

    Not AWS's ``<account>.dkr.ecr.<region>.amazonaws.com/<name>``: that name
    does not resolve here, while docker treats 127.0.0.0/8 registries as
    insecure (plain HTTP allowed) without any daemon configuration.
    """
    return f"127.0.0.1:{port}/{name}"


# -- repositories ------------------------------------------------------------------------


def get_repo(store: Store, scope: Scope, name: str) -> Doc | None:
    return store.get(REPO, scope, name)


def find_repo(store: Store, name: str, preferred: Scope) -> Scope | None:
    """The scope holding repository ``name``: ``preferred`` first, then any other."""
    if store.get(REPO, preferred, name) is not None:
        return preferred
    for scope in sorted(store.list_scopes(REPO), key=lambda s: (s.account, s.region)):
        if store.get(REPO, scope, name) is not None:
            return scope
    return None


def repo_names(store: Store, scope: Scope | None) -> list[str]:
    return sorted({k for k, _ in store.list(REPO, scope)})


def drop_repository(store: Store, scope: Scope, name: str) -> tuple[list[str], list[str]]:
    """Delete a repository and everything it holds.

    Returns the blob digests it held and the ids of its unfinished uploads, so
    the caller can remove files nobody needs any more.
    """
    with store.transaction():
        digests = [k.split("@", 1)[1] for k, _ in store.list(BLOB, scope, prefix=name + "@")]
        for kind, sep in ((IMAGE, "@"), (TAG, ":"), (BLOB, "@")):
            for key, _ in store.list(kind, scope, prefix=name + sep):
                store.delete(kind, scope, key)
        uploads = [k for k, doc in store.list(UPLOAD, scope) if doc.get("repository") == name]
        for key in uploads:
            store.delete(UPLOAD, scope, key)
        store.delete(REPO, scope, name)
    return digests, uploads


def blob_in_use(store: Store, digest: str) -> bool:
    """Whether any repository of any account still holds ``digest``."""
    suffix = "@" + digest
    return any(key.endswith(suffix) for key, _ in store.list(BLOB, None))


# -- blobs and uploads -----------------------------------------------------------------


def link_blob(store: Store, scope: Scope, repo: str, digest: str, size: int) -> None:
    store.put(BLOB, scope, f"{repo}@{digest}", {"size": size})


def blob_linked(store: Store, scope: Scope, repo: str, digest: str) -> bool:
    return store.get(BLOB, scope, f"{repo}@{digest}") is not None


def new_upload(store: Store, scope: Scope, upload_id: str, repo: str, now: float) -> None:
    store.put(UPLOAD, scope, upload_id, {"repository": repo, "startedAt": now})


def get_upload(store: Store, scope: Scope, upload_id: str, repo: str) -> Doc:
    doc = store.get(UPLOAD, scope, upload_id)
    if doc is None or doc.get("repository") != repo:
        raise RegistryError("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", {"uuid": upload_id})
    return doc


def drop_upload(store: Store, scope: Scope, upload_id: str) -> None:
    store.delete(UPLOAD, scope, upload_id)


# -- images and tags -------------------------------------------------------------------


def get_image(store: Store, scope: Scope, repo: str, digest: str) -> Doc | None:
    return store.get(IMAGE, scope, f"{repo}@{digest}")


def tag_digest(store: Store, scope: Scope, repo: str, tag: str) -> str | None:
    doc = store.get(TAG, scope, f"{repo}:{tag}")
    return None if doc is None else str(doc["digest"])


def resolve(store: Store, scope: Scope, repo: str, reference: str) -> Doc | None:
    """The image a tag or digest names."""
    digest = reference if is_digest(reference) else tag_digest(store, scope, repo, reference)
    return None if digest is None else get_image(store, scope, repo, digest)


def images(store: Store, scope: Scope, repo: str) -> list[Doc]:
    return [doc for _, doc in store.list(IMAGE, scope, prefix=repo + "@")]


def tags(store: Store, scope: Scope, repo: str) -> dict[str, str]:
    """tag → digest of one repository."""
    return {k.split(":", 1)[1]: str(d["digest"]) for k, d in store.list(TAG, scope, prefix=repo + ":")}


def tags_by_digest(store: Store, scope: Scope, repo: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for tag, digest in sorted(tags(store, scope, repo).items()):
        out.setdefault(digest, []).append(tag)
    return out


def store_manifest(
    store: Store, scope: Scope, repo: Doc, manifest: Manifest, raw: bytes, tag: str | None, now: float
) -> bool:
    """Record a pushed manifest (and move ``tag`` to it); whether anything changed.

    Every blob it needs must be in the repository and every child manifest of
    an index must be an image of it (MANIFEST_BLOB_UNKNOWN otherwise); a tag
    the repository's mutability setting freezes cannot move (TAG_INVALID,
    ECR's words).
    """
    name = repo["repositoryName"]
    with store.transaction():
        for d in manifest.blobs:
            if not blob_linked(store, scope, name, d.digest):
                raise RegistryError("MANIFEST_BLOB_UNKNOWN", "blob unknown to registry", {"digest": d.digest})
        sizes = []
        for d in manifest.children:
            child = get_image(store, scope, name, d.digest)
            if child is None:
                raise RegistryError("MANIFEST_BLOB_UNKNOWN", "manifest unknown to registry", {"digest": d.digest})
            sizes.append(int(child["size"]))
        changed = False
        if get_image(store, scope, name, manifest.digest) is None:
            store.put(IMAGE, scope, f"{name}@{manifest.digest}", _image_doc(manifest, raw, sizes, now))
            changed = True
        if tag is not None:
            changed = _move_tag(store, scope, repo, tag, manifest.digest) or changed
    return changed


def _image_doc(manifest: Manifest, raw: bytes, child_sizes: list[int], now: float) -> Doc:
    return {
        "digest": manifest.digest,
        "mediaType": manifest.media_type,
        "artifactMediaType": manifest.config_media_type,
        # ECR: a manifest list reports the largest of its images.
        "size": max(child_sizes, default=0) if manifest.is_index else manifest.layers_size,
        "pushedAt": now,
        "manifest": raw.decode("utf-8"),
        "children": [d.digest for d in manifest.children],
    }


def _move_tag(store: Store, scope: Scope, repo: Doc, tag: str, digest: str) -> bool:
    name = repo["repositoryName"]
    current = tag_digest(store, scope, name, tag)
    if current == digest:
        return False
    rule = repo.get("imageTagMutability", "MUTABLE")
    exclusions = repo.get("imageTagMutabilityExclusionFilters") or []
    if current is not None and not tag_mutable(tag, rule, exclusions):
        raise RegistryError(
            "TAG_INVALID",
            f"The image tag '{tag}' already exists in the '{name}' repository and cannot be "
            "overwritten because the tag is immutable.",
            {"tag": tag, "digest": current},
        )
    store.put(TAG, scope, f"{name}:{tag}", {"digest": digest})
    return True


def untag(store: Store, scope: Scope, repo: str, tag: str) -> str | None:
    """Remove a tag; the digest it pointed to, or None."""
    digest = tag_digest(store, scope, repo, tag)
    if digest is not None:
        store.delete(TAG, scope, f"{repo}:{tag}")
    return digest


def referrers(store: Store, scope: Scope, repo: str, digest: str) -> list[str]:
    """Digests of the manifest lists in ``repo`` that include ``digest``."""
    return [d["digest"] for d in images(store, scope, repo) if digest in (d.get("children") or [])]


def delete_image(store: Store, scope: Scope, repo: str, digest: str) -> list[str]:
    """Delete an image and its tags; the tags it had."""
    with store.transaction():
        removed = [t for t, d in tags(store, scope, repo).items() if d == digest]
        for t in removed:
            store.delete(TAG, scope, f"{repo}:{t}")
        store.delete(IMAGE, scope, f"{repo}@{digest}")
    return sorted(removed)


def record_pull(store: Store, scope: Scope, repo: str, digest: str, now: float) -> None:
    with store.transaction():
        doc = get_image(store, scope, repo, digest)
        if doc is not None:
            doc["lastPull"] = now
            store.put(IMAGE, scope, f"{repo}@{digest}", doc)
