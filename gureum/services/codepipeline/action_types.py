"""The action types CodePipeline knows: AWS's built-in providers Gureum runs,
and the shape of custom action types (pure data, no I/O).

An action type is identified by (category, owner, provider, version).  Each
has bounds on its input and output artifact counts and a list of
configuration properties (required, key, secret, queryable).  The numbers
are AWS's, from "Valid input and output artifacts for each action type" in
the CodePipeline user guide:

==========  ===============  ======  =======
category    provider         inputs  outputs
==========  ===============  ======  =======
Source      S3               0       1
Build/Test  CodeBuild        1–5     0–5
Deploy      S3               1       0
Deploy      ECS              1       0
Deploy      CodeDeploy       1       0
Deploy      CodeDeployToECS  1–5     0
Invoke      Lambda           0–5     0–5
Approval    Manual           0       0
==========  ===============  ======  =======

Any other AWS provider is "not available in region" here, as an unknown one
is on AWS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Prop:
    name: str
    required: bool = False
    key: bool = False
    secret: bool = False
    queryable: bool = False
    description: str = ""
    type: str = "String"

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "required": self.required, "key": self.key,
                               "secret": self.secret, "queryable": self.queryable, "type": self.type}  # fmt: skip
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True, slots=True)
class ActionTypeSpec:
    category: str
    owner: str
    provider: str
    version: str
    inputs: tuple[int, int]
    outputs: tuple[int, int]
    properties: tuple[Prop, ...] = ()
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> dict[str, str]:
        return {"category": self.category, "owner": self.owner, "provider": self.provider, "version": self.version}

    def prop(self, name: str) -> Prop | None:
        return next((p for p in self.properties if p.name == name), None)

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "actionConfigurationProperties": [p.to_wire() for p in self.properties],
            "inputArtifactDetails": {"minimumCount": self.inputs[0], "maximumCount": self.inputs[1]},
            "outputArtifactDetails": {"minimumCount": self.outputs[0], "maximumCount": self.outputs[1]},
        }
        if self.settings:
            out["settings"] = dict(self.settings)
        return out


def _aws(category: str, provider: str, inputs: tuple[int, int], outputs: tuple[int, int], *props: Prop) -> ActionTypeSpec:
    return ActionTypeSpec(category, "AWS", provider, "1", inputs, outputs, tuple(props))


_CODEBUILD = (
    Prop("ProjectName", required=True, key=True, queryable=True),
    Prop("PrimarySource"),
    Prop("EnvironmentVariables"),
    Prop("BatchEnabled"),
    Prop("CombineArtifacts"),
)
_IMAGES = tuple(Prop(f"Image{i}{kind}") for i in range(1, 5) for kind in ("ArtifactName", "ContainerName"))

BUILTIN: tuple[ActionTypeSpec, ...] = (
    _aws("Source", "S3", (0, 0), (1, 1),
         Prop("S3Bucket", required=True, key=True), Prop("S3ObjectKey", required=True, key=True),
         Prop("PollForSourceChanges"), Prop("AllowOverrideForS3ObjectKey")),
    _aws("Build", "CodeBuild", (1, 5), (0, 5), *_CODEBUILD),
    _aws("Test", "CodeBuild", (1, 5), (0, 5), *_CODEBUILD),
    _aws("Deploy", "S3", (1, 1), (0, 0),
         Prop("BucketName", required=True, key=True), Prop("Extract", required=True), Prop("ObjectKey"),
         Prop("KMSEncryptionKeyARN"), Prop("CannedACL"), Prop("CacheControl")),
    _aws("Deploy", "ECS", (1, 1), (0, 0),
         Prop("ClusterName", required=True, key=True), Prop("ServiceName", required=True, key=True),
         Prop("FileName"), Prop("DeploymentTimeout")),
    _aws("Deploy", "CodeDeploy", (1, 1), (0, 0),
         Prop("ApplicationName", required=True, key=True), Prop("DeploymentGroupName", required=True, key=True)),
    _aws("Deploy", "CodeDeployToECS", (1, 5), (0, 0),
         Prop("ApplicationName", required=True, key=True), Prop("DeploymentGroupName", required=True, key=True),
         Prop("TaskDefinitionTemplateArtifact", required=True), Prop("AppSpecTemplateArtifact", required=True),
         Prop("TaskDefinitionTemplatePath"), Prop("AppSpecTemplatePath"), *_IMAGES),
    _aws("Invoke", "Lambda", (0, 5), (0, 5),
         Prop("FunctionName", required=True, key=True), Prop("UserParameters")),
    _aws("Approval", "Manual", (0, 0), (0, 0),
         Prop("NotificationArn"), Prop("CustomData"), Prop("ExternalEntityLink")),
)  # fmt: skip


def builtin(category: str, owner: str, provider: str, version: str) -> ActionTypeSpec | None:
    for spec in BUILTIN:
        if (spec.category, spec.owner, spec.provider, spec.version) == (category, owner, provider, version):
            return spec
    return None


def custom_spec(doc: dict[str, Any]) -> ActionTypeSpec:
    """A custom action type's stored record (CreateCustomActionType's input) as a spec."""
    props = tuple(
        Prop(p["name"], bool(p.get("required")), bool(p.get("key")), bool(p.get("secret")),
             bool(p.get("queryable")), p.get("description") or "", p.get("type") or "String")
        for p in doc.get("configurationProperties") or []
    )  # fmt: skip
    ins, outs = doc["inputArtifactDetails"], doc["outputArtifactDetails"]
    return ActionTypeSpec(
        doc["category"], "Custom", doc["provider"], doc["version"],
        (int(ins["minimumCount"]), int(ins["maximumCount"])), (int(outs["minimumCount"]), int(outs["maximumCount"])),
        props, dict(doc.get("settings") or {}),
    )  # fmt: skip


def type_label(type_id: dict[str, str]) -> str:
    """``ActionType (Category: 'Build', Provider: 'X', Owner: 'AWS', Version: '1')`` as AWS words it."""
    return (f"ActionType (Category: '{type_id.get('category')}', Provider: '{type_id.get('provider')}', "
            f"Owner: '{type_id.get('owner')}', Version: '{type_id.get('version')}')")  # fmt: skip
