"""Action providers, one module each; :func:`provider_for` picks one by action type.

=======================================  =====================
(owner, category, provider)              module
=======================================  =====================
AWS Source S3                            :mod:`.s3_source`
AWS Build/Test CodeBuild                 :mod:`.codebuild`
AWS Deploy S3                            :mod:`.s3_deploy`
AWS Deploy ECS                           :mod:`.ecs_deploy`
AWS Deploy CodeDeploy / CodeDeployToECS  :mod:`.codedeploy`
AWS Invoke Lambda                        :mod:`.lambda_invoke`
AWS Approval Manual                      :mod:`.manual_approval`
Custom (any)                             :mod:`.custom`
=======================================  =====================
"""

from __future__ import annotations

import importlib
from types import ModuleType

_MODULES = {
    ("AWS", "Source", "S3"): "s3_source",
    ("AWS", "Build", "CodeBuild"): "codebuild",
    ("AWS", "Test", "CodeBuild"): "codebuild",
    ("AWS", "Deploy", "S3"): "s3_deploy",
    ("AWS", "Deploy", "ECS"): "ecs_deploy",
    ("AWS", "Deploy", "CodeDeploy"): "codedeploy",
    ("AWS", "Deploy", "CodeDeployToECS"): "codedeploy",
    ("AWS", "Invoke", "Lambda"): "lambda_invoke",
    ("AWS", "Approval", "Manual"): "manual_approval",
}


def provider_for(type_id: dict[str, str]) -> ModuleType | None:
    if type_id.get("owner") == "Custom":
        name = "custom"
    else:
        found = _MODULES.get((type_id.get("owner", ""), type_id.get("category", ""), type_id.get("provider", "")))
        if found is None:
            return None
        name = found
    return importlib.import_module(f"{__name__}.{name}")
