"""Application Auto Scaling on a real (in-memory) store: an ECS service made through
ECS's own handlers, targets, policies run by alarm actions on the bus, cooldowns,
scheduled actions and activities."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.errors import ServiceError
from gureum.core.store import Scope, SqliteStore
from gureum.services.api import RequestContext
from gureum.services.applicationautoscaling import controller as aas_controller
from gureum.services.applicationautoscaling import names
from gureum.settings import Settings

ACCOUNT, REGION = "123456789012", "us-east-1"
SCOPE = Scope(ACCOUNT, REGION)
START = 1_767_225_600.0
RID = "service/c1/web"
TARGET = dict(ServiceNamespace="ecs", ResourceId=RID, ScalableDimension="ecs:service:DesiredCount")


class World:
    def __init__(self, app: App) -> None:
        self.app = app
        self.clock: SimClock = app.clock  # type: ignore[assignment]

    def call(self, service: str, op: str, **req: Any) -> dict[str, Any]:
        api = self.app.service_api(service)
        assert api is not None
        result = api.handlers[op](RequestContext(service, op, ACCOUNT, REGION, "rid", self.app), req)
        assert isinstance(result, dict)
        return result

    def aas(self, op: str, **req: Any) -> dict[str, Any]:
        return self.call("application-autoscaling", op, **req)

    def desired(self) -> int:
        svc = self.call("ecs", "DescribeServices", cluster="c1", services=["web"])["services"][0]
        return int(svc["desiredCount"])

    def alarm(self, arn: str, value: float, threshold: float = 50.0, name: str = "busy") -> None:
        self.app.bus.publish("cloudwatch.alarm_action", {"arn": arn, "alarm": name, "state": "ALARM",
                                                          "account": ACCOUNT, "region": REGION, "value": value,
                                                          "threshold": threshold})

    def advance(self, seconds: float) -> None:
        asyncio.run(self.clock.advance(seconds))

    def causes(self) -> list[str]:
        return [a["Cause"] for a in self.aas("DescribeScalingActivities", ServiceNamespace="ecs")["ScalingActivities"]]


@pytest.fixture
def w(tmp_path: Path) -> Iterator[World]:
    app = App(Settings(data_dir=str(tmp_path)), clock=SimClock(START), store=SqliteStore(":memory:"))
    world = World(app)
    world.call("ecs", "CreateCluster", clusterName="c1")
    world.call("ecs", "RegisterTaskDefinition", family="web",
               containerDefinitions=[{"name": "web", "image": "busybox", "memory": 64, "essential": True}])
    world.call("ecs", "CreateService", cluster="c1", serviceName="web", taskDefinition="web", desiredCount=1)
    yield world
    app.store.close()


def refused(w: World, code: str, words: str, op: str, **req: Any) -> None:
    with pytest.raises(ServiceError) as info:
        w.aas(op, **req)
    assert info.value.code == code and words in info.value.message


def test_register_rules(w: World) -> None:
    refused(w, "ValidationException", "ECS service doesn't exist: service/c1/nope", "RegisterScalableTarget",
            **{**TARGET, "ResourceId": "service/c1/nope"}, MinCapacity=1, MaxCapacity=2)
    refused(w, "ValidationException", "cannot be greater than maximum capacity", "RegisterScalableTarget", **TARGET,
            MinCapacity=3, MaxCapacity=2)
    refused(w, "ValidationException", "Unsupported service namespace", "RegisterScalableTarget",
            ServiceNamespace="dynamodb", ResourceId="table/t", ScalableDimension="dynamodb:table:ReadCapacityUnits",
            MinCapacity=1, MaxCapacity=2)
    assert w.aas("DescribeScalableTargets", ServiceNamespace="ecs")["ScalableTargets"] == []
    arn = w.aas("RegisterScalableTarget", **TARGET, MinCapacity=2, MaxCapacity=5)["ScalableTargetARN"]
    assert arn.startswith("arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/")
    assert w.desired() == 2  # brought up to the new minimum
    assert w.causes() == ["minimum capacity was set to 2"]
    target = w.aas("DescribeScalableTargets", ServiceNamespace="ecs")["ScalableTargets"][0]
    assert (target["MinCapacity"], target["MaxCapacity"], target["SuspendedState"]["DynamicScalingInSuspended"]) == \
        (2, 5, False)


def test_step_policy_with_cooldowns(w: World) -> None:
    w.aas("RegisterScalableTarget", **TARGET, MinCapacity=1, MaxCapacity=10)
    refused(w, "ValidationException", "must not overlap", "PutScalingPolicy", PolicyName="bad", **TARGET,
            PolicyType="StepScaling", StepScalingPolicyConfiguration={
                "AdjustmentType": "ChangeInCapacity", "StepAdjustments": [
                    {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
                    {"MetricIntervalLowerBound": 5, "ScalingAdjustment": 2}]})
    out = w.aas("PutScalingPolicy", PolicyName="out", **TARGET, PolicyType="StepScaling",
                StepScalingPolicyConfiguration={"AdjustmentType": "ChangeInCapacity", "Cooldown": 120,
                                                "StepAdjustments": [
                                                    {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 20,
                                                     "ScalingAdjustment": 1},
                                                    {"MetricIntervalLowerBound": 20, "ScalingAdjustment": 3}]})
    arn = out["PolicyARN"]
    assert ":scalingPolicy:" in arn and arn.endswith(f":resource/ecs/{RID}:policyName/out")
    w.alarm(arn, 60)
    assert w.desired() == 2
    w.alarm(arn, 60)  # the same step inside the cooldown: the first scale-out counts as there
    assert w.desired() == 2
    w.alarm(arn, 80)  # a bigger step inside the cooldown: from the capacity before it, 1 + 3
    assert w.desired() == 4
    w.advance(121)
    w.alarm(arn, 60)
    assert w.desired() == 5
    assert w.causes()[0] == "monitor alarm busy in state ALARM triggered policy out"
    acts = w.aas("DescribeScalingActivities", ServiceNamespace="ecs", ResourceId=RID)["ScalingActivities"]
    assert acts[0]["Description"] == "Setting desired count to 5."
    assert acts[0]["StatusMessage"] == "Successfully set desired count to 5. Change successfully fulfilled by ecs."


def test_target_tracking_owns_alarms_and_scales_both_ways(w: World) -> None:
    w.aas("RegisterScalableTarget", **TARGET, MinCapacity=1, MaxCapacity=8)
    out = w.aas("PutScalingPolicy", PolicyName="cpu", **TARGET, PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration={
                    "TargetValue": 50.0, "ScaleOutCooldown": 60, "ScaleInCooldown": 300,
                    "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
    from gureum.services.cloudwatch import public

    high, low = sorted(out["Alarms"], key=lambda a: a["AlarmName"])
    assert high["AlarmName"].startswith(f"TargetTracking-{RID}-AlarmHigh-")
    high_alarm, low_alarm = public.alarm(w.app, SCOPE, high["AlarmName"]), public.alarm(w.app, SCOPE, low["AlarmName"])
    assert high_alarm is not None and low_alarm is not None
    assert high_alarm["Namespace"] == "AWS/ECS" and high_alarm["MetricName"] == "CPUUtilization"
    assert high_alarm["Dimensions"] == [{"Name": "ClusterName", "Value": "c1"}, {"Name": "ServiceName", "Value": "web"}]
    assert low_alarm["Threshold"] == 45.0 and low_alarm["DatapointsToAlarm"] == 15
    w.alarm(out["PolicyARN"], 150)
    assert w.desired() == 3  # ⌈1 × 150 / 50⌉
    w.alarm(out["PolicyARN"], 10)
    assert w.desired() == 3  # no scale-in during the scale-out cooldown
    w.advance(61)
    w.alarm(out["PolicyARN"], 10)
    assert w.desired() == 1
    w.alarm(out["PolicyARN"], 300)  # a scale-out ends the scale-in cooldown at once
    assert w.desired() == 6
    w.aas("DeleteScalingPolicy", PolicyName="cpu", **TARGET)
    assert public.alarm(w.app, SCOPE, high["AlarmName"]) is None
    refused(w, "ObjectNotFoundException", "No scaling policy found", "DeleteScalingPolicy", PolicyName="cpu", **TARGET)


def test_suspended_scale_in(w: World) -> None:
    w.aas("RegisterScalableTarget", **TARGET, MinCapacity=1, MaxCapacity=8)
    arn = w.aas("PutScalingPolicy", PolicyName="cpu", **TARGET, PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration={"TargetValue": 50.0, "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})["PolicyARN"]
    w.aas("RegisterScalableTarget", **TARGET, SuspendedState={"DynamicScalingInSuspended": True})
    w.alarm(arn, 100)
    w.advance(301)
    w.alarm(arn, 5)
    assert w.desired() == 2


def test_policy_on_a_target_that_is_not_registered(w: World) -> None:
    refused(w, "ObjectNotFoundException", "No scalable target registered for service namespace: ecs", "PutScalingPolicy",
            PolicyName="p", **TARGET, PolicyType="StepScaling",
            StepScalingPolicyConfiguration={"AdjustmentType": "ChangeInCapacity",
                                            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]})


def test_scheduled_action_changes_the_bounds_at_its_time(w: World) -> None:
    w.aas("RegisterScalableTarget", **TARGET, MinCapacity=1, MaxCapacity=4)
    refused(w, "ValidationException", "must be an at(), rate() or cron() expression", "PutScheduledAction",
            ScheduledActionName="bad", **TARGET, Schedule="tomorrow", ScalableTargetAction={"MinCapacity": 3})
    w.aas("PutScheduledAction", ScheduledActionName="rush", **TARGET, Schedule="cron(0 9 * * ? *)",
          ScalableTargetAction={"MinCapacity": 3, "MaxCapacity": 6})
    action = w.aas("DescribeScheduledActions", ServiceNamespace="ecs")["ScheduledActions"][0]
    assert action["ScalableTargetAction"] == {"MinCapacity": 3, "MaxCapacity": 6}
    w.aas("DescribeScalableTargets", ServiceNamespace="ecs")
    key = names.scoped_key(SCOPE, names.target_key("ecs", "ecs:service:DesiredCount", RID))
    reconcile = w.app.runner.controllers[names.CONTROLLER].reconcile
    first = asyncio.run(reconcile(key))
    assert first is not None and first.after == pytest.approx(9 * 3600)
    w.advance(9 * 3600)
    asyncio.run(reconcile(key))
    assert w.desired() == 3
    assert w.causes()[0] == "scheduled action name rush was triggered"
    target = w.aas("DescribeScalableTargets", ServiceNamespace="ecs")["ScalableTargets"][0]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (3, 6)
    assert aas_controller.RESYNC > 0


def test_deregister_drops_policies_and_their_alarms(w: World) -> None:
    w.aas("RegisterScalableTarget", **TARGET, MinCapacity=1, MaxCapacity=4)
    out = w.aas("PutScalingPolicy", PolicyName="cpu", **TARGET, PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration={"TargetValue": 70.0, "DisableScaleIn": True,
                                                          "CustomizedMetricSpecification": {
                                                              "Namespace": "App", "MetricName": "Queue",
                                                              "Statistic": "Average"}})
    assert len(out["Alarms"]) == 1  # no low alarm with DisableScaleIn
    w.aas("DeregisterScalableTarget", **TARGET)
    from gureum.services.cloudwatch import public

    assert public.alarm(w.app, SCOPE, out["Alarms"][0]["AlarmName"]) is None
    assert w.aas("DescribeScalingPolicies", ServiceNamespace="ecs")["ScalingPolicies"] == []
    refused(w, "ObjectNotFoundException", "No scalable target registered", "DeregisterScalableTarget", **TARGET)
