"""Gureum's services, one folder each.

``SERVICES`` maps a botocore service name to the module holding its
:class:`~gureum.services.api.ServiceApi`.  Modules are imported on the first
request for their service, so start-up stays fast.

``RESUME`` lists services whose controllers must run from start-up when the
store holds their resources (tasks to keep alive after a restart): the app
loads those at start, without waiting for a request.
"""

from __future__ import annotations

SERVICES: dict[str, str] = {
    "sts": "gureum.services.sts.api",
    "ec2": "gureum.services.ec2.api",
    "logs": "gureum.services.logs.api",
    "cloudwatch": "gureum.services.cloudwatch.api",
    "s3": "gureum.services.s3.api",
    "lambda": "gureum.services.lambda_.api",
    "ecr": "gureum.services.ecr.api",
    "ecs": "gureum.services.ecs.api",
    "codebuild": "gureum.services.codebuild.api",
    "elbv2": "gureum.services.elbv2.api",
    "acm": "gureum.services.acm.api",
    "codedeploy": "gureum.services.codedeploy.api",
    "autoscaling": "gureum.services.autoscaling.api",
    "application-autoscaling": "gureum.services.applicationautoscaling.api",
    "codepipeline": "gureum.services.codepipeline.api",
    "opsworks": "gureum.services.opsworks.api",
}

RESUME: dict[str, tuple[str, ...]] = {
    "ecs": ("ecs.task", "ecs.service"),
    "logs": ("logs.group",),  # the retention controller
    "codebuild": ("codebuild.active",),  # builds left in progress
    "ec2": ("ec2.instance", "ec2.image"),  # instances to re-adopt, AMIs to finish
    "cloudwatch": ("cloudwatch.alarm",),  # the alarm evaluator
    "elbv2": ("elbv2.lb", "elbv2.tg"),  # listeners re-open, health checks resume
    "codedeploy": ("codedeploy.active",),  # deployments left in progress
    "autoscaling": ("autoscaling.group",),  # groups keep their capacity, hooks time out
    "application-autoscaling": ("applicationautoscaling.target",),  # policies answer alarms, schedules run
    "codepipeline": ("codepipeline.active", "codepipeline.watch"),  # executions go on, S3 sources watched
    "opsworks": ("opsworks.instance",),  # agents watched, commands polled, instances healed
}
