"""UPLOAD_ARTIFACTS and the reports a build records.

Where an artifact goes (:func:`artifact_target`, pure), for artifacts type

* ``S3``: bucket ``location``, key ``<path>/<build uuid if namespaceType is
  BUILD_ID>/<name>``; ``name`` is the buildspec's ``artifacts.name`` when
  the project sets ``overrideArtifactName``, else the project's (else the
  project name).  ``packaging: ZIP`` uploads one zip at that key; ``NONE``
  (the default) uploads each file under ``<key>/``;
* ``CODEPIPELINE``: the bucket and key the pipeline asked for, always a zip;
* ``NO_ARTIFACTS``: nothing.

Failures are CodeBuild's ``CLIENT_ERROR``s: "no matching base directory
path found for <dir>", "no matching artifact paths found", or S3's error
for a missing bucket.  A buildspec without an ``artifacts`` section uploads
nothing and succeeds.

Reports: each ``reports`` group's files are picked like artifacts; JUnit
XML files are read for test counts (:func:`junit_summary`, pure).
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from gureum.core.errors import ServiceError
from gureum.services.codebuild.artifact_files import select_files
from gureum.services.codebuild.buildspec import FileSet, ReportSpec
from gureum.services.codebuild.runner.workspace import list_files

if TYPE_CHECKING:
    from gureum.app import App


class ArtifactError(Exception):
    status_code = "CLIENT_ERROR"


@dataclass(frozen=True, slots=True)
class ArtifactTarget:
    bucket: str
    key: str
    packaging: str = "NONE"  # ZIP | NONE

    @property
    def location(self) -> str:
        return f"arn:aws:s3:::{self.bucket}/{self.key}"


def artifact_target(
    cfg: dict[str, Any], project: str, build_uuid: str, buildspec_name: str = "", pipeline: dict[str, Any] | None = None
) -> ArtifactTarget | None:
    kind = cfg.get("type", "NO_ARTIFACTS")
    if kind == "CODEPIPELINE":
        if not pipeline:
            return None
        return ArtifactTarget(pipeline["bucket"], pipeline["key"], "ZIP")
    if kind != "S3":
        return None
    name = cfg.get("name") or project
    if cfg.get("overrideArtifactName") and buildspec_name:
        name = buildspec_name
    parts = [cfg.get("path") or "", build_uuid if cfg.get("namespaceType") == "BUILD_ID" else "", name]
    key = "/".join(p.strip("/") for p in parts if p.strip("/"))
    return ArtifactTarget(cfg["location"], key, cfg.get("packaging") or "NONE")


def pick(src: Path, spec: FileSet) -> list[tuple[str, str]]:
    base = spec.base_directory
    if base and not (src / base).is_dir():
        raise ArtifactError(f"no matching base directory path found for {base}")
    files = select_files(list_files(src), spec)
    if not files:
        raise ArtifactError("no matching artifact paths found")
    return files


def write_zip(src: Path, files: list[tuple[str, str]], dest: Path) -> None:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, name in files:
            zf.write(src / path, name)


def upload_artifacts(app: App, src: Path, spec: FileSet | None, target: ArtifactTarget, scratch: Path) -> dict[str, str]:
    """Upload the picked files; returns ``md5sum``/``sha256sum`` of a zip (empty otherwise)."""
    from gureum.services.s3.public import put_object_file

    if spec is None:
        return {}
    files = pick(src, spec)
    try:
        if target.packaging == "ZIP":
            write_zip(src, files, scratch)
            put_object_file(app, target.bucket, target.key, scratch, content_type="application/zip")
            data = scratch.read_bytes()
            return {"md5sum": hashlib.md5(data).hexdigest(), "sha256sum": hashlib.sha256(data).hexdigest()}
        for path, name in files:
            put_object_file(app, target.bucket, f"{target.key}/{name}" if target.key else name, src / path)
    except ServiceError as exc:
        raise ArtifactError(f"{exc.code}: {exc.message} (bucket {target.bucket})") from None
    return {}


# -- reports --------------------------------------------------------------------------------------


def junit_summary(data: bytes) -> dict[str, int]:
    """Test counts of a JUnit XML report (``testsuites`` or ``testsuite`` root)."""
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return {}
    out = {"total": 0, "succeeded": 0, "failed": 0, "skipped": 0, "error": 0}
    for case in root.iter("testcase"):
        out["total"] += 1
        if case.find("failure") is not None:
            out["failed"] += 1
        elif case.find("error") is not None:
            out["error"] += 1
        elif case.find("skipped") is not None:
            out["skipped"] += 1
        else:
            out["succeeded"] += 1
    return out


def collect_report(src: Path, spec: ReportSpec) -> dict[str, Any]:
    """What one report group's files say: their names and, for JUnit, the test counts."""
    try:
        files = pick(src, spec.files)
    except ArtifactError as exc:
        return {"files": [], "status": "FAILED", "message": str(exc)}
    totals: dict[str, int] = {}
    if spec.file_format.startswith("JUNIT"):
        for path, _ in files:
            for k, v in junit_summary((src / path).read_bytes()).items():
                totals[k] = totals.get(k, 0) + v
    failed = totals.get("failed", 0) + totals.get("error", 0)
    return {"files": [name for _, name in files], "counts": totals, "status": "FAILED" if failed else "SUCCEEDED"}
