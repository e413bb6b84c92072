"""botocore service models, loaded lazily and cached.

botocore is imported on first use only: ``gureum up`` answers its health
check before any model is read, and a service's model is parsed the first
time a request for it arrives.

Models are looked up in Gureum's own model folder (:data:`DATA_PATH`,
``gureum/models``: services botocore no longer ships, such as OpsWorks) before
botocore's data.  ``gureum data-path`` prints that folder, so
``AWS_DATA_PATH=$(gureum data-path)`` gives boto3 and the AWS CLI the same models.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel


DATA_PATH = Path(__file__).resolve().parent.parent / "models"


@functools.cache
def _loader() -> Any:
    from botocore.loaders import Loader

    return Loader(extra_search_paths=[str(DATA_PATH)])


@functools.cache
def service_model(name: str) -> ServiceModel:
    """The botocore ``ServiceModel`` for a service name (``"logs"``, ``"s3"``)."""
    from botocore.model import ServiceModel

    data = _loader().load_service_model(name, "service-2")
    return ServiceModel(data, service_name=name)


def operation_model(service: str, operation: str) -> OperationModel:
    return service_model(service).operation_model(operation)


@functools.cache
def available_services() -> frozenset[str]:
    return frozenset(_loader().list_available_services("service-2"))


def validation_error_code(service: ServiceModel) -> str:
    """The error code a service uses when input fails the model's constraints."""
    name = service.service_name
    if name == "ec2":
        return "InvalidParameterValue"
    if name == "s3":
        return "InvalidArgument"
    if name == "logs":  # "InvalidParameterException: 1 validation error detected: …" on AWS
        return "InvalidParameterException"
    errors = {s.name for s in service.error_shapes}
    if "ValidationException" in errors:
        return "ValidationException"
    if "ValidationError" in errors or service.protocol == "query":
        return "ValidationError"
    return "ValidationException"
