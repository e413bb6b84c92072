"""EC2's error codes and messages, built in one place.

EC2 answers every client error with HTTP 400 and a dotted code
(``InvalidInstanceID.NotFound``); the messages follow AWS's wording.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gureum.core.errors import ServiceError


def client(code: str, message: str) -> ServiceError:
    return ServiceError(code, message, 400, sender_fault=True)


def invalid(message: str) -> ServiceError:
    return client("InvalidParameterValue", message)


def invalid_value(value: Any, member: str) -> ServiceError:
    return invalid(f"Invalid value '{value}' for {member}.")


def missing(member: str) -> ServiceError:
    return client("MissingParameter", f"The request must contain the parameter {member}")


def combination(message: str) -> ServiceError:
    return client("InvalidParameterCombination", message)


def malformed(code: str, value: str, prefix: str) -> ServiceError:
    return client(code, f'Invalid id: "{value}" (expecting "{prefix}-...")')


def instances_not_found(ids: Sequence[str]) -> ServiceError:
    if len(ids) == 1:
        return client("InvalidInstanceID.NotFound", f"The instance ID '{ids[0]}' does not exist")
    return client("InvalidInstanceID.NotFound", f"The instance IDs '{', '.join(ids)}' do not exist")


def image_not_found(ids: Sequence[str]) -> ServiceError:
    return client("InvalidAMIID.NotFound", f"The image id '[{', '.join(ids)}]' does not exist")


def incorrect_state(instance_id: str, verb: str) -> ServiceError:
    return client(
        "IncorrectInstanceState",
        f"The instance '{instance_id}' is not in a state from which it can be {verb}.",
    )


def check_dry_run(req: dict[str, Any]) -> None:
    """``DryRun=true``: the caller may do it, so EC2 answers DryRunOperation (412)."""
    if req.get("DryRun"):
        raise ServiceError(
            "DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412, sender_fault=True
        )


def check_max_results(value: int | None, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        raise invalid(f"Value ( {value} ) for parameter maxResults is invalid. Expecting a value between {low} and {high}.")
