"""The S3 ``ServiceApi``; handler modules register on it, ``api.py`` imports them all."""

from __future__ import annotations

from gureum.services.api import ServiceApi

api = ServiceApi("s3")
