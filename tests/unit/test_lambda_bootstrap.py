"""The worker side of Lambda: frames, markers, loading handlers, one invocation."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gureum.services.lambda_ import bootstrap
from gureum.services.lambda_.bootstrap import (
    LambdaContext,
    decode_frames,
    encode_frame,
    error_log_line,
    load_handler,
    marker,
    run_one,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(st.lists(st.dictionaries(st.text(), json_values, max_size=4), max_size=5), st.integers(1, 7))
def test_frames_survive_any_split(messages: list[dict[str, Any]], step: int) -> None:
    wire = b"".join(encode_frame(m) for m in messages)
    buffer = bytearray()
    got: list[dict[str, Any]] = []
    for i in range(0, len(wire), step):
        buffer += wire[i : i + step]
        got += decode_frames(buffer)
    assert got == messages and buffer == bytearray()


def test_a_partial_frame_stays_in_the_buffer() -> None:
    wire = encode_frame({"type": "ready"})
    buffer = bytearray(wire[:-1])
    assert decode_frames(buffer) == [] and len(buffer) == len(wire) - 1
    buffer += wire[-1:]
    assert decode_frames(buffer) == [{"type": "ready"}]


def test_marker_is_one_line_carrying_the_id() -> None:
    line = marker("abc-123")
    assert line.endswith("\n") and line.count("\n") == 1
    assert line.startswith(bootstrap.MARKER_START) and "abc-123" in line


@pytest.fixture
def task_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("lbt_")]:
        del sys.modules[name]


def write(root: Path, name: str, text: str) -> None:
    (root / name).write_text(text)


@pytest.mark.parametrize(
    ("files", "spec", "kind", "message"),
    [
        ({}, "nohandler", "Runtime.MalformedHandlerName", "Bad handler 'nohandler': not enough values to unpack (expected 2, got 1)"),
        ({}, "lbt_absent.handler", "Runtime.ImportModuleError", "Unable to import module 'lbt_absent': No module named 'lbt_absent'"),
        ({"lbt_ok.py": "x = 1\n"}, "lbt_ok.handler", "Runtime.HandlerNotFound", "Handler 'handler' missing on module 'lbt_ok'"),
        ({"lbt_syntax.py": "def (:\n"}, "lbt_syntax.handler", "Runtime.UserCodeSyntaxError", "Syntax error in module 'lbt_syntax'"),
        ({"lbt_raises.py": "raise RuntimeError('at import')\n"}, "lbt_raises.handler", "Runtime.ImportModuleError", "Unable to import module 'lbt_raises': at import"),
    ],
)
def test_load_handler_reports_aws_init_errors(
    task_root: Path, files: dict[str, str], spec: str, kind: str, message: str
) -> None:
    for name, text in files.items():
        write(task_root, name, text)
    func, err = load_handler(spec)
    assert func is None and err is not None
    assert err["errorType"] == kind and err["errorMessage"].startswith(message)


def test_load_handler_in_a_package_folder(task_root: Path) -> None:
    (task_root / "lbt_pkg").mkdir()
    write(task_root / "lbt_pkg", "__init__.py", "")
    write(task_root / "lbt_pkg", "mod.py", "def run(e, c):\n    return 'deep'\n")
    for spec in ("lbt_pkg.mod.run", "lbt_pkg/mod.run"):
        func, err = load_handler(spec)
        assert err is None and func({}, None) == "deep"


def message(event: Any = None, **extra: Any) -> dict[str, Any]:
    return {"type": "invoke", "id": "rid-1", "event": json.dumps(event or {}), "remaining_ms": 3000, "arn": "arn:x", **extra}


def test_run_one_returns_the_result_as_json() -> None:
    seen: list[Any] = []

    def handler(event: Any, context: LambdaContext) -> Any:
        seen.append(context)
        return {"got": event, "rid": context.aws_request_id}

    out = run_one(handler, None, message({"a": [1, 2]}))
    assert out["ok"] is True and out["id"] == "rid-1" and out["maxrss_kb"] > 0
    assert json.loads(out["payload"]) == {"got": {"a": [1, 2]}, "rid": "rid-1"}
    assert seen[0].invoked_function_arn == "arn:x"
    assert 2900 < seen[0].get_remaining_time_in_millis() <= 3000


def test_remaining_time_counts_virtual_milliseconds() -> None:
    ctx = LambdaContext(message(remaining_ms=60_000, scale=60.0))
    assert 59_000 < ctx.get_remaining_time_in_millis() <= 60_000


def test_run_one_turns_an_exception_into_aws_error_document(capsys: pytest.CaptureFixture[str]) -> None:
    def handler(event: Any, context: Any) -> Any:
        raise KeyError("missing")

    out = run_one(handler, None, message())
    assert out["ok"] is False and "payload" not in out
    err = out["error"]
    assert err["errorType"] == "KeyError" and err["errorMessage"] == "'missing'" and err["requestId"] == "rid-1"
    assert len(err["stackTrace"]) == 1 and 'raise KeyError("missing")' in err["stackTrace"][0]
    logged = capsys.readouterr().err
    assert logged.startswith("[ERROR] KeyError: 'missing'\rTraceback (most recent call last):\r")
    assert logged.count("\n") == 1  # one event: the lines are joined by \r


def test_run_one_reports_unserializable_results_and_init_errors() -> None:
    out = run_one(lambda e, c: {1, 2}, None, message())
    assert out["error"]["errorType"] == "Runtime.MarshalError"
    assert out["error"]["errorMessage"].startswith("Unable to marshal response: Object of type set")
    init = {"errorType": "Runtime.HandlerNotFound", "errorMessage": "gone", "requestId": "", "stackTrace": []}
    out = run_one(None, init, message())
    assert out["error"] == dict(init, requestId="rid-1")


def test_decimals_are_numbers_in_results() -> None:
    import decimal

    out = run_one(lambda e, c: [decimal.Decimal("3"), decimal.Decimal("1.5")], None, message())
    assert json.loads(out["payload"]) == [3, 1.5]


def test_error_log_line_without_a_stack() -> None:
    line = error_log_line({"errorType": "Runtime.X", "errorMessage": "two\nlines", "stackTrace": []})
    assert line == "[ERROR] Runtime.X: two\rlines\n"
