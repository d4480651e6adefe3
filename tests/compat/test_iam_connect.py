"""AWS_IAM on $connect (docs/behaviour.md §8.1): the upgrade URL presigned by botocore's own SigV4 signer
(what a browser client does) is accepted; a tampered, unsigned or not-allowed one is 403."""

from __future__ import annotations

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

import support

REGION = "eu-west-1"
ALICE = ("AKIDALICEEXAMPLE", "alice/secret/key")
BOB = ("AKIDBOBEXAMPLE", "bob/secret/key")


def config(backend: support.LambdaBackend) -> str:
    return f"""
[server]
listen = "127.0.0.1:0"
[management]
listen = "127.0.0.1:0"
[aws]
region = "{REGION}"
accountId = "123456789012"
[aws.endpoints]
lambda = "{backend.url}"

[[iam.principals]]
accessKeyId = "{ALICE[0]}"
secretAccessKey = "{ALICE[1]}"
allow = ["arn:aws:execute-api:{REGION}:123456789012:iam/dev/*"]
userArn = "arn:aws:iam::123456789012:user/alice"

[[iam.principals]]
accessKeyId = "{BOB[0]}"
secretAccessKey = "{BOB[1]}"
allow = ["arn:aws:execute-api:{REGION}:123456789012:iam/prod/$connect"]

[apis.iam]
routeSelectionExpression = "$request.body.action"
[apis.iam.stages.dev]
[apis.iam.integrations.events]
integrationType = "AWS_PROXY"
integrationUri = "{backend.function_arn()}"
[apis.iam.routes."$connect"]
target = "integrations/events"
authorizationType = "AWS_IAM"
[apis.iam.routes."$default"]
target = "integrations/events"
"""


def presigned(ws_url: str, key: tuple[str, str], region: str = REGION) -> str:
    return support.presigned(ws_url, key, region)


@pytest.fixture
def gateway(start_gateway, backend):
    return start_gateway(config(backend), env=backend.gateway_env())


def refused_status(url: str) -> int:
    with pytest.raises(InvalidStatus) as e:
        connect(url, open_timeout=support.WAIT)
    return e.value.response.status_code


def test_a_botocore_presigned_upgrade_is_accepted_with_the_iam_identity(gateway, backend):
    with connect(presigned(gateway.ws_url, ALICE), open_timeout=support.WAIT) as ws:
        event = backend.wait_for(lambda e: e["requestContext"]["eventType"] == "CONNECT")
        identity = event["requestContext"]["identity"]
        assert identity["accessKey"] == ALICE[0]
        assert identity["userArn"] == "arn:aws:iam::123456789012:user/alice"
        assert identity["accountId"] == "123456789012"
        ws.send("hello")
        message = backend.wait_for(lambda e: e["requestContext"]["eventType"] == "MESSAGE")
        assert message["requestContext"]["identity"]["accessKey"] == ALICE[0]


def test_tampered_unsigned_wrong_region_and_not_allowed_upgrades_are_403(gateway, backend):
    good = presigned(gateway.ws_url, ALICE)
    head, signature = good.rsplit("X-Amz-Signature=", 1)
    flipped = ("1" if signature[0] == "0" else "0") + signature[1:]
    assert refused_status(f"{head}X-Amz-Signature={flipped}") == 403
    assert refused_status(good.replace("X-Amz-Expires=300", "X-Amz-Expires=301")) == 403
    assert refused_status(gateway.ws_url) == 403
    assert refused_status(presigned(gateway.ws_url, ALICE, region="us-east-1")) == 403
    assert refused_status(presigned(gateway.ws_url, ("AKIDNOBODY", "x"))) == 403
    # Bob may only connect to prod.
    assert refused_status(presigned(gateway.ws_url, BOB)) == 403
    assert not [e for e in backend.events if e["requestContext"]["eventType"] == "CONNECT"]
    with connect(good, open_timeout=support.WAIT):
        pass
