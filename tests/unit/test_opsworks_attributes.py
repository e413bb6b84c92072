"""Merged attributes, cookbooks (archives, attribute files, templates) and autoscaling decisions."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile

import pytest

from gureum.services.opsworks import attributes, autoscale
from gureum.services.opsworks.cookbooks import (
    CookbookError,
    Cookbooks,
    parse_archive,
    render_templates,
    template_context,
)

STACK = {"StackId": "s1", "Name": "demo", "Region": "us-east-1", "CustomJson": json.dumps({"web": {"port": 8080},
                                                                                           "color": "blue"})}
LAYERS = [{"LayerId": "l1", "Shortname": "web", "Name": "Web", "Type": "custom",
           "CustomJson": json.dumps({"color": "green"})},
          {"LayerId": "l2", "Shortname": "db", "Name": "DB", "Type": "custom", "CustomJson": json.dumps({"color": "red"})}]
I1 = {"InstanceId": "i1", "Hostname": "web1", "PrivateIp": "127.0.1.5", "LayerIds": ["l1"], "Status": "online"}
I2 = {"InstanceId": "i2", "Hostname": "web2", "PrivateIp": "127.0.1.6", "LayerIds": ["l1"], "Status": "running_setup"}
I3 = {"InstanceId": "i3", "Hostname": "db1", "PrivateIp": "127.0.1.7", "LayerIds": ["l2"], "Status": "stopped"}
APP = {"AppId": "a1", "Shortname": "site", "Name": "Site", "Type": "static", "Attributes": {"DocumentRoot": "public"},
       "Environment": [{"Key": "MODE", "Value": "prod"}], "AppSource": {"Type": "s3", "Url": "s3://b/k.zip"}}


def node(instance: dict, deployment_json: str | None = None) -> dict:
    return attributes.node_attributes(
        cookbook_defaults={"web": {"port": 80, "greeting": "hi"}, "color": "none"}, stack=STACK, layers=LAYERS,
        instances=[I1, I2, I3], instance=instance, apps=[APP], activity="configure", now=1_700_000_000.0,
        deployment_json=deployment_json)


def test_precedence_cookbooks_then_opsworks_then_stack_then_layers_then_deployment() -> None:
    n = node(I1)
    assert n["web"] == {"port": 8080, "greeting": "hi"}  # stack CustomJson over the cookbook's default
    assert n["color"] == "green"  # the instance's layer over the stack
    assert node(I1, json.dumps({"color": "gold", "web": {"greeting": "yo"}}))["color"] == "gold"
    assert node(I1, json.dumps({"web": {"greeting": "yo"}}))["web"] == {"port": 8080, "greeting": "yo"}


def test_topology_lists_online_instances_and_the_current_one() -> None:
    layers = node(I2)["opsworks"]["layers"]
    assert sorted(layers["web"]["instances"]) == ["web1", "web2"]  # web2 is setting up: itself included
    assert sorted(node(I1)["opsworks"]["layers"]["web"]["instances"]) == ["web1"]
    assert layers["db"]["instances"] == {}  # db1 is stopped
    n = node(I1)
    assert n["opsworks"]["instance"]["layers"] == ["web"] and n["opsworks"]["stack"]["name"] == "demo"
    assert n["deploy"]["site"]["document_root"] == "public" and n["deploy"]["site"]["environment"] == {"MODE": "prod"}
    assert attributes.online_hosts([I1, I2, I3]) == "web1=127.0.1.5"


def test_flatten_env() -> None:
    env = attributes.flatten_env({"web": {"port": 8080, "on": True, "hosts": ["a", "b"], "my-app.x": {"k": 1}},
                                  "nested": [{"no": 1}], "big": "x" * 5000})
    assert env == {"OPSWORKS_ATTR_WEB_PORT": "8080", "OPSWORKS_ATTR_WEB_ON": "true",
                   "OPSWORKS_ATTR_WEB_HOSTS": "a b", "OPSWORKS_ATTR_WEB_MY_APP_X_K": "1"}


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in files.items():
            z.writestr(k, v)
    return buf.getvalue()


def test_a_wrapping_folder_is_stripped_and_non_cookbooks_ignored() -> None:
    cb = parse_archive(_zip({"repo-main/web/recipes/setup.sh": "echo", "repo-main/web/attributes/a.json": "{}",
                             "repo-main/README.md": "hi", "repo-main/db/recipes/default.py": "print()"}))
    assert cb.names() == ["db", "web"]
    assert cb.recipe("web", "setup") == "web/recipes/setup.sh"
    assert cb.recipe("db", "default") == "db/recipes/default.py"
    assert cb.recipe("web", "nope") is None


def test_tarballs_work_too() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        data = b"echo hi"
        info = tarfile.TarInfo("cookbooks/app/recipes/default.sh")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    assert parse_archive(buf.getvalue()).recipe("app", "default") == "app/recipes/default.sh"


@pytest.mark.parametrize(("data", "message"), [
    (b"not an archive", "cannot open"),
    (_zip({"README.md": "no cookbooks"}), "holds no cookbook"),
    (_zip({"../evil/recipes/x.sh": "x"}), "unsafe path"),
])
def test_bad_archives(data: bytes, message: str) -> None:
    with pytest.raises(CookbookError, match=message):
        parse_archive(data)


def test_attribute_files_merge_in_name_order_and_bad_ones_are_errors() -> None:
    cb = Cookbooks({"a/attributes/default.json": b'{"x": {"y": 1, "z": 1}}', "a/attributes/more.yml": b"x:\n  z: 2\n",
                    "b/attributes/default.rb": b"default[:x] = 1"})
    assert cb.attributes() == {"x": {"y": 1, "z": 2}}
    with pytest.raises(CookbookError, match="a/attributes/bad.json"):
        Cookbooks({"a/attributes/bad.json": b"{"}).attributes()
    with pytest.raises(CookbookError, match="must hold an object"):
        Cookbooks({"a/attributes/list.yml": b"- 1\n"}).attributes()


def test_templates_render_with_node_and_app_and_fail_alone() -> None:
    cb = Cookbooks({"web/templates/conf/site.conf.j2": b"port={{ node.web.port }} app={{ app.application }}\n",
                    "web/templates/broken.j2": b"{{ missing.value }}",
                    "web/templates/syntax.j2": b"{% if %}",
                    "web/templates/plain.txt": b"not a template"})
    attrs = {"web": {"port": 8080}}
    out = render_templates(cb, template_context(attrs, {"application": "site"}))
    assert out["web/conf/site.conf"] == (b"port=8080 app=site\n", "")
    assert out["web/broken"][0] == b"" and "missing" in out["web/broken"][1]
    assert "TemplateSyntaxError" in out["web/syntax"][1]
    assert "web/plain.txt" not in out


def test_templates_are_sandboxed() -> None:
    cb = Cookbooks({"web/templates/escape.j2": b"{{ ''.__class__.__mro__[1].__subclasses__() }}"})
    _, error = render_templates(cb, template_context({}, None))["web/escape"]
    assert "SecurityError" in error or "unsafe" in error


@pytest.mark.parametrize(("schedule", "when", "on"), [
    ({"Monday": {"9": "on"}}, "2024-01-01T09:30:00", True),  # 2024-01-01 is a Monday
    ({"Monday": {"9": "on"}}, "2024-01-01T10:00:00", False),
    ({"Tuesday": {"9": "on"}}, "2024-01-01T09:30:00", False),
    ({}, "2024-01-01T09:30:00", False),
    (None, "2024-01-01T09:30:00", False),
])
def test_time_based_schedule(schedule: dict | None, when: str, on: bool) -> None:
    from datetime import UTC, datetime

    now = datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp()
    assert autoscale.scheduled_on(schedule, now) is on


def minutes(values: list[float], end: float = 6000.0) -> list[tuple[float, float]]:
    return [(end - 60 * (len(values) - 1 - i), v) for i, v in enumerate(values)]


CFG = {"Enable": True, "UpScaling": {"InstanceCount": 2, "ThresholdsWaitTime": 3, "CpuThreshold": 70},
       "DownScaling": {"InstanceCount": 1, "ThresholdsWaitTime": 3, "CpuThreshold": 20}}


@pytest.mark.parametrize(("cpu", "last", "stopped", "online", "start", "stop"), [
    ([90, 90, 90, 90], None, 3, 1, 2, 0),  # held above 70 for 3 minutes: start 2
    ([90, 90, 90, 90], None, 1, 1, 1, 0),  # only one left to start
    ([50, 90, 90, 90, 90], None, 3, 1, 2, 0),  # the window: the last 3 minutes (+1 of publication lag)
    ([50, 90, 90, 90], None, 3, 1, 0, 0),
    ([90, 90, 50, 90], None, 3, 1, 0, 0),  # a dip inside the window
    ([90, 90], None, 3, 1, 0, 0),  # not long enough yet
    ([10, 10, 10, 10], None, 0, 3, 0, 1),
    ([10, 10, 10, 10], None, 0, 0, 0, 0),  # nothing to stop
    ([90, 90, 90, 90], 6000.0 - 200, 3, 1, 0, 0),  # within IgnoreMetricsTime of the last event
    ([90, 90, 90, 90], 6000.0 - 700, 3, 1, 2, 0),
])
def test_decide_load(cpu: list[float], last: float | None, stopped: int, online: int, start: int, stop: int) -> None:
    d = autoscale.decide_load(CFG, minutes(cpu), 6000.0, last, stopped=stopped, online=online)
    assert (d.start, d.stop) == (start, stop)


def test_load_scaling_off_and_alarms() -> None:
    assert autoscale.decide_load({**CFG, "Enable": False}, minutes([99] * 5), 6000.0, None, stopped=1, online=1).start == 0
    d = autoscale.decide_load(CFG, [], 6000.0, None, stopped=1, online=1, alarms_up=[False, True])
    assert d.start == 1
    d = autoscale.decide_load(CFG, [], 6000.0, None, stopped=0, online=2, alarms_down=[True, True])
    assert d.stop == 1
    assert autoscale.layer_average([[(60.0, 10.0), (120.0, 30.0)], [(61.0, 30.0)]]) == [(60.0, 20.0), (120.0, 30.0)]
