"""EC2 Auto Scaling handlers and the group controller on a real (in-memory) store.

The fleet is :class:`FakeFleet` (instances boot in 30 s of simulated time, and
can be killed); everything else is the real code: handlers, controller,
lifecycle hooks, activities, CloudWatch alarms of target tracking.
"""

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
from gureum.services.autoscaling import controller, fleet, names
from gureum.services.cloudwatch import metrics
from gureum.settings import Settings

ACCOUNT, REGION = "123456789012", "us-east-1"
SCOPE = Scope(ACCOUNT, REGION)
START = 1_767_225_600.0


class World:
    def __init__(self, app: App) -> None:
        self.app = app
        self.clock: SimClock = app.clock  # type: ignore[assignment]
        self.fleet = fleet.FakeFleet(self.clock.now, boot_seconds=30)
        fleet.install(app, self.fleet)

    def call(self, op: str, **req: Any) -> dict[str, Any]:
        api = self.app.service_api("autoscaling")
        assert api is not None
        result = api.handlers[op](RequestContext("autoscaling", op, ACCOUNT, REGION, "rid", self.app), req)
        assert isinstance(result, dict)
        return result

    def tick(self, seconds: float = 0.0, group: str = "g") -> None:
        if seconds:
            asyncio.run(self.clock.advance(seconds))
        controller.controller_for(self.app).reconcile_now(names.scoped_key(SCOPE, group))

    def group(self, name: str = "g") -> dict[str, Any]:
        return self.call("DescribeAutoScalingGroups", AutoScalingGroupNames=[name])["AutoScalingGroups"][0]

    def states(self, name: str = "g") -> list[str]:
        return sorted(i["LifecycleState"] for i in self.group(name)["Instances"])

    def activities(self, name: str = "g") -> list[dict[str, Any]]:
        return self.call("DescribeScalingActivities", AutoScalingGroupName=name)["Activities"]

    def create(self, name: str = "g", **extra: Any) -> None:
        req = dict(AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateName": "web"}, MinSize=1, MaxSize=4,
                   DesiredCapacity=2, AvailabilityZones=["us-east-1a", "us-east-1b"])
        req.update(extra)
        self.call("CreateAutoScalingGroup", **req)


@pytest.fixture
def w(tmp_path: Path) -> Iterator[World]:
    app = App(Settings(data_dir=str(tmp_path)), clock=SimClock(START), store=SqliteStore(":memory:"))
    yield World(app)
    app.store.close()


def refused(w: World, code: str, words: str, op: str, **req: Any) -> None:
    with pytest.raises(ServiceError) as info:
        w.call(op, **req)
    assert info.value.code == code
    assert words in info.value.message


# -- groups --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("extra", "words"), [
    ({"MinSize": 3, "MaxSize": 2}, "Max bound, 2, must be greater than or equal to min bound, 3"),
    ({"DesiredCapacity": 9}, "Desired capacity:9 must be between the specified min size:1 and max size:4"),
    ({"LaunchTemplate": {"LaunchTemplateName": "missing-lt"}}, "You must use a valid fully-formed launch template"),
    ({"AvailabilityZones": []}, "At least one Availability Zone or VPC Subnet is required."),
    ({"AvailabilityZones": ["us-east-1q"]}, "Invalid Availability Zone(s): [us-east-1q]"),
    ({"LaunchConfigurationName": "nope"}, "Valid requests must contain either"),
    ({"TerminationPolicies": ["Whatever"]}, "Termination policy Whatever is not supported"),
])
def test_bad_groups_are_refused_and_nothing_is_created(w: World, extra: dict[str, Any], words: str) -> None:
    with pytest.raises(ServiceError) as info:
        w.create(**extra)
    assert info.value.code == "ValidationError" and words in info.value.message
    assert w.call("DescribeAutoScalingGroups")["AutoScalingGroups"] == []


