"""The three error families.

* Wire errors (:class:`ProtocolError`) – the client sent bytes we cannot read;
  answered 4xx in the protocol's own error format.
* Service errors (:class:`ServiceError`) – an operation refuses a request, by
  AWS's error code ("ResourceNotFoundException", "NoSuchBucket").  The HTTP
  status and sender/receiver fault come from the service model when the code
  is modelled there, else from the values given here.
* Controller errors (:class:`TemporaryError`, :class:`PermanentError`) – a
  reconcile step could not finish; the runner retries after ``delay`` or gives
  up.

Anything else escaping a handler is our bug: the gateway logs it with the
request id and answers ``InternalFailure`` (500).  Never a traceback.
"""

from __future__ import annotations


class GureumError(Exception):
    """Base of every error Gureum raises on purpose."""


class ServiceError(GureumError):
    """An AWS-style error raised by an operation handler."""

    def __init__(
        self,
        code: str,
        message: str = "",
        status: int | None = None,
        *,
        sender_fault: bool | None = None,
        extra: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.sender_fault = sender_fault
        # Extra members of the modelled error shape (e.g. S3's BucketName).
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})


class ValidationError(ServiceError):
    """Input failed the model's constraints; the protocol picks the code.

    Services disagree on the name (``ValidationException`` for most JSON
    services, ``ValidationError`` for query ones, ``InvalidParameterValue`` for
    EC2, ``InvalidArgument`` for S3) so the gateway renames it per service.
    """

    def __init__(self, message: str, code: str = "ValidationException") -> None:
        super().__init__(code, message, 400, sender_fault=True)


class ProtocolError(GureumError):
    """The request cannot be decoded (malformed body, wrong content type…)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class NotImplementedOperation(ServiceError):
    def __init__(self, service: str, operation: str) -> None:
        super().__init__(
            "NotImplemented",
            f"The operation {operation} of service {service} is not implemented in Gureum yet",
            501,
            sender_fault=False,
        )


class InternalFailure(ServiceError):
    def __init__(self, request_id: str) -> None:
        super().__init__(
            "InternalFailure",
            f"The request processing has failed because of an unknown error (request {request_id})",
            500,
            sender_fault=False,
        )


class TemporaryError(GureumError):
    """A reconcile step should be retried after ``delay`` seconds."""

    def __init__(self, message: str, delay: float = 1.0) -> None:
        super().__init__(message)
        self.delay = delay


class PermanentError(GureumError):
    """A reconcile step cannot succeed by retrying."""
