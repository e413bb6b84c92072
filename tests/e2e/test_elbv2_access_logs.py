"""What a balancer reports: access logs shipped to S3 every 5 minutes of
Gureum's clock, in ALB's line format and key layout, and CloudWatch metrics
every minute (5 s and 1 s here, with ``--time-scale 60``)."""

from __future__ import annotations

import gzip
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from conftest import Server, start_server, stop_server
from elbv2_backends import Backend

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def fast_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("elbv2-logs") / "data", "--time-scale", "60")
    yield srv
    stop_server(srv)


def _client(srv: Server, name: str) -> Any:
    return boto3.client(name, endpoint_url=srv.endpoint, region_name="us-east-1", aws_access_key_id="t",
                        aws_secret_access_key="t", config=Config(retries={"max_attempts": 1}))  # fmt: skip


def test_access_logs_land_in_s3_and_metrics_in_cloudwatch(fast_server: Server) -> None:
    elb, s3 = _client(fast_server, "elbv2"), _client(fast_server, "s3")
    backend = Backend("127.0.2.40")
    try:
        s3.create_bucket(Bucket="alb-logs")
        lb = elb.create_load_balancer(Name="logged")["LoadBalancers"][0]
        with pytest.raises(elb.exceptions.InvalidConfigurationRequestException):
            elb.modify_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"], Attributes=[
                {"Key": "access_logs.s3.enabled", "Value": "true"}, {"Key": "access_logs.s3.bucket", "Value": "nope"}])  # fmt: skip
        elb.modify_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"], Attributes=[
            {"Key": "access_logs.s3.enabled", "Value": "true"}, {"Key": "access_logs.s3.bucket", "Value": "alb-logs"},
            {"Key": "access_logs.s3.prefix", "Value": "web"}])  # fmt: skip
        tg = elb.create_target_group(Name="logged", Protocol="HTTP", Port=backend.port, TargetType="ip",
                                     HealthCheckIntervalSeconds=60, HealthCheckTimeoutSeconds=30)["TargetGroups"][0]  # fmt: skip
        elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[backend.target])
        listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=[
            {"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])["Listeners"][0]  # fmt: skip
        elb.get_waiter("target_in_service").wait(TargetGroupArn=tg["TargetGroupArn"], WaiterConfig={"Delay": 0.2})
        attrs = elb.describe_listener_attributes(ListenerArn=listener["ListenerArn"])["Attributes"]
        address = {a["Key"]: a["Value"] for a in attrs}["gureum.bound_address"]
        for i in range(5):
            req = urllib.request.Request(f"http://{address}/page/{i}?x=1", headers={"Host": lb["DNSName"], "User-Agent": "e2e"})
            assert urllib.request.urlopen(req, timeout=10).status == 200
        with pytest.raises(urllib.error.HTTPError) as bad:
            urllib.request.urlopen(urllib.request.Request(f"http://{address}/reset", headers={"Host": "x"}), timeout=10)
        assert bad.value.code == 502
        deadline = time.monotonic() + 30
        keys: list[str] = []
        while not keys and time.monotonic() < deadline:
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket="alb-logs").get("Contents", [])]
            time.sleep(0.2)
        assert keys, "no access log object within 30 s"
        lb_id = lb["LoadBalancerArn"].rsplit("/", 1)[1]
        assert re.fullmatch(
            rf"web/AWSLogs/000000000000/elasticloadbalancing/us-east-1/\d{{4}}/\d\d/\d\d/"
            rf"000000000000_elasticloadbalancing_us-east-1_app\.logged\.{lb_id}_\d{{8}}T\d{{4}}Z_127\.[\d.]+_[0-9a-f]{{8}}\.log\.gz",
            keys[0],
        )
        lines = gzip.decompress(s3.get_object(Bucket="alb-logs", Key=keys[0])["Body"].read()).decode().splitlines()
        # One line per request; a line is kept when its exchange finishes, which under load may be after
        # the client's next request (ALB does not order a log file's entries either): found by request.
        assert len(lines) == 6
        page = [next(line for line in lines if f":80/page/{i}?x=1 " in line) for i in range(5)]
        assert len(set(page)) == 5
        assert sum(" 502 - " in line for line in lines) == 1 and " 502 - " in next(
            line for line in lines if ":80/reset " in line)
        first = page[0]
        assert first.startswith("http ") and " 200 200 " in first
        assert f'"GET http://{lb["DNSName"]}:80/page/0?x=1 HTTP/1.1" "e2e"' in first
        assert tg["TargetGroupArn"] in first and '"forward"' in first
        metrics(_client(fast_server, "cloudwatch"), lb["LoadBalancerArn"], tg["TargetGroupArn"])
    finally:
        backend.close()


def metrics(cw: Any, lb_arn: str, tg_arn: str) -> None:
    lb_dim = {"Name": "LoadBalancer", "Value": "app/" + lb_arn.split(":loadbalancer/app/")[1]}
    tg_dim = {"Name": "TargetGroup", "Value": "targetgroup/" + tg_arn.split(":targetgroup/")[1]}

    def total(metric: str, dims: list[dict[str, str]], stat: str = "Sum") -> float:
        end = time.time() + 86400  # Gureum's clock runs ahead of the wall clock here
        points = cw.get_metric_statistics(
            Namespace="AWS/ApplicationELB", MetricName=metric, Dimensions=dims, StartTime=end - 3 * 86400,
            EndTime=end, Period=3600, Statistics=[stat],
        )["Datapoints"]  # fmt: skip
        return sum(p[stat] for p in points)

    deadline = time.monotonic() + 15
    while total("RequestCount", [lb_dim]) < 6 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert total("RequestCount", [lb_dim]) == 6
    assert total("HTTPCode_Target_2XX_Count", [lb_dim]) == 5
    assert total("HTTPCode_ELB_502_Count", [lb_dim]) == 1
    assert total("HealthyHostCount", [tg_dim, lb_dim], "Maximum") >= 1
