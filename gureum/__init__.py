"""Gureum (구름): a local, AWS-compatible DevOps cloud that really runs workloads."""

__version__ = "0.1.0"
