"""The CloudWatch agent's config subset and its pure collection pieces."""

from __future__ import annotations

import json

import pytest

from gureum.services.ec2 import agent_config as ac

FULL = {
    "agent": {"metrics_collection_interval": 30},
    "metrics": {
        "append_dimensions": {"InstanceId": "${aws:InstanceId}", "AutoScalingGroupName": "${aws:AutoScalingGroupName}"},
        "metrics_collected": {"mem": {"measurement": ["used_percent", {"name": "mem_total"}]},
                              "disk": {"measurement": ["disk_used_percent"], "resources": ["/", "/data"]}},
    },
    "logs": {"logs_collected": {"files": {"collect_list": [
        {"file_path": "/var/log/a.log", "log_group_name": "g", "log_stream_name": "{instance_id}-{ip_address}"},
        {"file_path": "/var/log/b.log", "log_group_name": "g2"}]}}},
}
INSTANCE = {"InstanceId": "i-1", "InstanceType": "t2.micro", "ImageId": "ami-1",
            "PrivateIpAddress": "127.0.1.5", "PrivateDnsName": "ip-127-0-1-5.ec2.internal"}


def test_parse_full() -> None:
    c = ac.parse(json.dumps(FULL))
    assert c.namespace == "CWAgent"
    assert c.interval == 30.0
    assert c.mem == ("mem_used_percent", "mem_total")
    assert c.disk == ("disk_used_percent",)
    assert c.disk_resources == ("/", "/data")
    assert [f.stream for f in c.files] == ["{instance_id}-{ip_address}", "{instance_id}"]
    assert ac.stream_name(c.files[0].stream, INSTANCE) == "i-1-127.0.1.5"
    assert ac.dimensions(c, INSTANCE, "web") == {"InstanceId": "i-1", "AutoScalingGroupName": "web"}
    assert ac.dimensions(c, INSTANCE, None) == {"InstanceId": "i-1"}  # empty values dropped


def test_defaults_and_host_dimension() -> None:
    c = ac.parse('{"metrics": {"namespace": "Mine", "metrics_collected": {"mem": {"measurement": ["mem_used_percent"]}}}}')
    assert (c.namespace, c.interval, c.files) == ("Mine", 60.0, ())
    assert ac.dimensions(c, INSTANCE, None) == {"host": "ip-127-0-1-5.ec2.internal"}


@pytest.mark.parametrize("text", ["not json", "[1]", '{"logs": {"logs_collected": {"files": {"collect_list": [{"file_path": "/x"}]}}}}'])
def test_bad_config(text: str) -> None:
    with pytest.raises(ac.ConfigError):
        ac.parse(text)


def test_parse_df_and_units() -> None:
    out = "Filesystem           1024-blocks    Used Available Capacity Mounted on\noverlay  1000  250  750  25% /\n"
    parsed = ac.parse_df(out)
    assert parsed is not None
    values, extra = parsed
    assert values["disk_used_percent"] == 25.0
    assert values["disk_total"] == 1000 * 1024
    assert extra == {"device": "overlay", "path": "/"}
    assert ac.parse_df("df: /nope: No such file\n") is None
    assert ac.unit("disk_used_percent") == "Percent"
    assert ac.unit("mem_total") == "Bytes"


def test_mem_values() -> None:
    v = ac.mem_values(256, 1024)
    assert v["mem_used_percent"] == 25.0
    assert v["mem_available_percent"] == 75.0


def test_complete_lines_keep_a_partial_line_for_later() -> None:
    assert ac.complete_lines(b"a\nb\npart") == (["a", "b"], 4)
    assert ac.complete_lines(b"no newline yet") == ([], 0)
    assert ac.complete_lines("é\n".encode()) == (["é"], 3)
