"""Pipeline structure rules (pure) and variable references, as tables."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from gureum.services.codepipeline import variables
from gureum.services.codepipeline.action_types import ActionTypeSpec, Prop, builtin
from gureum.services.codepipeline.pipeline_validation import StructureError, normalize, validate

CUSTOM = ActionTypeSpec("Build", "Custom", "Jenkins", "1", (1, 1), (0, 1), (Prop("Project", required=True, queryable=True),))


def lookup(t: dict[str, str]) -> ActionTypeSpec | None:
    if t["owner"] == "Custom":
        return CUSTOM if (t["category"], t["provider"], t["version"]) == ("Build", "Jenkins", "1") else None
    return builtin(t["category"], t["owner"], t["provider"], t["version"])


def tid(category: str, provider: str, owner: str = "AWS") -> dict[str, str]:
    return {"category": category, "owner": owner, "provider": provider, "version": "1"}


def base() -> dict[str, Any]:
    return {
        "name": "app", "roleArn": "arn:aws:iam::000000000000:role/p", "artifactStore": {"type": "S3", "location": "store"},
        "stages": [
            {"name": "Source", "actions": [{"name": "Src", "actionTypeId": tid("Source", "S3"), "namespace": "SourceVars",
                                             "configuration": {"S3Bucket": "b", "S3ObjectKey": "app.zip"}, "outputArtifacts": [{"name": "Code"}]}]},
            {"name": "Build", "actions": [
                {"name": "Compile", "actionTypeId": tid("Build", "CodeBuild"), "runOrder": 1, "namespace": "BuildVars",
                 "configuration": {"ProjectName": "p", "EnvironmentVariables": '[{"name":"V","value":"#{SourceVars.VersionId}"}]'},
                 "inputArtifacts": [{"name": "Code"}], "outputArtifacts": [{"name": "Bin"}]},
                {"name": "Test", "actionTypeId": tid("Test", "CodeBuild"), "runOrder": 2,
                 "configuration": {"ProjectName": "t"}, "inputArtifacts": [{"name": "Bin"}]},
            ]},
            {"name": "Deploy", "actions": [{"name": "Put", "actionTypeId": tid("Deploy", "S3"), "inputArtifacts": [{"name": "Bin"}],
                                             "configuration": {"BucketName": "site", "Extract": "true", "ObjectKey": "#{BuildVars.TAG}"}}]},
        ],
    }  # fmt: skip


def check(decl: dict[str, Any]) -> None:
    validate(normalize(decl), lookup, "us-east-1")


def test_a_good_pipeline_passes_and_normalize_fills_defaults() -> None:
    decl = normalize(base())
    validate(decl, lookup, "us-east-1")
    assert decl["pipelineType"] == "V1" and decl["executionMode"] == "SUPERSEDED"
    assert decl["stages"][0]["actions"][0]["runOrder"] == 1 and decl["stages"][2]["actions"][0]["outputArtifacts"] == []


Edit = Callable[[dict[str, Any]], None]


def _set(path: list[Any], value: Any) -> Edit:
    def edit(d: dict[str, Any]) -> None:
        for p in path[:-1]:
            d = d[p]
        d[path[-1]] = value

    return edit


def _add_action(stage: int, action: dict[str, Any]) -> Edit:
    return lambda d: d["stages"][stage]["actions"].append(action)


CASES: list[tuple[str, Edit, str, str]] = [
    ("unknown provider", _set(["stages", 1, "actions", 0, "actionTypeId", "provider"], "CodeBuildX"), "InvalidActionDeclarationException",
     "ActionType (Category: 'Build', Provider: 'CodeBuildX', Owner: 'AWS', Version: '1') in action 'Compile' is not available in region 'US_EAST_1'"),
    ("unknown custom type", _set(["stages", 1, "actions", 0, "actionTypeId"], tid("Build", "Nope", "Custom")), "InvalidActionDeclarationException", "is not available in region"),
    ("missing input artifact", _set(["stages", 2, "actions", 0, "inputArtifacts"], [{"name": "Nothing"}]), "InvalidStructureException",
     "Input artifact 'Nothing' of action 'Put' in stage 'Deploy' is not the output artifact of any action in the pipeline"),
    ("same runOrder cycle", _set(["stages", 1, "actions", 1, "runOrder"], 1), "InvalidStructureException",
     "is produced by action 'Compile' with runOrder 1: an action can only use the output artifacts of actions with a lower runOrder"),
    ("lower runOrder consumer", _set(["stages", 1, "actions", 0, "runOrder"], 3), "InvalidStructureException", "with runOrder 3"),
    ("artifact produced twice", _set(["stages", 1, "actions", 1, "outputArtifacts"], [{"name": "Bin"}]), "InvalidStructureException",
     "Output artifact 'Bin' is produced by more than one action ('Compile' and 'Test')"),
    ("input from a later stage", lambda d: (_add_action(2, {"name": "Fn", "actionTypeId": tid("Invoke", "Lambda"), "configuration": {"FunctionName": "f"},
                                                          "outputArtifacts": [{"name": "Late"}]})(d),
                                             _set(["stages", 1, "actions", 1, "inputArtifacts"], [{"name": "Late"}])(d)),
     "InvalidStructureException", "is produced by action 'Fn' in the later stage 'Deploy'"),
    ("duplicate stage names", _set(["stages", 2, "name"], "Build"), "InvalidStructureException", "'Build' is used more than once"),
    ("duplicate action names", _set(["stages", 1, "actions", 1, "name"], "Compile"), "InvalidActionDeclarationException", "Action names must be unique within a stage"),
    ("one stage only", lambda d: d.update(stages=d["stages"][:1]), "InvalidStructureException",
     "Pipeline has only 1 stage(s). There should be a minimum of 2 stages in a pipeline"),
    ("build action in first stage", _add_action(0, {"name": "B", "actionTypeId": tid("Build", "CodeBuild"), "configuration": {"ProjectName": "p"},
                                                     "inputArtifacts": [{"name": "Code"}]}), "InvalidStructureException", "the first stage of a pipeline can only contain source actions"),
    ("source action later", _add_action(2, {"name": "S2", "actionTypeId": tid("Source", "S3"), "configuration": {"S3Bucket": "b", "S3ObjectKey": "k"},
                                             "outputArtifacts": [{"name": "Two"}]}), "InvalidStructureException", "only the first stage of a pipeline can contain source actions"),
    ("missing required config", _set(["stages", 1, "actions", 0, "configuration"], {}), "InvalidActionDeclarationException",
     "Action configuration for action 'Compile' is missing required configuration 'ProjectName'"),
    ("unknown config", _set(["stages", 2, "actions", 0, "configuration", "Colour"], "red"), "InvalidActionDeclarationException", "contains unknown configuration 'Colour'"),
    ("too few inputs", _set(["stages", 2, "actions", 0, "inputArtifacts"], []), "InvalidActionDeclarationException",
     "Action Put declares 0 input artifacts which is less than the minimum count (1)"),
    ("too many outputs", _set(["stages", 0, "actions", 0, "outputArtifacts"], [{"name": "Code"}, {"name": "X"}]), "InvalidActionDeclarationException", "more than the maximum count (1)"),
    ("empty stage", _set(["stages", 2, "actions"], []), "InvalidStageDeclarationException", "Stage 'Deploy' must contain at least one action"),
    ("duplicate namespace", _set(["stages", 1, "actions", 0, "namespace"], "SourceVars"), "InvalidActionDeclarationException",
     "Namespaces must be unique across the pipeline definition"),
    ("reference to a later namespace", _set(["stages", 1, "actions", 0, "configuration", "ProjectName"], "#{BuildVars.X}"), "InvalidActionDeclarationException",
     "no action that runs before it declares the namespace 'BuildVars'"),
    ("unknown system variable", _set(["stages", 2, "actions", 0, "configuration", "ObjectKey"], "#{codepipeline.Nope}"), "InvalidActionDeclarationException", "unknown system variable"),
    ("pipeline variable on V1", _set(["variables"], [{"name": "env"}]), "InvalidStructureException", "Pipeline variables can only be used with V2 pipelines"),
    ("QUEUED on V1", _set(["executionMode"], "QUEUED"), "InvalidStructureException", "Execution mode QUEUED can only be used with V2 pipelines"),
    ("undeclared pipeline variable", lambda d: d.update(pipelineType="V2", stages=_with_key(d, "#{variables.env}")), "InvalidActionDeclarationException",
     "not a variable declared in the pipeline"),
    ("no artifact store", lambda d: d.pop("artifactStore"), "InvalidStructureException", "either artifactStore or artifactStores"),
]  # fmt: skip


def _with_key(d: dict[str, Any], value: str) -> list[dict[str, Any]]:
    stages: list[dict[str, Any]] = d["stages"]
    stages[2]["actions"][0]["configuration"]["ObjectKey"] = value
    return stages


@pytest.mark.parametrize(("label", "edit", "code", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_structures_are_refused_with_aws_errors(label: str, edit: Edit, code: str, message: str) -> None:
    decl = copy.deepcopy(base())
    edit(decl)
    with pytest.raises(StructureError) as info:
        check(decl)
    assert info.value.code == code
    assert message in info.value.message


def test_v2_features_pass_on_v2() -> None:
    decl = base()
    decl.update(pipelineType="V2", executionMode="QUEUED", variables=[{"name": "env", "defaultValue": "dev"}])
    decl["stages"][2]["actions"][0]["configuration"]["ObjectKey"] = "#{variables.env}/#{codepipeline.PipelineExecutionId}"
    check(decl)


def test_custom_action_types_are_checked_like_aws_ones() -> None:
    decl = base()
    decl["stages"][1]["actions"][1] = {"name": "Jenkins", "actionTypeId": tid("Build", "Jenkins", "Custom"), "runOrder": 2,
                                       "configuration": {"Project": "x"}, "inputArtifacts": [{"name": "Bin"}]}  # fmt: skip
    check(decl)
    decl["stages"][1]["actions"][1]["configuration"] = {}
    with pytest.raises(StructureError, match="missing required configuration 'Project'"):
        check(decl)


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("plain", {}, "plain"),
        ("#{ns.a}-#{ns.b}", {"ns": {"a": "1", "b": "2"}}, "1-2"),
        ("#{codepipeline.PipelineExecutionId}", {"codepipeline": {"PipelineExecutionId": "e-1"}}, "e-1"),
        ("#{ not a ref", {}, "#{ not a ref"),
    ],
)
def test_variables_resolve(text: str, values: dict[str, dict[str, str]], expected: str) -> None:
    assert variables.resolve(text, values) == expected


def test_a_missing_variable_is_reported_with_its_reference() -> None:
    with pytest.raises(variables.UnresolvedVariable) as info:
        variables.resolve("x #{Build.TAG}", {"Build": {}})
    assert "#{Build.TAG}" in str(info.value)


def test_pipeline_variable_values() -> None:
    declared = [{"name": "env", "defaultValue": "dev"}, {"name": "region"}]
    assert variables.pipeline_values(declared, [{"name": "region", "value": "eu"}]) == ({"env": "dev", "region": "eu"}, [])
    _, problems = variables.pipeline_values(declared, [{"name": "nope", "value": "x"}])
    assert problems == ["Variable 'nope' is not declared in the pipeline", "Variable 'region' has no default value and no value was provided"]
