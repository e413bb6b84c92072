"""S3's errors, with its codes, statuses, messages and extra members.

Messages are S3's own wording
(https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
"""

from __future__ import annotations

from gureum.core.errors import ServiceError


def no_such_bucket(bucket: str) -> ServiceError:
    return ServiceError(
        "NoSuchBucket", "The specified bucket does not exist", 404, extra={"BucketName": bucket}
    )


def no_such_key(key: str, headers: dict[str, str] | None = None) -> ServiceError:
    return ServiceError(
        "NoSuchKey", "The specified key does not exist.", 404, extra={"Key": key}, headers=headers
    )


def no_such_version(key: str, version_id: str) -> ServiceError:
    return ServiceError(
        "NoSuchVersion",
        "The specified version does not exist.",
        404,
        extra={"Key": key, "VersionId": version_id},
    )


def no_such_upload(upload_id: str) -> ServiceError:
    return ServiceError(
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, "
        "or the upload may have been aborted or completed.",
        404,
        extra={"UploadId": upload_id},
    )


def invalid_bucket_name(bucket: str) -> ServiceError:
    return ServiceError(
        "InvalidBucketName", "The specified bucket is not valid.", 400, extra={"BucketName": bucket}
    )


def invalid_argument(message: str, name: str = "", value: str = "") -> ServiceError:
    extra: dict[str, object] = {"ArgumentName": name, "ArgumentValue": value} if name else {}
    return ServiceError("InvalidArgument", message, 400, extra=extra)


def invalid_request(message: str) -> ServiceError:
    return ServiceError("InvalidRequest", message, 400)


def bad_digest(what: str) -> ServiceError:
    if what == "Content-MD5":
        msg = "The Content-MD5 you specified did not match what we received."
    else:
        msg = f"The {what} you specified did not match the calculated checksum."
    return ServiceError("BadDigest", msg, 400)


def precondition_failed(condition: str) -> ServiceError:
    return ServiceError(
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
        412,
        extra={"Condition": condition},
    )


def not_modified(headers: dict[str, str] | None = None) -> ServiceError:
    # S3 answers 304 with no body; botocore reports the code "304".
    return ServiceError("NotModified", "Not Modified", 304, headers=headers)


def method_not_allowed(method: str, headers: dict[str, str] | None = None) -> ServiceError:
    return ServiceError(
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
        405,
        extra={"Method": method, "ResourceType": "DeleteMarker"},
        headers=headers,
    )


def malformed_xml() -> ServiceError:
    return ServiceError(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
        400,
    )
