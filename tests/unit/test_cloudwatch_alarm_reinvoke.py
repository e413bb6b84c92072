"""Auto Scaling actions re-invoked every period (alarm_transitions.reinvoke_due) against a real store:
a re-invocation writes its Action item and not the alarm document, and a document read again
from the store — another process after a kill, or after someone else wrote the alarm — knows
the re-invocations since its last write from those items (no early second call).  Also: the
policies and groups an alarm's call reads are kept only while they are current
(autoscaling.policy_memo)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.store import Scope, SqliteStore
from gureum.services.cloudwatch import alarm_records as records
from gureum.services.cloudwatch import alarm_transitions as transitions
from gureum.settings import Settings

NOW = 1_795_000_000.0
SCOPE = Scope("123456789012", "us-east-1")
ASG = ("arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1:autoScalingGroupName/web:"
       "policyName/out")
SNS = "arn:aws:sns:us-east-1:123456789012:ops"


def alarm_doc(name: str, since: float) -> dict[str, Any]:
    return {"type": "MetricAlarm", "tags": [], "invoked": {ASG: since},
            "alarm": {"AlarmName": name, "AlarmArn": records.alarm_arn(SCOPE, name), "StateValue": "ALARM",
                      "StateReason": "r", "StateUpdatedTimestamp": since, "StateTransitionedTimestamp": since,
                      "AlarmActions": [ASG, SNS], "OKActions": [], "InsufficientDataActions": [],
                      "AlarmConfigurationUpdatedTimestamp": since, "Threshold": 1.0,
                      "ComparisonOperator": "GreaterThanThreshold"}}


def action_times(store: Any, name: str) -> list[float]:
    return [float(d["Timestamp"]) for _, d in records.history(store, SCOPE, start=None, end=None,
                                                                newest_first=False, after_seq=None)
            if d["AlarmName"] == name and d["HistoryItemType"] == "Action"]


def test_reinvocations_are_paced_across_a_new_process(tmp_path: Path) -> None:
    path = str(tmp_path / "gureum.db")
    app = App(Settings(data_dir=str(tmp_path)), clock=SimClock(NOW), store=SqliteStore(path))
    records.put(app.store, SCOPE, "hot", alarm_doc("hot", NOW))
    doc = records.get(app.store, SCOPE, "hot")
    assert doc is not None
    assert transitions.reinvoke_due(app, SCOPE, doc, 60, NOW + 30) == 0  # a period has not passed
    assert transitions.reinvoke_due(app, SCOPE, doc, 60, NOW + 60) == 1  # the ASG action only
    assert transitions.reinvoke_due(app, SCOPE, doc, 60, NOW + 90) == 0
    assert action_times(app.store, "hot") == [NOW + 60]
    stored = records.get(app.store, SCOPE, "hot")
    assert stored is not None and stored["invoked"] == {ASG: NOW}  # the document was not written again
    app.store.close()

    # another process (as after kill -9): its document holds the old mark, the history the newer one
    again = App(Settings(data_dir=str(tmp_path)), clock=SimClock(NOW + 100), store=SqliteStore(path))
    fresh = records.get(again.store, SCOPE, "hot")
    assert fresh is not None
    assert transitions.reinvoke_due(again, SCOPE, fresh, 60, NOW + 100) == 0  # called at +60: not before +119
    assert transitions.reinvoke_due(again, SCOPE, fresh, 60, NOW + 120) == 1
    assert action_times(again.store, "hot") == [NOW + 60, NOW + 120]
    again.store.close()


def test_items_of_an_earlier_state_or_alarm_do_not_count(tmp_path: Path) -> None:
    app = App(Settings(data_dir=str(tmp_path)), clock=SimClock(NOW), store=SqliteStore(":memory:"))
    records.put(app.store, SCOPE, "x", alarm_doc("x", NOW))
    doc = records.get(app.store, SCOPE, "x")
    assert doc is not None and transitions.reinvoke_due(app, SCOPE, doc, 60, NOW + 60) == 1
    # the alarm deleted and made again at +70 (same name): the earlier alarm's item is not its mark
    records.delete(app.store, SCOPE, "x")
    recreated = alarm_doc("x", NOW + 70)
    recreated["invoked"] = {}
    records.put(app.store, SCOPE, "x", recreated)
    doc = records.get(app.store, SCOPE, "x")
    assert doc is not None and transitions.reinvoke_due(app, SCOPE, doc, 60, NOW + 80) == 1
    # another alarm's items are not this one's
    records.put(app.store, SCOPE, "y", {**alarm_doc("y", NOW), "invoked": {}})
    other = records.get(app.store, SCOPE, "y")
    assert other is not None and transitions.reinvoke_due(app, SCOPE, other, 60, NOW + 81) == 1


# -- what an alarm's call on a policy reads (autoscaling.policy_memo) ----------------------------------


def call(app: App, op: str, **req: Any) -> dict[str, Any]:
    from gureum.services.api import RequestContext

    api = app.service_api("autoscaling")
    assert api is not None
    out = api.handlers[op](RequestContext("autoscaling", op, SCOPE.account, SCOPE.region, "t", app), req)
    assert isinstance(out, dict)
    return out


def desired(app: App) -> int:
    from gureum.services.autoscaling import records as groups

    group = groups.get_group(app.store, SCOPE, "web")
    assert group is not None
    return int(group["DesiredCapacity"])


def test_kept_policies_and_groups_follow_their_writes(tmp_path: Path) -> None:
    from gureum.services.autoscaling import fleet, policy_exec

    clock = SimClock(NOW)
    app = App(Settings(data_dir=str(tmp_path)), clock=clock, store=SqliteStore(":memory:"))
    fleet.install(app, fleet.FakeFleet(clock.now, boot_seconds=60))
    call(app, "CreateAutoScalingGroup", AutoScalingGroupName="web", LaunchTemplate={"LaunchTemplateName": "t"},
         MinSize=1, MaxSize=10, DesiredCapacity=2, AvailabilityZones=["us-east-1a"])

    def put_policy(capacity: int) -> str:
        return str(call(app, "PutScalingPolicy", AutoScalingGroupName="web", PolicyName="to", PolicyType="StepScaling",
                        AdjustmentType="ExactCapacity",
                        StepAdjustments=[{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": capacity}])["PolicyARN"])

    arn = put_policy(4)
    payload = {"arn": arn, "account": SCOPE.account, "region": SCOPE.region, "alarm": "hot", "state": "ALARM",
               "value": 90.0, "threshold": 50.0}
    policy_exec.on_alarm_action(app, payload)
    assert desired(app) == 4
    policy_exec.on_alarm_action(app, payload)  # no change: the group is kept as read
    call(app, "SetDesiredCapacity", AutoScalingGroupName="web", DesiredCapacity=2)  # the group written
    policy_exec.on_alarm_action(app, payload)  # reads it again
    assert desired(app) == 4
    policy_exec.on_alarm_action(app, payload)
    put_policy(6)  # the policy written again: its new step counts at the next call
    policy_exec.on_alarm_action(app, payload)
    assert desired(app) == 6
    call(app, "DeletePolicy", AutoScalingGroupName="web", PolicyName="to")
    call(app, "SetDesiredCapacity", AutoScalingGroupName="web", DesiredCapacity=2)
    policy_exec.on_alarm_action(app, payload)  # a deleted policy is not called
    assert desired(app) == 2
