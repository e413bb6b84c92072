"""Registry credentials: what GetAuthorizationToken hands out and /v2/ accepts.

The password is self-contained and signed, like ECR's:
``gureum1.<base64url JSON {a: account, r: region, e: expiry}>.<HMAC-SHA256>``
with a key kept in ``<data_dir>/ecr/token.key`` (made on first use, mode
0600), so tokens stay valid across restarts and nothing per token is stored.
The user name is ``AWS``, as with ECR.  A valid token tells the registry which
account and region the request acts in.

Whether the registry *requires* credentials is the setting ``ecr_auth``
(``GUREUM_ECR_AUTH``):

* ``optional`` (default) – anonymous requests are served in the default
  account and region (a repository of another scope is found by name when the
  default scope has none), so ECS tasks and plain ``docker pull`` work without
  a login; credentials that *are* sent must be valid, else 401.  Docker only
  sends credentials after a challenge, so in this mode ``docker login``
  succeeds without the password being checked.
* ``required`` – every request but a valid one gets 401 with
  ``WWW-Authenticate: Basic realm="gureum"``; ``docker login`` then really
  checks the password.  Code that pulls for ECS asks :func:`credentials_for`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from gureum.core.store import Scope

if TYPE_CHECKING:
    from gureum.app import App

USER = "AWS"
TOKEN_LIFETIME = 12 * 3600.0
_PREFIX = "gureum1"


_KEYS: dict[str, bytes] = {}


def token_key(data_path: Path) -> bytes:
    path = data_path / "ecr" / "token.key"
    key = _KEYS.get(str(path))
    if key is None:
        key = _KEYS[str(path)] = _load_or_make_key(path)
    return key


def _load_or_make_key(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)  # first writer wins if two race
    except FileExistsError:
        pass
    tmp.unlink(missing_ok=True)
    return path.read_bytes()


def make_password(key: bytes, scope: Scope, expires_at: float) -> str:
    payload = json.dumps({"a": scope.account, "r": scope.region, "e": int(expires_at)}, separators=(",", ":"))
    body = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    sig = hmac.new(key, f"{_PREFIX}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"{_PREFIX}.{body}.{sig}"


def check_password(key: bytes, password: str, now: float) -> Scope | None:
    """The scope a password grants, or None if forged, garbled or expired."""
    parts = password.split(".")
    if len(parts) != 3 or parts[0] != _PREFIX:
        return None
    want = hmac.new(key, f"{_PREFIX}.{parts[1]}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, parts[2]):
        return None
    try:
        doc = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    if float(doc.get("e", 0)) <= now:
        return None
    return Scope(str(doc.get("a", "")), str(doc.get("r", "")))


def parse_basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def credentials_for(app: App, account: str, region: str) -> tuple[str, str]:
    """(user, password) valid for 12 hours: for Gureum's own pulls (ECS tasks)."""
    key = token_key(app.data_path)
    return USER, make_password(key, Scope(account, region), app.clock.now() + TOKEN_LIFETIME)


def auth_mode(app: App) -> str:
    mode = str(getattr(app.settings, "ecr_auth", "optional") or "optional").lower()
    return "required" if mode == "required" else "optional"
