"""Deploy: Amazon S3 — put the input artifact into a bucket, extracted or as one object.

``Extract: true`` unzips the artifact and writes each file under
``ObjectKey`` (a prefix, optional); ``false`` writes the zip itself at
``ObjectKey`` (then required).  Content types follow the file names.
``KMSEncryptionKeyARN``, ``CannedACL`` and ``CacheControl`` are accepted
and not applied (Gureum's S3 has no ACLs or KMS).
"""

from __future__ import annotations

import asyncio
import zipfile

from gureum.core.errors import ServiceError
from gureum.services.codepipeline import artifacts
from gureum.services.codepipeline.providers.base import ActionCall, Outcome, failed, succeeded

TIMEOUT_MINUTES = 20.0


async def start(call: ActionCall) -> Outcome:
    extract = call.config.get("Extract", "").strip().lower()
    if extract not in ("true", "false"):
        return failed("ConfigurationError", f"Extract must be true or false, not '{call.config.get('Extract')}'")
    key = call.config.get("ObjectKey", "")
    if extract == "false" and not key:
        return failed("ConfigurationError", "ObjectKey is required when Extract is false")
    return await asyncio.to_thread(_deploy, call, call.config["BucketName"], extract == "true", key)


async def poll(call: ActionCall) -> Outcome:
    return failed("SystemUnavailable", "The action was interrupted by a restart of Gureum before it finished; retry the stage")


def _deploy(call: ActionCall, bucket: str, extract: bool, key: str) -> Outcome:
    from gureum.services.s3.public import bucket_versioning, put_object_bytes

    try:
        bucket_versioning(call.app, bucket)
    except ServiceError:
        return failed("JobFailed", f"The specified bucket '{bucket}' does not exist")
    data = artifacts.read_bytes(call.app, call.inputs[0])
    if not extract:
        put_object_bytes(call.app, bucket, key, data, content_type="application/zip")
        return succeeded(summary=f"Uploaded the artifact to s3://{bucket}/{key}")
    try:
        members = artifacts.zip_members(data)
    except zipfile.BadZipFile:
        return failed("JobFailed", f"The input artifact '{call.inputs[0].name}' is not a zip file, so it cannot be extracted")
    prefix = key.strip("/")
    for path, body in sorted(members.items()):
        target = f"{prefix}/{path}" if prefix else path
        put_object_bytes(call.app, bucket, target, body, content_type=artifacts.content_type(path))
    where = f"s3://{bucket}/{prefix + '/' if prefix else ''}"
    return succeeded(summary=f"Extracted {len(members)} files to {where}", state={"files": len(members)})
