"""ECS service errors with the messages ECS itself returns."""

from __future__ import annotations

from gureum.core.errors import ServiceError


def client(message: str) -> ServiceError:
    return ServiceError("ClientException", message, 400, sender_fault=True)


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterException", message, 400, sender_fault=True)


def cluster_not_found() -> ServiceError:
    return ServiceError("ClusterNotFoundException", "Cluster not found.", 400, sender_fault=True)


def service_not_found() -> ServiceError:
    return ServiceError("ServiceNotFoundException", "Service not found.", 400, sender_fault=True)


def service_not_active() -> ServiceError:
    return ServiceError("ServiceNotActiveException", "Service was not ACTIVE.", 400, sender_fault=True)


def taskdef_not_found() -> ServiceError:
    return client("TaskDefinition not found.")


def cluster_contains_services() -> ServiceError:
    return ServiceError(
        "ClusterContainsServicesException",
        "The Cluster cannot be deleted while Services are active.",
        400,
        sender_fault=True,
    )


def cluster_contains_tasks() -> ServiceError:
    return ServiceError(
        "ClusterContainsTasksException",
        "The Cluster cannot be deleted while Tasks are active.",
        400,
        sender_fault=True,
    )


def cluster_contains_instances() -> ServiceError:
    return ServiceError(
        "ClusterContainsContainerInstancesException",
        "The Cluster cannot be deleted while Container Instances are active or draining.",
        400,
        sender_fault=True,
    )


def resource_not_found(message: str = "The specified resource could not be found.") -> ServiceError:
    return ServiceError("ResourceNotFoundException", message, 400, sender_fault=True)
