"""The structure rules of a pipeline declaration (pure; no store, no I/O).

:func:`normalize` fills AWS's defaults (``pipelineType`` V1,
``executionMode`` SUPERSEDED, ``runOrder`` 1, empty artifact lists);
:func:`validate` checks a normalized declaration and raises
:class:`StructureError` with the exception AWS names and a message that says
what to fix.  The rules, from the pipeline structure reference:

* V1 pipelines cannot have ``variables``, ``triggers`` or an execution mode
  other than SUPERSEDED (InvalidStructureException);
* exactly one of ``artifactStore`` / ``artifactStores`` (for this region);
* at least two stages; stage names unique; every stage has an action
  (InvalidStageDeclarationException);
* action names unique within a stage; the action type exists
  (InvalidActionDeclarationException "… is not available in region …");
  configuration has every required key and no unknown one; input and
  output artifact counts within the type's bounds;
* the first stage holds only Source actions (at least one); no other stage
  holds one;
* every output artifact name is produced once in the whole pipeline;
* every input artifact is the output of an action that runs earlier: in an
  earlier stage, or in the same stage with a lower ``runOrder`` (an action
  that needs the output of one with the same or a higher runOrder would wait
  for itself — a cycle);
* namespaces unique across the pipeline; a ``#{ns.var}`` reference in
  configuration names ``codepipeline``, ``variables`` (V2, declared) or the
  namespace of an action that runs earlier;
* V2 variable names unique; a trigger's ``sourceActionName`` is a source
  action.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gureum.services.codepipeline import variables
from gureum.services.codepipeline.action_types import ActionTypeSpec, type_label

Decl = dict[str, Any]
Lookup = Callable[[dict[str, str]], ActionTypeSpec | None]

STRUCTURE = "InvalidStructureException"
STAGE = "InvalidStageDeclarationException"
ACTION = "InvalidActionDeclarationException"


@dataclass(frozen=True, slots=True)
class StructureError(Exception):
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def normalize(decl: Decl) -> Decl:
    out = copy.deepcopy(decl)
    out.setdefault("pipelineType", "V1")
    out.setdefault("executionMode", "SUPERSEDED")
    for stage in out.get("stages") or []:
        for action in stage.get("actions") or []:
            action.setdefault("runOrder", 1)
            action.setdefault("inputArtifacts", [])
            action.setdefault("outputArtifacts", [])
    return out


def validate(decl: Decl, lookup: Lookup, region: str) -> None:
    _pipeline_level(decl, region)
    stages = decl["stages"]
    specs: dict[tuple[str, str], ActionTypeSpec] = {}
    for index, stage in enumerate(stages):
        for action in stage["actions"]:
            spec = lookup(action["actionTypeId"])
            if spec is None:
                label = type_label(action["actionTypeId"])
                raise StructureError(ACTION, f"{label} in action '{action['name']}' is not available in region '{region.upper().replace('-', '_')}'")
            specs[(stage["name"], action["name"])] = spec
            _action_shape(action, spec)
            _placement(index, stage["name"], action, spec)
    _artifacts(stages)
    _namespaces(decl)
    _triggers(decl, specs)


def _pipeline_level(decl: Decl, region: str) -> None:
    v1 = decl["pipelineType"] == "V1"
    if v1 and decl.get("variables"):
        raise StructureError(STRUCTURE, "Pipeline variables can only be used with V2 pipelines")
    if v1 and decl.get("triggers"):
        raise StructureError(STRUCTURE, "Triggers can only be used with V2 pipelines")
    if v1 and decl["executionMode"] != "SUPERSEDED":
        raise StructureError(STRUCTURE, f"Execution mode {decl['executionMode']} can only be used with V2 pipelines")
    if bool(decl.get("artifactStore")) == bool(decl.get("artifactStores")):
        raise StructureError(STRUCTURE, "A pipeline must have either artifactStore or artifactStores, but not both")
    stores = decl.get("artifactStores")
    if stores and region not in stores:
        raise StructureError(STRUCTURE, f"artifactStores must include an artifact store for the pipeline's region {region}")
    names = [v["name"] for v in decl.get("variables") or []]
    dup = _first_duplicate(names)
    if dup:
        raise StructureError(STRUCTURE, f"Pipeline variable names must be unique: '{dup}' is declared more than once")
    stages = decl.get("stages") or []
    if len(stages) < 2:
        raise StructureError(STRUCTURE, f"Pipeline has only {len(stages)} stage(s). There should be a minimum of 2 stages in a pipeline")
    dup = _first_duplicate([s["name"] for s in stages])
    if dup:
        raise StructureError(STRUCTURE, f"Stage names must be unique within a pipeline: '{dup}' is used more than once")
    for stage in stages:
        if not stage.get("actions"):
            raise StructureError(STAGE, f"Stage '{stage['name']}' must contain at least one action")
        dup = _first_duplicate([a["name"] for a in stage["actions"]])
        if dup:
            raise StructureError(ACTION, f"Action names must be unique within a stage: '{dup}' is used more than once in stage '{stage['name']}'")


def _action_shape(action: Decl, spec: ActionTypeSpec) -> None:
    name = action["name"]
    config = action.get("configuration") or {}
    for prop in spec.properties:
        if prop.required and prop.name not in config:
            raise StructureError(ACTION, f"Action configuration for action '{name}' is missing required configuration '{prop.name}'")
    for key in config:
        if spec.prop(key) is None:
            raise StructureError(ACTION, f"Action configuration for action '{name}' contains unknown configuration '{key}'")
    for kind, items, (lo, hi) in (("input", action["inputArtifacts"], spec.inputs), ("output", action["outputArtifacts"], spec.outputs)):
        n = len(items)
        if n < lo:
            raise StructureError(ACTION, f"Action {name} declares {n} {kind} artifacts which is less than the minimum count ({lo})")
        if n > hi:
            raise StructureError(ACTION, f"Action {name} declares {n} {kind} artifacts which is more than the maximum count ({hi})")
    dup = _first_duplicate([a["name"] for a in action["inputArtifacts"]])
    if dup:
        raise StructureError(ACTION, f"Action {name} declares the input artifact '{dup}' more than once")


def _placement(index: int, stage: str, action: Decl, spec: ActionTypeSpec) -> None:
    source = spec.category == "Source"
    if index == 0 and not source:
        raise StructureError(
            STRUCTURE,
            f"Action '{action['name']}' of category {spec.category} is in the first stage '{stage}': "
            "the first stage of a pipeline can only contain source actions",
        )
    if index > 0 and source:
        raise StructureError(
            STRUCTURE, f"Source action '{action['name']}' is in stage '{stage}': only the first stage of a pipeline can contain source actions"
        )


def _artifacts(stages: list[Decl]) -> None:
    producers: dict[str, tuple[int, str, int]] = {}  # artifact → (stage index, action, runOrder)
    for si, stage in enumerate(stages):
        for action in stage["actions"]:
            for out in action["outputArtifacts"]:
                if out["name"] in producers:
                    raise StructureError(
                        STRUCTURE,
                        f"Output artifact '{out['name']}' is produced by more than one action "
                        f"('{producers[out['name']][1]}' and '{action['name']}'): output artifact names must be unique in a pipeline",
                    )
                producers[out["name"]] = (si, action["name"], action["runOrder"])
    for si, stage in enumerate(stages):
        for action in stage["actions"]:
            for inp in action["inputArtifacts"]:
                _check_input(inp["name"], si, stage["name"], action, producers, stages)


def _check_input(art: str, si: int, stage: str, action: Decl, producers: dict[str, tuple[int, str, int]], stages: list[Decl]) -> None:
    where = f"Input artifact '{art}' of action '{action['name']}' in stage '{stage}'"
    found = producers.get(art)
    if found is None:
        raise StructureError(STRUCTURE, f"{where} is not the output artifact of any action in the pipeline")
    psi, producer, order = found
    if psi > si:
        raise StructureError(STRUCTURE, f"{where} is produced by action '{producer}' in the later stage '{stages[psi]['name']}'")
    if psi == si and order >= action["runOrder"]:
        raise StructureError(
            STRUCTURE,
            f"{where} is produced by action '{producer}' with runOrder {order}: an action can only use the output "
            f"artifacts of actions with a lower runOrder in its stage (runOrder {action['runOrder']} would wait for itself)",
        )


def _namespaces(decl: Decl) -> None:
    seen: dict[str, tuple[str, str]] = {}
    earlier: set[str] = set()
    declared = {v["name"] for v in decl.get("variables") or []}
    for stage in decl["stages"]:
        ordered = sorted(stage["actions"], key=lambda a: a["runOrder"])
        for order in sorted({a["runOrder"] for a in ordered}):
            group = [a for a in ordered if a["runOrder"] == order]
            for action in group:
                for text in (action.get("configuration") or {}).values():
                    for ns, var in variables.references(text):
                        _check_reference(action["name"], ns, var, earlier, declared, decl["pipelineType"])
            for action in group:
                ns = action.get("namespace")
                if not ns:
                    continue
                if ns in seen or ns in (variables.SYSTEM, variables.PIPELINE):
                    s, a = seen.get(ns, (stage["name"], action["name"]))
                    raise StructureError(
                        ACTION,
                        "Namespaces must be unique across the pipeline definition. The following occur more than once "
                        f"in the pipeline. StageName=[{s}], ActionName=[{a}], Namespace=[{ns}]",
                    )
                seen[ns] = (stage["name"], action["name"])
            earlier |= {a["namespace"] for a in group if a.get("namespace")}


def _check_reference(action: str, ns: str, var: str, earlier: set[str], declared: set[str], ptype: str) -> None:
    ref = f"#{{{ns}.{var}}}"
    if ns == variables.SYSTEM:
        if var not in variables.SYSTEM_NAMES:
            raise StructureError(ACTION, f"Action '{action}' refers to the unknown system variable {ref}")
        return
    if ns == variables.PIPELINE:
        if ptype != "V2" or var not in declared:
            raise StructureError(ACTION, f"Action '{action}' refers to {ref}, which is not a variable declared in the pipeline")
        return
    if ns not in earlier:
        raise StructureError(
            ACTION, f"Action '{action}' refers to {ref}, but no action that runs before it declares the namespace '{ns}'"
        )


def _triggers(decl: Decl, specs: dict[tuple[str, str], ActionTypeSpec]) -> None:
    first = decl["stages"][0]["name"]
    for trig in decl.get("triggers") or []:
        name = (trig.get("gitConfiguration") or {}).get("sourceActionName", "")
        if (first, name) not in specs:
            raise StructureError(STRUCTURE, f"Trigger refers to the source action '{name}', which is not in the first stage of the pipeline")


def _first_duplicate(names: list[str]) -> str | None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            return n
        seen.add(n)
    return None
