"""The container registry: the OCI distribution API under ``/v2/``.

The gateway hands every ``/v2`` and ``/v2/...`` request here.  This module
authenticates (see :mod:`.auth` for the ``optional``/``required`` modes),
finds the repository, and dispatches on path and method:

=========================================  =====================  ============================
path                                       methods                module
=========================================  =====================  ============================
``/v2/``                                   GET HEAD               here (API version check)
``/v2/_catalog``                           GET                    here
``/v2/<name>/tags/list``                   GET                    here
``/v2/<name>/blobs/<digest>``              GET HEAD (DELETE 405)  :mod:`.registry_blobs`
``/v2/<name>/blobs/uploads/[<uuid>]``      POST PATCH PUT GET DELETE  :mod:`.registry_blobs`
``/v2/<name>/manifests/<tag|digest>``      GET HEAD PUT DELETE    :mod:`.registry_manifests`
=========================================  =====================  ============================

Repository names may contain slashes; the name is what precedes the last
``/blobs/``, ``/manifests/`` or ``/tags/list``.  Repositories must exist
(CreateRepository) before a push, as on ECR: otherwise ``NAME_UNKNOWN``.
Every failure is the spec's JSON error document with its status; no
traceback reaches the client.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote

from gureum.core.errors import ProtocolError
from gureum.core.ids import request_id
from gureum.core.store import Scope, Store
from gureum.protocol.http import HttpRequest, HttpResponse
from gureum.services.ecr import auth, records
from gureum.services.ecr.blobs import BlobFiles, files_for
from gureum.services.ecr.oci import RegistryError, valid_repository_name

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.ecr.registry")

API_VERSION = ("docker-distribution-api-version", "registry/2.0")

_PATH_RE = re.compile(
    r"/v2/(?P<name>.+?)/(?:"
    r"(?P<uploads>blobs/uploads)(?:/(?P<uuid>[^/]*))?"
    r"|blobs/(?P<digest>[^/]+)"
    r"|manifests/(?P<ref>[^/]+)"
    r"|(?P<tags>tags/list)"
    r")/?"
)


@dataclass
class Call:
    """One registry request for one repository, authenticated and resolved."""

    app: App
    request: HttpRequest
    body: Any  # AsgiBody: read / read_limited / async iteration
    scope: Scope
    repo: dict[str, Any]
    files: BlobFiles

    @property
    def name(self) -> str:
        return str(self.repo["repositoryName"])

    @property
    def store(self) -> Store:
        return self.app.store

    def now(self) -> float:
        return self.app.clock.now()

    def arg(self, key: str) -> str | None:
        for k, v in parse_qsl(self.request.query_string, keep_blank_values=True):
            if k == key:
                return v
        return None


def respond(
    status: int,
    headers: list[tuple[str, str]] | None = None,
    body: bytes | AsyncIterator[bytes] = b"",
) -> HttpResponse:
    hs = [API_VERSION, *(headers or [])]
    if isinstance(body, bytes) and not any(k.lower() == "content-length" for k, _ in hs):
        hs.append(("content-length", str(len(body))))
    return HttpResponse(status, hs, body)


def json_response(doc: dict[str, Any], headers: list[tuple[str, str]] | None = None) -> HttpResponse:
    return respond(200, [("content-type", "application/json"), *(headers or [])], json.dumps(doc).encode())


def error_response(err: RegistryError) -> HttpResponse:
    headers = [("content-type", "application/json"), *err.headers.items()]
    if err.status == 401:
        headers.append(("www-authenticate", 'Basic realm="gureum"'))
    return respond(err.status, headers, err.document())


async def handle_registry(app: App, request: HttpRequest, body: Any) -> HttpResponse:
    """Answer one ``/v2`` request (the gateway's entry point)."""
    app.service_api("ecr")  # loads ECR so its reset hook runs
    try:
        return await _handle(app, request, body)
    except RegistryError as err:
        return error_response(err)
    except ProtocolError as exc:
        if exc.status == 413:
            return error_response(RegistryError("SIZE_INVALID", exc.message))
        return error_response(RegistryError("BLOB_UPLOAD_INVALID", exc.message))
    except Exception:
        rid = request_id()
        log.exception("registry error on %s %s (request %s)", request.method, request.path, rid)
        return error_response(RegistryError("UNKNOWN", f"internal error (request {rid})", status=500))


async def _handle(app: App, request: HttpRequest, body: Any) -> HttpResponse:
    granted = _authenticate(app, request)
    path, method = request.path, request.method
    if path in ("/v2", "/v2/"):
        if method not in ("GET", "HEAD"):
            raise RegistryError("UNSUPPORTED", "the operation is unsupported", status=405)
        return json_response({})
    if path.rstrip("/") == "/v2/_catalog":
        return _catalog(app, request, granted)
    m = _PATH_RE.fullmatch(path)
    if m is None:
        raise RegistryError("UNSUPPORTED", f"no registry endpoint at {path}", status=404)
    name = unquote(m["name"])
    if not valid_repository_name(name):
        raise RegistryError("NAME_INVALID", "invalid repository name", {"name": name})
    scope = _repository_scope(app, name, granted)
    repo = records.get_repo(app.store, scope, name)
    if repo is None:
        raise RegistryError(
            "NAME_UNKNOWN",
            f"The repository with name '{name}' does not exist in the registry with id '{scope.account}'",
            {"name": name},
        )
    call = Call(app, request, body, scope, repo, files_for(app.data_path))
    return await _dispatch(call, m)


async def _dispatch(call: Call, m: re.Match[str]) -> HttpResponse:
    from gureum.services.ecr import registry_blobs as blobs
    from gureum.services.ecr import registry_manifests as manifests

    method = call.request.method
    if m["tags"]:
        if method != "GET":
            raise RegistryError("UNSUPPORTED", "the operation is unsupported", status=405)
        return _tags_list(call)
    if m["uploads"]:
        return await blobs.upload(call, unquote(m["uuid"] or ""))
    if m["digest"]:
        return await blobs.blob(call, unquote(m["digest"]))
    return await manifests.manifest(call, unquote(m["ref"]))


def _authenticate(app: App, request: HttpRequest) -> Scope | None:
    """The scope valid credentials grant; None for an anonymous request."""
    header = request.headers.get("authorization")
    if header:
        creds = auth.parse_basic(header)
        if creds and creds[0] == auth.USER:
            scope = auth.check_password(auth.token_key(app.data_path), creds[1], app.clock.now())
            if scope is not None:
                return scope
        raise RegistryError("UNAUTHORIZED", "authentication required: the credentials are not valid")
    if auth.auth_mode(app) == "required":
        raise RegistryError("UNAUTHORIZED", "authentication required")
    return None


def _default_scope(app: App) -> Scope:
    return Scope(app.settings.default_account, app.settings.default_region)


def _repository_scope(app: App, name: str, granted: Scope | None) -> Scope:
    if granted is not None:
        return granted
    return records.find_repo(app.store, name, _default_scope(app)) or _default_scope(app)


# -- listings ----------------------------------------------------------------------------


def _catalog(app: App, request: HttpRequest, granted: Scope | None) -> HttpResponse:
    if request.method != "GET":
        raise RegistryError("UNSUPPORTED", "the operation is unsupported", status=405)
    names = records.repo_names(app.store, granted)  # anonymous: every scope
    page, link = paginate(names, request, "/v2/_catalog")
    return json_response({"repositories": page}, link)


def _tags_list(call: Call) -> HttpResponse:
    tags = sorted(records.tags(call.store, call.scope, call.name))
    page, link = paginate(tags, call.request, f"/v2/{call.name}/tags/list")
    return json_response({"name": call.name, "tags": page}, link)


def paginate(items: list[str], request: HttpRequest, path: str) -> tuple[list[str], list[tuple[str, str]]]:
    """``?n=&last=`` paging of a sorted list, with the spec's ``Link`` header."""
    query = dict(parse_qsl(request.query_string, keep_blank_values=True))
    last = query.get("last")
    if last:
        items = [i for i in items if i > last]
    raw_n = query.get("n")
    if raw_n is None or raw_n == "":
        return items, []
    if not raw_n.isdigit():
        raise RegistryError("PAGINATION_NUMBER_INVALID", "invalid number of results requested", {"n": raw_n})
    n = int(raw_n)
    page = items[:n]
    if len(items) > n and page:
        link = f'<{path}?n={n}&last={quote(page[-1], safe="")}>; rel="next"'
        return page, [("link", link)]
    return page, []
