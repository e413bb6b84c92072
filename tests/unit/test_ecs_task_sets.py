"""ECS task sets: the pure parts (how many tasks, which to stop, what to register)."""

from __future__ import annotations

import pytest

from gureum.services.ecs.task_set_controller import SetTask, decide_task_set, lb_target
from gureum.services.ecs.task_sets import check_update, computed_count


@pytest.mark.parametrize(("desired", "scale", "count"), [(2, 100.0, 2), (3, 50.0, 2), (10, 10.0, 1), (1, 1.0, 1), (4, 0.0, 0)])
def test_computed_desired_count_rounds_up(desired: int, scale: float, count: int) -> None:
    assert computed_count(desired, {"value": scale, "unit": "PERCENT"}) == count


def t(tid: str, status: str = "RUNNING", created: float = 0.0, stopping: bool = False) -> SetTask:
    return SetTask(tid, status, created, stopping)


def test_decide_task_set() -> None:
    assert decide_task_set(3, [t("a")]).start == 2
    assert decide_task_set(2, [t("a"), t("b", stopping=True)]).start == 1  # a task on its way out does not count
    plan = decide_task_set(1, [t("old", created=1), t("new", created=5), t("pending", "PENDING", created=3)])
    assert plan.stop == ("pending", "new")  # not running first, then the newest
    assert decide_task_set(2, [t("a"), t("b")]) == decide_task_set(0, [])


def test_lb_target_awsvpc_and_bridge() -> None:
    lb = {"targetGroupArn": "arn:tg", "containerName": "web", "containerPort": 80}
    assert lb_target({"_ip": "127.0.1.9"}, lb, "ip", None) == {"Id": "127.0.1.9", "Port": 80}
    bridge = {"containers": [{"name": "web", "networkBindings": [{"bindIP": "127.0.0.1", "containerPort": 80, "hostPort": 32768}]}]}
    assert lb_target(bridge, lb, "ip", None) == {"Id": "127.0.0.1", "Port": 32768}
    assert lb_target(bridge, lb, "instance", "i-0abc") == {"Id": "i-0abc", "Port": 32768}
    assert lb_target(bridge, lb, "instance", None) is None
    assert lb_target({"containers": [{"name": "web"}]}, lb, "ip", None) is None


def test_code_deploy_services_refuse_direct_changes() -> None:
    svc = {"deploymentController": {"type": "CODE_DEPLOY"}, "taskDefinition": "arn:td:1", "loadBalancers": []}
    check_update(svc, {"desiredCount": 3}, None)
    check_update(svc, {}, "arn:td:1")
    with pytest.raises(Exception, match="Use AWS CodeDeploy"):
        check_update(svc, {}, "arn:td:2")
    with pytest.raises(Exception, match="forceNewDeployment"):
        check_update(svc, {"forceNewDeployment": True}, None)
    check_update({"deploymentController": {"type": "ECS"}}, {"forceNewDeployment": True}, "arn:td:2")
