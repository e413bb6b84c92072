"""Lambda (botocore ``lambda``, protocol rest-json): the handlers, gathered on one ``ServiceApi``.

Functions really run: each function version has a warm pool of worker
processes (the host's ``python3 -I`` running :mod:`.bootstrap`), with AWS's
environment variables (``AWS_ENDPOINT_URL`` points at Gureum, so boto3
inside a function talks to Gureum), timeouts enforced, output and
START/END/REPORT lines in CloudWatch Logs ``/aws/lambda/<name>`` and
``AWS/Lambda`` metrics.

Where things are:

* :mod:`.functions` — Create/Get/List/Update/Delete functions;
* :mod:`.versions`, :mod:`.aliases` — PublishVersion, ListVersionsByFunction, aliases;
* :mod:`.policy` — AddPermission/RemovePermission/GetPolicy, tags;
* :mod:`.invoke_api` → :mod:`.invoke` — Invoke; :mod:`.public` for other services;
* :mod:`.controller` — Pending → Active, unused packages removed.

Engine: :mod:`.records` (store layout), :mod:`.code` (packages on disk),
:mod:`.pool`, :mod:`.worker`, :mod:`.state`.  Pure: :mod:`.names`,
:mod:`.config`, :mod:`.telemetry` (formatting).  Not run: layers, container
images, VPC, file systems; memory is not limited (``MemorySize`` is reported
and ``Max Memory Used`` measured, not enforced).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gureum.services.lambda_ import (  # noqa: F401 - importing registers the handlers
    aliases,
    functions,
    invoke_api,
    policy,
    versions,
)
from gureum.services.lambda_.common import api
from gureum.services.lambda_.controller import register
from gureum.services.lambda_.state import state

if TYPE_CHECKING:
    from gureum.app import App

__all__ = ["api"]


@api.on_startup
def _start(app: App) -> None:
    register(app)
    state(app)


@api.on_reset
def _reset(app: App) -> None:
    state(app).reset()
