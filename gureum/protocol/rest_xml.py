"""The rest-xml protocol: S3, Route 53, CloudFront.

Routing and the members bound to the URI, query string and headers come
from :mod:`gureum.protocol.rest`; this module adds the XML body.

Request body:

* the input's ``payload`` member, when the model names one: a blob/string
  payload is the raw body (the request's ``stream`` object itself for a
  streaming payload such as S3 ``PutObject``'s ``Body``); a structure payload
  (``CreateBucketConfiguration``, ``CompleteMultipartUpload``) is read from
  the document's root element;
* otherwise the remaining members are the root element's children
  (Route 53's ``<CreateHostedZoneRequest>``).

Malformed XML is ``400 MalformedXML``.  An empty body is no payload, except
that a required blob/string payload is then ``b""``/``""`` (the handler
judges it, as S3 answers ``PutBucketPolicy`` with an empty policy).

Response: status from the operation's ``responseCode`` (or a ``statusCode``
member), header members as headers, then the body — a blob/string payload
passed through (bytes, or an async iterator for S3 ``GetObject``), else an
XML document whose root is the structure payload's ``locationName`` or
member name, or for plain outputs the output's name as AWS spells it (S3
names most roots differently from the model: ``ListBucketResult`` for
``ListObjectsV2Output``; the table below holds those documented names).  A
root whose only member is a scalar of the same name carries it as its text
(S3 ``<LocationConstraint>eu-west-1</LocationConstraint>``).

Every response carries ``x-amz-request-id`` and ``x-amz-id-2`` (S3) or
``x-amzn-RequestId`` (others).  HEAD requests and 304s carry no body, errors
included (``meta.extra["method"]`` tells the method): clients then read the
status alone — botocore maps a bodiless 404 to the code ``"404"``.

Errors: S3 ``<Error><Code/><Message/>[extra members: BucketName, Key…]
<RequestId/><HostId/></Error>``; other services the query-style
``<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>``.
No route → S3 ``405 MethodNotAllowed``; others ``404 UnknownOperationException``.
Pure: no I/O.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from gureum.core.errors import ProtocolError, ServiceError
from gureum.protocol import modelled_errors, query, rest
from gureum.protocol.http import HttpRequest, HttpResponse, ResponseMeta
from gureum.protocol.validate import validate_input
from gureum.protocol.wire_values import BadValue
from gureum.protocol.xml_ import (
    XML_DECLARATION,
    MalformedXml,
    escape_text,
    is_body_member,
    namespace_attr,
    parse_document,
    read_members,
    write_element,
    write_members,
)

content_type = "application/xml"

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
MALFORMED_XML = (
    "The XML you provided was not well-formed or did not validate against our published schema"
)

# Root elements of S3 outputs, as the S3 API reference documents them, where
# they differ from the model's output shape name.
S3_ROOTS = {
    "CompleteMultipartUpload": "CompleteMultipartUploadResult",
    "CreateMultipartUpload": "InitiateMultipartUploadResult",
    "CreateSession": "CreateSessionResult",
    "DeleteObjects": "DeleteResult",
    "GetBucketAccelerateConfiguration": "AccelerateConfiguration",
    "GetBucketAcl": "AccessControlPolicy",
    "GetObjectAcl": "AccessControlPolicy",
    "GetBucketCors": "CORSConfiguration",
    "GetBucketLifecycle": "LifecycleConfiguration",
    "GetBucketLifecycleConfiguration": "LifecycleConfiguration",
    "GetBucketLocation": "LocationConstraint",
    "GetBucketLogging": "BucketLoggingStatus",
    "GetBucketNotification": "NotificationConfiguration",
    "GetBucketNotificationConfiguration": "NotificationConfiguration",
    "GetBucketRequestPayment": "RequestPaymentConfiguration",
    "GetBucketTagging": "Tagging",
    "GetObjectTagging": "Tagging",
    "GetBucketVersioning": "VersioningConfiguration",
    "GetBucketWebsite": "WebsiteConfiguration",
    "GetObjectAttributes": "GetObjectAttributesResponse",
    "ListBucketAnalyticsConfigurations": "ListBucketAnalyticsConfigurationResult",
    "ListBucketInventoryConfigurations": "ListInventoryConfigurationsResult",
    "ListBucketMetricsConfigurations": "ListMetricsConfigurationsResult",
    "ListBuckets": "ListAllMyBucketsResult",
    "ListDirectoryBuckets": "ListAllMyDirectoryBucketsResult",
    "ListMultipartUploads": "ListMultipartUploadsResult",
    "ListObjectVersions": "ListVersionsResult",
    "ListObjects": "ListBucketResult",
    "ListObjectsV2": "ListBucketResult",
    "ListParts": "ListPartsResult",
}


def _is_s3(service: Any) -> bool:
    return (
        service.service_name in ("s3", "s3control") or service.metadata.get("signingName") == "s3"
    )


# -- request ---------------------------------------------------------------------------


def find_operation(service: Any, request: HttpRequest) -> tuple[Any, dict[str, str]]:
    if not _is_s3(service):
        return rest.find_rest_operation(service, request)
    try:
        return rest.find_rest_operation(service, request, "MethodNotAllowed")
    except ProtocolError as exc:
        exc.status = 405
        exc.message = "The specified method is not allowed against this resource."
        raise


def parse_request(
    operation: Any, request: HttpRequest, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    shape = operation.input_shape
    if shape is None:
        return {}
    s3 = _is_s3(operation.service_model)
    params = rest.bind_rest_members(
        shape, request, labels, "InvalidArgument" if s3 else "InvalidInput"
    )
    payload = shape.serialization.get("payload")
    if payload:
        value = _payload_value(shape.members[payload], request, payload in shape.required_members)
        if value is not None:
            params[payload] = value
    elif request.body and any(is_body_member(m) for m in shape.members.values()):
        params.update(_read_xml(shape, request.body))
    validate_input(shape, params)
    return params


def _payload_value(member: Any, request: HttpRequest, required: bool) -> Any:
    if member.type_name in ("blob", "string"):
        if request.stream is not None:
            return request.stream
        if not request.body and not (required or member.serialization.get("streaming")):
            return None
        if member.type_name == "blob":
            return request.body
        try:
            return request.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(
                "InvalidArgument", "The request body is not valid UTF-8", 400
            ) from exc
    if not request.body:
        return None
    return _read_xml(member, request.body)


def _read_xml(shape: Any, body: bytes) -> dict[str, Any]:
    try:
        return read_members(shape, parse_document(body))
    except (MalformedXml, BadValue) as exc:
        raise ProtocolError("MalformedXML", MALFORMED_XML, 400) from exc


# -- response --------------------------------------------------------------------------


def namespace(service: Any) -> str:
    if _is_s3(service):
        return S3_NAMESPACE
    return query.namespace(service)


def serialize_response(operation: Any, output: dict[str, Any], meta: ResponseMeta) -> HttpResponse:
    shape = operation.output_shape
    status = int(operation.http.get("responseCode", 200))
    status, raw_headers, rest_members = rest.rest_output_headers(shape, output, status)
    headers = [(k.lower(), v) for k, v in raw_headers] + _id_headers(operation.service_model, meta)
    body: Any = b""
    if shape is not None:
        payload = shape.serialization.get("payload")
        if payload:
            body = _payload_body(operation, shape.members[payload], payload, rest_members, headers)
        elif any(is_body_member(m) for m in shape.members.values()):
            body = _document(operation, shape, rest_members)
            headers.append(("content-type", content_type))
    if status == 304 or meta.extra.get("method") == "HEAD":
        body = b""
    return HttpResponse(status, headers, body)


def _payload_body(
    operation: Any, member: Any, name: str, values: dict[str, Any], headers: list[tuple[str, str]]
) -> Any:
    value = values.get(name)
    if member.type_name in ("blob", "string"):
        if value is None:
            return b""
        if member.type_name == "blob" and not any(k == "content-type" for k, _ in headers):
            headers.append(("content-type", "binary/octet-stream"))
        return value.encode("utf-8") if isinstance(value, str) else value
    if value is None:
        return b""
    tag = str(member.serialization.get("name", name))
    # write_element declares the member's own namespace; else the service's.
    default_ns = "" if namespace_attr(member) else f' xmlns="{namespace(operation.service_model)}"'
    out = [XML_DECLARATION, "\n"]
    write_element(out, tag, member, value, default_ns)
    headers.append(("content-type", content_type))
    return "".join(out).encode("utf-8")


def root_name(operation: Any) -> str:
    """The root element of a non-payload output document."""
    shape = operation.output_shape
    if "name" in shape.serialization:
        return str(shape.serialization["name"])
    if _is_s3(operation.service_model) and operation.name in S3_ROOTS:
        return S3_ROOTS[operation.name]
    name = str(shape.name)
    return name[: -len("Output")] + "Result" if name.endswith("Output") else name


def _document(operation: Any, shape: Any, values: dict[str, Any]) -> bytes:
    root = root_name(operation)
    attrs = namespace_attr(shape) or f' xmlns="{namespace(operation.service_model)}"'
    body_members = [(n, m) for n, m in shape.members.items() if is_body_member(m)]
    out = [XML_DECLARATION, "\n"]
    if len(body_members) == 1 and body_members[0][0] == root and _is_scalar(body_members[0][1]):
        # <LocationConstraint>eu-west-1</LocationConstraint>: the root is the value.
        name, member = body_members[0]
        if values.get(name) is None:
            out.append(f"<{root}{attrs}/>")
        else:
            write_element(out, root, member, values[name], attrs)
    else:
        out.append(f"<{root}{attrs}>")
        write_members(out, shape, values)
        out.append(f"</{root}>")
    return "".join(out).encode("utf-8")


def _is_scalar(shape: Any) -> bool:
    return shape.type_name not in ("structure", "list", "map")


# -- errors ----------------------------------------------------------------------------


def serialize_error(service: Any, error: ServiceError, meta: ResponseMeta) -> HttpResponse:
    resolved = modelled_errors.resolve(service, error)
    headers = _id_headers(service, meta) + [(k.lower(), v) for k, v in error.headers.items()]
    if resolved.status == 304 or meta.extra.get("method") == "HEAD":
        return HttpResponse(resolved.status, headers, b"")
    rid = escape_text(meta.request_id)
    if _is_s3(service):
        out = [
            XML_DECLARATION,
            f"\n<Error><Code>{escape_text(resolved.code)}</Code>",
            f"<Message>{escape_text(error.message)}</Message>",
        ]
        query.write_extra(out, resolved.shape, error.extra)
        out.append(
            f"<RequestId>{rid}</RequestId><HostId>{escape_text(host_id(meta))}</HostId></Error>"
        )
    else:
        out = [
            XML_DECLARATION,
            f'\n<ErrorResponse xmlns="{namespace(service)}"><Error>',
            f"<Type>{'Sender' if resolved.sender_fault else 'Receiver'}</Type>",
            f"<Code>{escape_text(resolved.code)}</Code>",
            f"<Message>{escape_text(error.message)}</Message>",
        ]
        query.write_extra(out, resolved.shape, error.extra)
        out.append(f"</Error><RequestId>{rid}</RequestId></ErrorResponse>")
    headers.append(("content-type", content_type))
    return HttpResponse(resolved.status, headers, "".join(out).encode("utf-8"))


# -- ids -------------------------------------------------------------------------------


def host_id(meta: ResponseMeta) -> str:
    """S3's ``x-amz-id-2``: given by the gateway, else derived from the request id."""
    given = meta.extra.get("host_id")
    if given:
        return str(given)
    digest = hashlib.sha256(meta.request_id.encode("utf-8")).digest() * 2
    return base64.b64encode(digest).decode("ascii")


def _id_headers(service: Any, meta: ResponseMeta) -> list[tuple[str, str]]:
    if _is_s3(service):
        return [("x-amz-request-id", meta.request_id), ("x-amz-id-2", host_id(meta))]
    return [("x-amzn-requestid", meta.request_id)]
