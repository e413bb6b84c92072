"""Lambda's first slice through boto3 (rest-json): empty list, AWS's 404s."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.e2e


def test_list_functions_is_empty(client: Callable[..., Any]) -> None:
    lam = client("lambda")
    out = lam.list_functions(MaxItems=10)
    assert out["Functions"] == [] and "NextMarker" not in out
    pages = list(lam.get_paginator("list_functions").paginate())
    assert [p["Functions"] for p in pages] == [[]]


@pytest.mark.parametrize(
    ("call", "kwargs", "target"),
    [
        ("get_function", {"FunctionName": "nope"}, "function:nope"),
        ("get_function_configuration", {"FunctionName": "nope", "Qualifier": "3"}, "function:nope:3"),
        ("delete_function", {"FunctionName": "arn:aws:lambda:us-west-2:000000000000:function:gone"}, "function:gone"),
        ("invoke", {"FunctionName": "nope", "Payload": b"{}"}, "function:nope"),
    ],
)
def test_missing_function_is_a_404(client: Callable[..., Any], call: str, kwargs: dict[str, Any], target: str) -> None:
    lam = client("lambda", region="us-west-2")
    with pytest.raises(ClientError) as exc:
        getattr(lam, call)(**kwargs)
    err = exc.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert err["Error"]["Code"] == "ResourceNotFoundException"
    assert err["Error"]["Message"] == f"Function not found: arn:aws:lambda:us-west-2:000000000000:{target}"
    assert err.get("Type") == "User"
    assert isinstance(exc.value, lam.exceptions.ResourceNotFoundException)
