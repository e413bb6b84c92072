"""Query protocol: the requests a real client can send, good and bad, as tables."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gureum.core.errors import ProtocolError, ValidationError
from gureum.protocol import models, query
from gureum.protocol.http import Headers, HttpRequest, ResponseMeta

FORM = Headers([("content-type", "application/x-www-form-urlencoded; charset=utf-8")])


def post(body: str | bytes, query_string: str = "") -> HttpRequest:
    raw = body.encode() if isinstance(body, str) else body
    return HttpRequest("POST", "/", query_string, FORM, raw)


def parse(service: str, body: str) -> dict:
    model = models.service_model(service)
    request = post(body)
    return query.parse_request(query.find_operation(model, request), request, None)


def test_sts_get_caller_identity_from_curl_body() -> None:
    model = models.service_model("sts")
    request = post("Action=GetCallerIdentity&Version=2011-06-15")
    operation = query.find_operation(model, request)
    assert operation.name == "GetCallerIdentity"
    assert query.parse_request(operation, request, None) == {}
    response = query.serialize_response(
        operation,
        {"Account": "000000000000", "Arn": "arn:aws:iam::000000000000:root"},
        ResponseMeta("rid"),
    )
    assert response.body == (
        b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        b"<GetCallerIdentityResult><Account>000000000000</Account>"
        b"<Arn>arn:aws:iam::000000000000:root</Arn></GetCallerIdentityResult>"
        b"<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
    )
    assert ("x-amzn-requestid", "rid") in response.headers


def test_get_request_reads_the_query_string() -> None:
    model = models.service_model("iam")
    request = HttpRequest("GET", "/", "Action=GetUser&Version=2010-05-08&UserName=bob")
    operation = query.find_operation(model, request)
    assert query.parse_request(operation, request, None) == {"UserName": "bob"}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("Version=2011-06-15", "MissingAction"),
        ("Action=&Version=2011-06-15", "MissingAction"),
        ("Action=NoSuchThing&Version=2011-06-15", "InvalidAction"),
        ("Action=GetCallerIdentity%FF&Version=2011-06-15", "MalformedQueryString"),
    ],
)
def test_bad_requests_are_400_wire_errors(body: str, code: str) -> None:
    with pytest.raises(ProtocolError) as info:
        query.find_operation(models.service_model("sts"), post(body))
    assert info.value.code == code
    assert info.value.status == 400


def test_invalid_utf8_body_is_malformed() -> None:
    with pytest.raises(ProtocolError) as info:
        query.find_operation(models.service_model("sts"), post(b"Action=Get\xff\xfe"))
    assert info.value.code == "MalformedQueryString"


@pytest.mark.parametrize(
    ("service", "body", "needle"),
    [
        ("sts", "Action=AssumeRole&Version=2011-06-15&RoleSessionName=abc", "'RoleArn'"),
        ("iam", "Action=CreateUser&Version=2010-05-08", "'UserName'"),
        ("elbv2", "Action=CreateTargetGroup&Version=2015-12-01", "'Name'"),
    ],
)
def test_missing_required_member_is_named(service: str, body: str, needle: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse(service, body)
    assert needle in info.value.message
    assert "must not be null" in info.value.message


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("Action=DescribeAlarms&Version=2010-08-01&MaxRecords=ten", "MaxRecords"),
        ("Action=DescribeAlarmHistory&Version=2010-08-01&StartDate=yesterday", "StartDate"),
        (
            "Action=SetAlarmState&Version=2010-08-01&AlarmName=a&StateValue=OK&StateReason=r&Foo=1"
            "&StateReasonData=x",
            None,
        ),
    ],
)
def test_bad_scalars_are_validation_errors(body: str, needle: str | None) -> None:
    if needle is None:  # unknown parameters are ignored, as AWS does
        assert parse("cloudwatch", body)["AlarmName"] == "a"
        return
    with pytest.raises(ValidationError) as info:
        parse("cloudwatch", body)
    assert needle in info.value.message


def test_lists_maps_nested_structures_booleans_timestamps() -> None:
    body = (
        "Action=PutMetricAlarm&Version=2010-08-01&AlarmName=high&MetricName=CPU&Namespace=AWS%2FEC2"
        "&Period=60&EvaluationPeriods=3&Threshold=70.5&ComparisonOperator=GreaterThanThreshold"
        "&ActionsEnabled=false&AlarmActions.member.2=arn%3Ab&AlarmActions.member.1=arn%3Aa"
        "&Dimensions.member.1.Name=InstanceId&Dimensions.member.1.Value=i-1&Statistic=Average"
    )
    assert parse("cloudwatch", body) == {
        "AlarmName": "high",
        "MetricName": "CPU",
        "Namespace": "AWS/EC2",
        "Period": 60,
        "EvaluationPeriods": 3,
        "Threshold": 70.5,
        "ComparisonOperator": "GreaterThanThreshold",
        "ActionsEnabled": False,
        "AlarmActions": ["arn:a", "arn:b"],
        "Dimensions": [{"Name": "InstanceId", "Value": "i-1"}],
        "Statistic": "Average",
    }
    history = parse(
        "cloudwatch",
        "Action=DescribeAlarmHistory&Version=2010-08-01&StartDate=2024-05-01T10%3A00%3A00Z"
        "&EndDate=2024-05-01T11%3A00%3A00.250%2B01%3A00",
    )
    assert history["StartDate"] == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert history["EndDate"] == datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=UTC)


def test_empty_list_and_map_entries() -> None:
    got = parse(
        "sns",
        "Action=CreateTopic&Version=2010-03-31&Name=t&Attributes.entry.1.key=DisplayName"
        "&Attributes.entry.1.value=Hello&Tags=",
    )
    assert got == {"Name": "t", "Attributes": {"DisplayName": "Hello"}, "Tags": []}
