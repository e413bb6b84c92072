"""EC2 protocol: requests as the AWS CLI and SDKs send them, and the response layout."""

from __future__ import annotations

import pytest

from gureum.core.errors import ProtocolError, ServiceError, ValidationError
from gureum.protocol import ec2, models
from gureum.protocol.http import Headers, HttpRequest, ResponseMeta

FORM = Headers([("content-type", "application/x-www-form-urlencoded; charset=utf-8")])


def parse(body: str) -> dict:
    model = models.service_model("ec2")
    request = HttpRequest("POST", "/", "", FORM, body.encode())
    return ec2.parse_request(ec2.find_operation(model, request), request, None)


def test_lists_are_numbered_without_member_and_names_come_from_query_name() -> None:
    got = parse(
        "Action=RunInstances&Version=2016-11-15&ImageId=ami-1&MinCount=1&MaxCount=2"
        "&SecurityGroupId.1=sg-1&SecurityGroupId.2=sg-2&InstanceType=t3.micro"
        "&TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=Name"
        "&TagSpecification.1.Tag.1.Value=web&Monitoring.Enabled=true&DryRun=false"
    )
    assert got == {
        "ImageId": "ami-1",
        "MinCount": 1,
        "MaxCount": 2,
        "SecurityGroupIds": ["sg-1", "sg-2"],
        "InstanceType": "t3.micro",
        "TagSpecifications": [
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web"}]}
        ],
        "Monitoring": {"Enabled": True},
        "DryRun": False,
    }


def test_filters_and_ids() -> None:
    got = parse(
        "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-1"
        "&Filter.1.Name=instance-state-name&Filter.1.Value.1=running&Filter.1.Value.2=pending"
    )
    assert got == {
        "InstanceIds": ["i-1"],
        "Filters": [{"Name": "instance-state-name", "Values": ["running", "pending"]}],
    }


def test_missing_required_member_is_named() -> None:
    with pytest.raises(ValidationError) as info:
        parse("Action=RunInstances&Version=2016-11-15&ImageId=ami-1")
    assert "'MinCount'" in info.value.message and "'MaxCount'" in info.value.message


def test_bad_integer_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as info:
        parse("Action=DescribeInstances&Version=2016-11-15&MaxResults=many")
    assert "MaxResults" in info.value.message


def test_unknown_action() -> None:
    with pytest.raises(ProtocolError) as info:
        parse("Action=LaunchRocket&Version=2016-11-15")
    assert (info.value.code, info.value.status) == ("InvalidAction", 400)


def test_response_layout_with_item_lists() -> None:
    operation = models.service_model("ec2").operation_model("DescribeInstances")
    output = {"Reservations": [{"ReservationId": "r-1", "Instances": [{"InstanceId": "i-1"}]}]}
    body = ec2.serialize_response(operation, output, ResponseMeta("rid")).body
    assert body == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
        b"<requestId>rid</requestId><reservationSet><item><reservationId>r-1</reservationId>"
        b"<instancesSet><item><instanceId>i-1</instanceId></item></instancesSet></item>"
        b"</reservationSet></DescribeInstancesResponse>"
    )


def test_error_layout() -> None:
    model = models.service_model("ec2")
    err = ServiceError("InvalidInstanceID.NotFound", "The instance ID 'i-1' does not exist")
    response = ec2.serialize_error(model, err, ResponseMeta("rid"))
    assert response.status == 400
    assert response.body == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
        b"<Code>InvalidInstanceID.NotFound</Code>"
        b"<Message>The instance ID &apos;i-1&apos; does not exist</Message>"
        b"</Error></Errors><RequestID>rid</RequestID></Response>"
    ).replace(b"&apos;", b"'")
