"""The Lambda worker: runs inside one warm function process, not in Gureum.

Started as ``python3 -I -u bootstrap.py <fd>`` with the function's
environment, its task root as working directory, and ``<fd>`` one end of a
socket pair whose other end Gureum holds.  This file imports nothing from
Gureum (``-I`` keeps Gureum's folders off ``sys.path``); Gureum imports its
framing helpers, so both sides share one definition of the protocol.

Protocol: frames of a 4-byte big-endian length and UTF-8 JSON.

* worker → Gureum, once, after importing the handler (the init phase):
  ``{"type": "ready", "init_ms": float, "error": null | {…}}``
* Gureum → worker: ``{"type": "invoke", "id", "event" (JSON text),
  "remaining_ms", "scale", "arn", "client_context"}``
* worker → Gureum: ``{"type": "result", "id", "ok", "payload" (JSON text) |
  "error" ({"errorMessage", "errorType", "requestId", "stackTrace"}),
  "maxrss_kb"}``

The function's stdout and stderr (fd 1 and 2, one pipe) are its log.  Before
each ``ready``/``result`` frame the worker flushes both and writes
:func:`marker` (``\\x1egureum:<id>\\x1e\\n``) to fd 1, so Gureum knows which
output lines belong to which invocation although they travel on another
pipe.  An error is logged as AWS's Python runtime logs it, one event whose
lines are joined by ``\\r`` (Gureum turns them back into newlines).

The worker exits when Gureum closes its end of the socket, and (Linux) when
its parent dies.  Time: ``remaining_ms`` is virtual; ``scale`` is Gureum's
time scale, so ``get_remaining_time_in_millis`` counts virtual milliseconds.
"""

from __future__ import annotations

import decimal
import importlib
import json
import logging
import os
import resource
import socket
import struct
import sys
import time
import traceback
from typing import Any

_LEN = struct.Struct(">I")
MARKER_START = "\x1egureum:"
MARKER_END = "\x1e"


def encode_frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return _LEN.pack(len(body)) + body


def decode_frames(buffer: bytearray) -> list[dict[str, Any]]:
    """Take the complete frames off the front of ``buffer`` (the rest stays)."""
    out: list[dict[str, Any]] = []
    while len(buffer) >= _LEN.size:
        (n,) = _LEN.unpack_from(buffer)
        if len(buffer) < _LEN.size + n:
            break
        out.append(json.loads(bytes(buffer[_LEN.size : _LEN.size + n])))
        del buffer[: _LEN.size + n]
    return out


def marker(ident: str) -> str:
    return f"{MARKER_START}{ident}{MARKER_END}\n"


def error_doc(exc: BaseException, request_id: str, skip_frames: int = 1) -> dict[str, Any]:
    frames = traceback.extract_tb(exc.__traceback__)[skip_frames:]
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


def runtime_error(kind: str, message: str) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": f"Runtime.{kind}", "requestId": "", "stackTrace": []}


def error_log_line(err: dict[str, Any]) -> str:
    lines = [f"[ERROR] {err['errorType']}: {err['errorMessage']}"]
    if err.get("stackTrace"):
        lines.append("Traceback (most recent call last):")
        lines += [s.rstrip("\n") for s in err["stackTrace"]]
    return "\r".join(line.replace("\n", "\r") for line in lines) + "\n"


def load_handler(spec: str) -> tuple[Any, dict[str, Any] | None]:
    """(the handler function, None) or (None, the init error as AWS reports it)."""
    try:
        module_name, func_name = spec.rsplit(".", 1)
    except ValueError as exc:
        return None, runtime_error("MalformedHandlerName", f"Bad handler '{spec}': {exc}")
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        return None, runtime_error("ImportModuleError", f"Unable to import module '{module_name}': {exc}")
    except SyntaxError as exc:
        return None, runtime_error("UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}")
    except Exception as exc:  # noqa: BLE001 - any failure of the user's module is its init error
        err = error_doc(exc, "", skip_frames=0)
        err["errorType"], err["errorMessage"] = "Runtime.ImportModuleError", (
            f"Unable to import module '{module_name}': {exc}"
        )
        return None, err
    func = getattr(module, func_name, None)
    if func is None:
        return None, runtime_error("HandlerNotFound", f"Handler '{func_name}' missing on module '{module_name}'")
    return func, None


class LambdaContext:
    """What AWS's Python runtime passes as ``context`` (same attribute names)."""

    def __init__(self, msg: dict[str, Any]) -> None:
        env = os.environ
        self.aws_request_id: str = msg["id"]
        self.invoked_function_arn: str = msg.get("arn") or ""
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = msg.get("client_context")
        self.identity = None
        self._scale = float(msg.get("scale") or 1.0)
        self._deadline = time.monotonic() + float(msg.get("remaining_ms", 0)) / 1000.0 / self._scale

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000 * self._scale))


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


def _install_logging() -> _RequestIdFilter:
    handler = logging.StreamHandler(sys.stdout)
    fmt = logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
                            "%Y-%m-%dT%H:%M:%S")
    fmt.converter = time.gmtime
    handler.setFormatter(fmt)
    flt = _RequestIdFilter()
    handler.addFilter(flt)
    logging.getLogger().addHandler(handler)
    return flt


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _end_of_output(ident: str) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a handler may have closed or replaced them
            pass
    os.write(1, marker(ident).encode())


def run_one(func: Any, init_error: dict[str, Any] | None, msg: dict[str, Any]) -> dict[str, Any]:
    rid = msg["id"]
    out: dict[str, Any] = {"type": "result", "id": rid}
    err: dict[str, Any] | None = dict(init_error, requestId=rid) if init_error else None
    if err is None:
        try:
            result = func(json.loads(msg.get("event") or "{}"), LambdaContext(msg))
            try:
                out["payload"] = json.dumps(result, default=_json_default)
            except (TypeError, ValueError) as exc:
                err = runtime_error("MarshalError", f"Unable to marshal response: {exc}")
                err["requestId"] = rid
        except Exception as exc:  # noqa: BLE001 - the function's error is its result
            err = error_doc(exc, rid)
    if err is not None:
        sys.stderr.write(error_log_line(err))
        out["error"] = err
    out["ok"] = err is None
    out["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return out


def _die_with_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except Exception:  # noqa: BLE001 - not Linux: the closed socket still ends the worker
        pass


def _recv(sock: socket.socket, buffer: bytearray) -> dict[str, Any] | None:
    while True:
        frames = decode_frames(buffer)
        if frames:
            return frames[0]
        data = sock.recv(1 << 16)
        if not data:
            return None
        buffer += data


def main(argv: list[str]) -> int:
    _die_with_parent()
    sock = socket.socket(fileno=int(argv[1]))
    sock.setblocking(True)
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    sys.path.insert(0, task_root)
    flt = _install_logging()
    started = time.monotonic()
    func, init_error = load_handler(os.environ.get("_HANDLER", ""))
    if init_error is not None:
        sys.stderr.write(error_log_line(init_error))
    _end_of_output("init")
    init_ms = (time.monotonic() - started) * 1000
    sock.sendall(encode_frame({"type": "ready", "init_ms": init_ms, "error": init_error}))
    buffer = bytearray()
    while (msg := _recv(sock, buffer)) is not None:
        if msg.get("type") != "invoke":
            continue
        flt.request_id = msg["id"]
        result = run_one(func, init_error, msg)
        _end_of_output(msg["id"])
        sock.sendall(encode_frame(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