def test_a_group_reaches_its_desired_capacity_across_zones(w: World) -> None:
    w.create(Tags=[{"Key": "team", "Value": "web", "PropagateAtLaunch": True}])
    refused(w, "AlreadyExists", "A group with the name g already exists", "CreateAutoScalingGroup",
            AutoScalingGroupName="g", LaunchTemplate={"LaunchTemplateName": "web"}, MinSize=0, MaxSize=1,
            AvailabilityZones=["us-east-1a"])
    w.tick()
    group = w.group()
    assert w.states() == ["Pending", "Pending"]
    assert sorted(i["AvailabilityZone"] for i in group["Instances"]) == ["us-east-1a", "us-east-1b"]
    assert all(s["TagSpecifications"] == [{"ResourceType": "instance", "Tags": [{"Key": "team", "Value": "web"}]}]
               for s in w.fleet.launched)
    w.tick(30)
    assert w.states() == ["InService", "InService"]
    acts = w.activities()
    assert [a["StatusCode"] for a in acts] == ["Successful", "Successful"]
    assert acts[0]["Description"].startswith("Launching a new EC2 instance: i-")
    assert acts[0]["Cause"] == (
        "At 2026-01-01T00:00:00Z a user request created an AutoScalingGroup changing the desired capacity from 0 "
        "to 2.  At 2026-01-01T00:00:00Z an instance was started in response to a difference between desired and "
        "actual capacity, increasing the capacity from 0 to 2.")
    instances = w.call("DescribeAutoScalingInstances")["AutoScalingInstances"]
    assert {i["HealthStatus"] for i in instances} == {"HEALTHY"} and {i["AutoScalingGroupName"] for i in instances} == {"g"}


def test_a_killed_instance_is_replaced(w: World) -> None:
    w.create()
    w.tick()
    w.tick(30)
    victim = w.group()["Instances"][0]["InstanceId"]
    w.fleet.kill(victim)
    w.tick(1)
    ids = {i["InstanceId"]: i["LifecycleState"] for i in w.group()["Instances"]}
    assert victim not in ids and sorted(ids.values()) == ["InService", "Pending"]
    acts = w.activities()
    assert acts[0]["Description"].startswith("Launching") or acts[1]["Description"].startswith("Launching")
    causes = " ".join(a["Cause"] for a in acts[:2])
    assert "in response to an EC2 health check indicating it has been terminated or stopped" in causes
    assert "increasing the capacity from 1 to 2" in causes


def test_set_desired_capacity_and_its_limits(w: World) -> None:
    w.create()
    refused(w, "ValidationError", "New SetDesiredCapacity value 5 is above max value 4 for the AutoScalingGroup.",
            "SetDesiredCapacity", AutoScalingGroupName="g", DesiredCapacity=5)
    refused(w, "ValidationError", "New SetDesiredCapacity value 0 is below min value 1", "SetDesiredCapacity",
            AutoScalingGroupName="g", DesiredCapacity=0)
    refused(w, "ValidationError", "AutoScalingGroup name not found - AutoScalingGroup nope not found",
            "SetDesiredCapacity", AutoScalingGroupName="nope", DesiredCapacity=1)
    w.call("SetDesiredCapacity", AutoScalingGroupName="g", DesiredCapacity=3)
    w.tick()
    assert len(w.group()["Instances"]) == 3
    assert "a user request explicitly set group desired capacity changing the desired capacity from 2 to 3" in \
        w.activities()[0]["Cause"]


def test_terminate_instance_with_and_without_decrement(w: World) -> None:
    w.create()
    w.tick()
    w.tick(30)
    first, second = (i["InstanceId"] for i in w.group()["Instances"])
    out = w.call("TerminateInstanceInAutoScalingGroup", InstanceId=first, ShouldDecrementDesiredCapacity=True)
    assert out["Activity"]["Description"] == f"Terminating EC2 instance: {first}"
    assert "shrinking the capacity from 2 to 1" in out["Activity"]["Cause"]
    refused(w, "ValidationError", "Terminating instance without replacement will violate group's min size",
            "TerminateInstanceInAutoScalingGroup", InstanceId=second, ShouldDecrementDesiredCapacity=True)
    w.call("TerminateInstanceInAutoScalingGroup", InstanceId=second, ShouldDecrementDesiredCapacity=False)
    w.tick()
    group = w.group()
    assert group["DesiredCapacity"] == 1
    assert [i["LifecycleState"] for i in group["Instances"]] == ["Pending"]  # the replacement of the second


