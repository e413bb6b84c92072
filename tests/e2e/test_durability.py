"""Everything a server acknowledged survives ``kill -9``.

A server gets logs, S3 objects and metrics, is killed with SIGKILL (no
shutdown hook runs), and a new server on the same data directory must show all
of it.  A second test kills the server in the middle of a stream of writes
from several threads: every write that was answered 2xx must be there.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from conftest import Server, start_server, stop_server

pytestmark = pytest.mark.e2e


def clients(server: Server) -> dict[str, Any]:
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    cfg = Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30)
    return {name: session.client(name, endpoint_url=server.endpoint, config=cfg) for name in ("logs", "s3", "cloudwatch")}


def kill9(server: Server) -> None:
    server.proc.kill()  # SIGKILL: no graceful shutdown, no store.close()
    server.proc.wait(10)
    assert server.proc.returncode == -9


def test_acknowledged_state_survives_kill_9(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = start_server(data)
    try:
        c = clients(first)
        now = datetime.now(UTC).replace(microsecond=0)
        now_ms = int(now.timestamp() * 1000)

        c["logs"].create_log_group(logGroupName="/durable/app")
        c["logs"].put_retention_policy(logGroupName="/durable/app", retentionInDays=7)
        c["logs"].create_log_stream(logGroupName="/durable/app", logStreamName="web-1")
        events = [{"timestamp": now_ms + i, "message": f"line {i} 구름"} for i in range(50)]
        c["logs"].put_log_events(logGroupName="/durable/app", logStreamName="web-1", logEvents=events)

        c["s3"].create_bucket(Bucket="durable-bucket")
        small = {f"dir/obj-{i}.txt": f"body {i}".encode() for i in range(5)}
        for key, body in small.items():
            c["s3"].put_object(Bucket="durable-bucket", Key=key, Body=body, Metadata={"n": key[-5]})
        big = os.urandom(6 * 1024 * 1024)
        mpu = c["s3"].create_multipart_upload(Bucket="durable-bucket", Key="big.bin")
        parts = []
        for n, chunk in enumerate((big[: 5 * 1024 * 1024], big[5 * 1024 * 1024 :]), start=1):
            r = c["s3"].upload_part(Bucket="durable-bucket", Key="big.bin", UploadId=mpu["UploadId"], PartNumber=n, Body=chunk)
            parts.append({"PartNumber": n, "ETag": r["ETag"]})
        c["s3"].complete_multipart_upload(
            Bucket="durable-bucket", Key="big.bin", UploadId=mpu["UploadId"], MultipartUpload={"Parts": parts}
        )
        big_etag = c["s3"].head_object(Bucket="durable-bucket", Key="big.bin")["ETag"]

        for v in (1.0, 2.0, 3.0, 4.0):
            c["cloudwatch"].put_metric_data(
                Namespace="Durable",
                MetricData=[{"MetricName": "Hits", "Dimensions": [{"Name": "Svc", "Value": "web"}], "Value": v, "Timestamp": now, "Unit": "Count"}],
            )
        kill9(first)

        second = start_server(data)
    except BaseException:
        stop_server(first)
        raise
    try:
        c = clients(second)
        groups = c["logs"].describe_log_groups(logGroupNamePrefix="/durable/")["logGroups"]
        assert [g["logGroupName"] for g in groups] == ["/durable/app"]
        assert groups[0].get("retentionInDays") == 7
        got = c["logs"].get_log_events(logGroupName="/durable/app", logStreamName="web-1", startFromHead=True)["events"]
        assert [(e["timestamp"], e["message"]) for e in got] == [(e["timestamp"], e["message"]) for e in events]

        listed = c["s3"].list_objects_v2(Bucket="durable-bucket")["Contents"]
        assert sorted(o["Key"] for o in listed) == sorted([*small, "big.bin"])
        for key, body in small.items():
            obj = c["s3"].get_object(Bucket="durable-bucket", Key=key)
            assert obj["Body"].read() == body and obj["Metadata"] == {"n": key[-5]}
        obj = c["s3"].get_object(Bucket="durable-bucket", Key="big.bin")
        assert hashlib.sha256(obj["Body"].read()).digest() == hashlib.sha256(big).digest()
        assert obj["ETag"] == big_etag

        metrics = c["cloudwatch"].list_metrics(Namespace="Durable")["Metrics"]
        assert [(m["MetricName"], m["Dimensions"]) for m in metrics] == [("Hits", [{"Name": "Svc", "Value": "web"}])]
        stats = c["cloudwatch"].get_metric_statistics(
            Namespace="Durable", MetricName="Hits", Dimensions=[{"Name": "Svc", "Value": "web"}],
            StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=5), Period=600,
            Statistics=["Sum", "SampleCount", "Maximum"],
        )["Datapoints"]
        assert len(stats) == 1
        assert (stats[0]["Sum"], stats[0]["SampleCount"], stats[0]["Maximum"]) == (10.0, 4.0, 4.0)
    finally:
        stop_server(second)


def test_writes_acknowledged_before_a_kill_mid_stream_are_kept(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = start_server(data)
    acked_events: list[list[str]] = [[] for _ in range(3)]
    acked_objects: list[list[str]] = [[] for _ in range(3)]
    stop = threading.Event()
    try:
        c = clients(first)
        c["logs"].create_log_group(logGroupName="/stream")
        c["s3"].create_bucket(Bucket="stream-bucket")
        for i in range(3):
            c["logs"].create_log_stream(logGroupName="/stream", logStreamName=f"s{i}")

        def writer(i: int) -> None:
            cl = clients(first)
            n = 0
            while not stop.is_set() and n < 2000:
                msg = f"w{i}-{n}"
                try:
                    cl["logs"].put_log_events(
                        logGroupName="/stream", logStreamName=f"s{i}",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": msg}],
                    )
                    acked_events[i].append(msg)
                    cl["s3"].put_object(Bucket="stream-bucket", Key=f"w{i}/{n}", Body=f"w{i}/{n}".encode())
                    acked_objects[i].append(f"w{i}/{n}")
                except Exception:
                    return  # the server died under us: this write was not acknowledged
                n += 1

        threads = [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(3)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while sum(map(len, acked_objects)) < 60 and time.monotonic() < deadline:
            time.sleep(0.01)
        kill9(first)
        stop.set()
        for t in threads:
            t.join(10)
        assert sum(map(len, acked_objects)) >= 60

        second = start_server(data)
    except BaseException:
        stop.set()
        stop_server(first)
        raise
    try:
        c = clients(second)
        for i in range(3):
            stored = []
            kwargs: dict[str, Any] = {"logGroupName": "/stream", "logStreamName": f"s{i}", "startFromHead": True}
            while True:
                page = c["logs"].get_log_events(**kwargs)
                stored += [e["message"] for e in page["events"]]
                if not page["events"]:
                    break
                kwargs["nextToken"] = page["nextForwardToken"]
            # Every acknowledged event is there, in order; at most the one in flight is extra.
            assert stored[: len(acked_events[i])] == acked_events[i]
            assert len(stored) - len(acked_events[i]) <= 1
        keys = set()
        for page in c["s3"].get_paginator("list_objects_v2").paginate(Bucket="stream-bucket"):
            keys |= {o["Key"] for o in page.get("Contents", [])}
        for i in range(3):
            assert set(acked_objects[i]) <= keys
            last = acked_objects[i][-1]
            assert c["s3"].get_object(Bucket="stream-bucket", Key=last)["Body"].read() == last.encode()
    finally:
        stop_server(second)
