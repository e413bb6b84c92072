"""The LogUrl of OpsWorks commands, served by Gureum.

``GET /_gureum/opsworks/logs/<account>/<region>/<command id>`` → the
command's log as ``text/plain`` (404 while it has none).  On AWS a LogUrl
was a presigned S3 URL; here the gateway serves it (gureum/gateway/asgi.py
routes ``/_gureum/opsworks/`` to :func:`log_response`).  Unsigned: a log
URL is a capability to read one log, like a presigned URL.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gureum.core.store import Scope
from gureum.protocol.http import HttpResponse
from gureum.services.opsworks.commands import LOG_PATH, log_text

if TYPE_CHECKING:
    from gureum.app import App
    from gureum.protocol.http import HttpRequest

_LOG_RE = re.compile(re.escape(LOG_PATH) + r"/(\d{12})/([a-z0-9-]+)/([0-9a-f-]{36})")


def log_response(app: App, request: HttpRequest) -> HttpResponse | None:
    if not request.path.startswith("/_gureum/opsworks/"):
        return None
    m = _LOG_RE.fullmatch(request.path.rstrip("/"))
    text = None
    if m is not None and request.method in ("GET", "HEAD"):
        account, region, command_id = m.groups()
        text = log_text(app.store, Scope(account, region), command_id)
    if text is None:
        body = b"no such OpsWorks command log\n"
        return HttpResponse(404, [("content-type", "text/plain"), ("content-length", str(len(body)))], body)
    data = text.encode("utf-8")
    headers = [("content-type", "text/plain; charset=utf-8"), ("content-length", str(len(data)))]
    return HttpResponse(200, headers, b"" if request.method == "HEAD" else data)