def test_launch_hook_holds_until_completed(w: World) -> None:
    w.create(DesiredCapacity=1)
    w.call("PutLifecycleHook", AutoScalingGroupName="g", LifecycleHookName="boot",
           LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING", HeartbeatTimeout=300)
    hook = w.call("DescribeLifecycleHooks", AutoScalingGroupName="g")["LifecycleHooks"][0]
    assert hook["DefaultResult"] == "ABANDON" and hook["GlobalTimeout"] == 30000
    w.tick()
    w.tick(30)
    assert w.states() == ["Pending:Wait"]
    assert w.activities()[0]["StatusCode"] == "MidLifecycleAction"
    w.tick(200)
    assert w.states() == ["Pending:Wait"]
    iid = w.group()["Instances"][0]["InstanceId"]
    refused(w, "ValidationError", "No active Lifecycle Action found with instance ID i-nope",
            "CompleteLifecycleAction", AutoScalingGroupName="g", LifecycleHookName="boot", InstanceId="i-nope",
            LifecycleActionResult="CONTINUE")
    w.call("CompleteLifecycleAction", AutoScalingGroupName="g", LifecycleHookName="boot", InstanceId=iid,
           LifecycleActionResult="CONTINUE")
    w.tick()
    assert w.states() == ["InService"] and w.activities()[0]["StatusCode"] == "Successful"


def test_a_launch_hook_that_times_out_abandons_and_the_instance_is_replaced(w: World) -> None:
    w.create(DesiredCapacity=1)
    w.call("PutLifecycleHook", AutoScalingGroupName="g", LifecycleHookName="boot",
           LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING", HeartbeatTimeout=60)
    w.tick()
    w.tick(30)
    first = w.group()["Instances"][0]["InstanceId"]
    w.tick(40)
    w.call("RecordLifecycleActionHeartbeat", AutoScalingGroupName="g", LifecycleHookName="boot", InstanceId=first)
    w.tick(50)
    assert w.states() == ["Pending:Wait"]  # the heartbeat moved the deadline
    w.tick(20)
    w.tick(1)
    states = {i["InstanceId"]: i["LifecycleState"] for i in w.group()["Instances"]}
    assert first not in states and list(states.values()) == ["Pending"]
    cancelled = next(a for a in w.activities() if first in a["Description"])
    assert cancelled["StatusCode"] == "Cancelled" and "was abandoned: Heartbeat Timeout" in cancelled["StatusMessage"]


def test_terminate_hook_holds_termination(w: World) -> None:
    w.create(DesiredCapacity=1)
    w.tick()
    w.tick(30)
    w.call("PutLifecycleHook", AutoScalingGroupName="g", LifecycleHookName="drain",
           LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING", DefaultResult="CONTINUE")
    w.call("UpdateAutoScalingGroup", AutoScalingGroupName="g", MinSize=0, DesiredCapacity=0)
    w.tick()
    assert w.states() == ["Terminating:Wait"]
    iid = w.group()["Instances"][0]["InstanceId"]
    assert w.fleet.state(SCOPE, iid) == "running"
    w.call("CompleteLifecycleAction", AutoScalingGroupName="g", LifecycleHookName="drain", InstanceId=iid,
           LifecycleActionResult="ABANDON")
    w.tick()
    w.tick(1)
    assert w.group()["Instances"] == [] and w.fleet.state(SCOPE, iid) == "terminated"
    cause = w.activities()[0]["Cause"]
    assert "a user request update of AutoScalingGroup constraints to min: 0, max: 4, desired: 0" in cause


# -- policies ----------------------------------------------------------------------------------------


def test_policy_input_rules(w: World) -> None:
    refused(w, "ValidationError", "AutoScalingGroup name not found", "PutScalingPolicy",
            AutoScalingGroupName="nope", PolicyName="p", AdjustmentType="ChangeInCapacity", ScalingAdjustment=1)
    w.create()
    refused(w, "ValidationError", "must not have gaps", "PutScalingPolicy", AutoScalingGroupName="g",
            PolicyName="p", PolicyType="StepScaling", AdjustmentType="ChangeInCapacity",
            StepAdjustments=[{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
                             {"MetricIntervalLowerBound": 20, "ScalingAdjustment": 2}])
    refused(w, "ValidationError", "MinAdjustmentMagnitude is only supported", "PutScalingPolicy",
            AutoScalingGroupName="g", PolicyName="p", AdjustmentType="ChangeInCapacity", ScalingAdjustment=1,
            MinAdjustmentMagnitude=2)
    assert w.call("DescribePolicies", AutoScalingGroupName="g")["ScalingPolicies"] == []


def test_target_tracking_owns_its_alarms(w: World) -> None:
    w.create()
    out = w.call("PutScalingPolicy", AutoScalingGroupName="g", PolicyName="cpu50", PolicyType="TargetTrackingScaling",
                 TargetTrackingConfiguration={"PredefinedMetricSpecification": {
                     "PredefinedMetricType": "ASGAverageCPUUtilization"}, "TargetValue": 50.0})
    names_ = sorted(a["AlarmName"] for a in out["Alarms"])
    assert names_[0].startswith("TargetTracking-g-AlarmHigh-") and names_[1].startswith("TargetTracking-g-AlarmLow-")
    from gureum.services.cloudwatch import public

    high, low = (public.alarm(w.app, SCOPE, n) for n in names_)
    assert high is not None and low is not None
    assert (high["Threshold"], high["EvaluationPeriods"], high["DatapointsToAlarm"], high["Period"]) == (50, 3, 3, 60)
    assert (low["Threshold"], low["EvaluationPeriods"], low["ComparisonOperator"]) == (35, 15, "LessThanThreshold")
    assert high["Dimensions"] == [{"Name": "AutoScalingGroupName", "Value": "g"}]
    assert high["AlarmActions"] == [out["PolicyARN"]]
    refused(w, "ValidationError", "not supported for a TargetTrackingScaling", "ExecutePolicy", PolicyName="cpu50",
            AutoScalingGroupName="g")
    w.call("DeletePolicy", AutoScalingGroupName="g", PolicyName="cpu50")
    assert public.alarm(w.app, SCOPE, names_[0]) is None and public.alarm(w.app, SCOPE, names_[1]) is None


def test_simple_policy_cooldown_and_honor_cooldown(w: World) -> None:
    w.create(DesiredCapacity=1, DefaultCooldown=120)
    w.tick()
    w.tick(30)
    w.call("PutScalingPolicy", AutoScalingGroupName="g", PolicyName="up", AdjustmentType="ChangeInCapacity",
           ScalingAdjustment=1)
    w.call("ExecutePolicy", AutoScalingGroupName="g", PolicyName="up")
    assert w.group()["DesiredCapacity"] == 2
    refused(w, "ScalingActivityInProgress", "is in progress and blocks this action", "ExecutePolicy",
            AutoScalingGroupName="g", PolicyName="up", HonorCooldown=True)
    w.tick()
    w.tick(30)  # the new instance is InService: the cooldown starts now
    refused(w, "ScalingActivityInProgress", "cooldown period", "SetDesiredCapacity", AutoScalingGroupName="g",
            DesiredCapacity=3, HonorCooldown=True)
    w.tick(121)
    w.call("ExecutePolicy", AutoScalingGroupName="g", PolicyName="up", HonorCooldown=True)
    assert w.group()["DesiredCapacity"] == 3
    w.tick()
    assert "a user request executed policy up changing the desired capacity from 2 to 3" in w.activities()[0]["Cause"]


def test_step_policy_runs_on_its_alarm_action(w: World) -> None:
    w.create(DesiredCapacity=1)
    arn = w.call("PutScalingPolicy", AutoScalingGroupName="g", PolicyName="out", PolicyType="StepScaling",
                 AdjustmentType="ChangeInCapacity", EstimatedInstanceWarmup=60,
                 StepAdjustments=[{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 2}])["PolicyARN"]
    payload = {"arn": arn, "alarm": "busy", "state": "ALARM", "account": ACCOUNT, "region": REGION,
               "value": 90.0, "threshold": 70.0}
    w.tick()
    w.tick(30)
    w.tick(60)  # in service and warmed up
    w.app.bus.publish("cloudwatch.alarm_action", payload)
    assert w.group()["DesiredCapacity"] == 3
    w.app.bus.publish("cloudwatch.alarm_action", payload)  # the same breach while they warm up adds nothing
    assert w.group()["DesiredCapacity"] == 3
    w.tick()
    assert "a monitor alarm busy in state ALARM triggered policy out changing the desired capacity from 1 to 3" in \
        w.activities()[0]["Cause"]
    w.call("SuspendProcesses", AutoScalingGroupName="g", ScalingProcesses=["AlarmNotification"])
    w.app.bus.publish("cloudwatch.alarm_action", {**payload, "value": 200.0})
    w.tick(200)
    assert w.group()["DesiredCapacity"] == 3


# -- the rest ------------------------------------------------------------------------------------------


def test_scheduled_action_runs_at_its_time(w: World) -> None:
    w.create(DesiredCapacity=1)
    w.call("PutScheduledUpdateGroupAction", AutoScalingGroupName="g", ScheduledActionName="morning",
           StartTime=START + 600, MaxSize=6, DesiredCapacity=5)
    refused(w, "ValidationError", "Given start time is in the past", "PutScheduledUpdateGroupAction",
            AutoScalingGroupName="g", ScheduledActionName="late", StartTime=START - 1, DesiredCapacity=1)
    w.tick()
    assert w.group()["DesiredCapacity"] == 1
    w.tick(600)
    group = w.group()
    assert (group["MaxSize"], group["DesiredCapacity"], len(group["Instances"])) == (6, 5, 5)
    assert "a scheduled action update of AutoScalingGroup constraints to min: 1, max: 6, desired: 5" in \
        w.activities()[0]["Cause"]
    assert w.call("DescribeScheduledActions", AutoScalingGroupName="g")["ScheduledUpdateGroupActions"] == []


def test_metrics_collection_publishes_group_metrics(w: World) -> None:
    w.create()
    w.call("EnableMetricsCollection", AutoScalingGroupName="g", Granularity="1Minute",
           Metrics=["GroupDesiredCapacity", "GroupInServiceInstances"])
    w.tick()
    w.tick(61)
    dims = (("AutoScalingGroupName", "g"),)
    desired = metrics.read_samples(w.app.store, SCOPE, "AWS/AutoScaling", "GroupDesiredCapacity", dims, 0, 2e9)
    serving = metrics.read_samples(w.app.store, SCOPE, "AWS/AutoScaling", "GroupInServiceInstances", dims, 0, 2e9)
    assert [s.total for s in desired] == [2.0, 2.0] and [s.total for s in serving] == [0.0, 2.0]
    assert metrics.read_samples(w.app.store, SCOPE, "AWS/AutoScaling", "GroupMaxSize", dims, 0, 2e9) == []


def test_delete_needs_force_while_instances_run(w: World) -> None:
    w.create()
    w.call("PutScalingPolicy", AutoScalingGroupName="g", PolicyName="up", AdjustmentType="ChangeInCapacity",
           ScalingAdjustment=1)
    w.tick()
    refused(w, "ResourceInUse", "while there are instances", "DeleteAutoScalingGroup", AutoScalingGroupName="g")
    w.call("DeleteAutoScalingGroup", AutoScalingGroupName="g", ForceDelete=True)
    assert w.group()["Status"] == "Delete in progress"
    w.tick()
    w.tick(1)
    assert w.call("DescribeAutoScalingGroups")["AutoScalingGroups"] == []
    assert w.call("DescribePolicies")["ScalingPolicies"] == []
    assert len(w.call("DescribeScalingActivities", IncludeDeletedGroups=True)["Activities"]) == 4


def test_a_refused_launch_is_a_failed_activity_and_is_retried(w: World) -> None:
    w.create(DesiredCapacity=1)
    w.fleet.fail_next = "We currently do not have sufficient t3.micro capacity."
    w.tick()
    failed = w.activities()[0]
    assert failed["StatusCode"] == "Failed" and failed["StatusMessage"].startswith("We currently do not have")
    assert failed["Description"].startswith("Launching a new EC2 instance.  Status Reason: We currently")
    w.tick(5)
    assert w.group()["Instances"] == []  # backing off
    w.tick(6)
    assert w.states() == ["Pending"]


def test_protection_and_tags(w: World) -> None:
    w.create(NewInstancesProtectedFromScaleIn=True)
    w.tick()
    assert all(i["ProtectedFromScaleIn"] for i in w.group()["Instances"])
    w.call("UpdateAutoScalingGroup", AutoScalingGroupName="g", MinSize=0, DesiredCapacity=0)
    w.tick()
    assert len(w.group()["Instances"]) == 2  # protected from scale-in
    w.call("CreateOrUpdateTags", Tags=[{"ResourceId": "g", "ResourceType": "auto-scaling-group", "Key": "env",
                                        "Value": "dev", "PropagateAtLaunch": False}])
    tags = w.call("DescribeTags", Filters=[{"Name": "key", "Values": ["env"]}])["Tags"]
    assert tags == [{"ResourceId": "g", "ResourceType": "auto-scaling-group", "Key": "env", "Value": "dev",
                     "PropagateAtLaunch": False}]


def test_launch_configurations_and_mixed_instances(w: World) -> None:
    w.call("CreateLaunchConfiguration", LaunchConfigurationName="lc1", ImageId="ami-0ba5eba5eba5e0001",
           InstanceType="t3.small", SecurityGroups=["sg-0123456789abcdef0", "web"], UserData="IyEvYmluL3No")
    refused(w, "AlreadyExists", "A launch configuration already exists with the name lc1", "CreateLaunchConfiguration",
            LaunchConfigurationName="lc1", ImageId="ami-0ba5eba5eba5e0001", InstanceType="t3.small")
    w.create("old", LaunchTemplate=None, LaunchConfigurationName="lc1", DesiredCapacity=1)
    w.tick(group="old")
    assert w.fleet.launched[-1]["ImageId"] == "ami-0ba5eba5eba5e0001"
    assert w.fleet.launched[-1]["SecurityGroupIds"] == ["sg-0123456789abcdef0"]
    assert w.fleet.launched[-1]["SecurityGroups"] == ["web"] and w.fleet.launched[-1]["UserData"] == "IyEvYmluL3No"
    assert w.group("old")["Instances"][0]["LaunchConfigurationName"] == "lc1"
    refused(w, "ResourceInUse", "because it is attached to AutoScalingGroup old", "DeleteLaunchConfiguration",
            LaunchConfigurationName="lc1")
    mixed = {"LaunchTemplate": {"LaunchTemplateSpecification": {"LaunchTemplateName": "web"},
                                "Overrides": [{"InstanceType": "c5.large"}, {"InstanceType": "m5.large"}]}}
    w.create("mixed", LaunchTemplate=None, MixedInstancesPolicy=mixed, DesiredCapacity=1)
    w.tick(group="mixed")
    launched = w.fleet.launched[-1]
    assert launched["InstanceType"] == "c5.large" and launched["LaunchTemplate"]["Version"] == "1"
    assert w.group("mixed")["MixedInstancesPolicy"]["LaunchTemplate"]["LaunchTemplateSpecification"]["Version"] == \
        "$Default"


def test_force_delete_drops_outstanding_lifecycle_actions(w: World) -> None:
    w.create(DesiredCapacity=2)
    w.call("PutLifecycleHook", AutoScalingGroupName="g", LifecycleHookName="drain",
           LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING")
    w.call("PutLifecycleHook", AutoScalingGroupName="g", LifecycleHookName="boot",
           LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING")
    w.tick()
    w.tick(30)
    assert w.states() == ["Pending:Wait", "Pending:Wait"]
    iid = w.group()["Instances"][0]["InstanceId"]
    w.call("TerminateInstanceInAutoScalingGroup", InstanceId=iid, ShouldDecrementDesiredCapacity=True)
    w.tick()
    cancelled = next(a for a in w.activities() if a["Description"] == f"Launching a new EC2 instance: {iid}")
    assert cancelled["StatusCode"] == "Cancelled"
    assert sorted(w.states()) == ["Pending:Wait", "Terminating:Wait"]
    w.call("DeleteAutoScalingGroup", AutoScalingGroupName="g", ForceDelete=True)
    w.tick()
    w.tick(1)
    assert w.call("DescribeAutoScalingGroups")["AutoScalingGroups"] == []
    assert not w.fleet.running()
