"""`AWS_PROXY` through the Lambda Invoke API (docs/behaviour.md §4.2): the gateway's Lambda
client and its SigV4 against a stand-in that speaks Lambda's wire protocol and checks every
signature with botocore's own signer (lambda_backend.py). Also the plain-URL extension
(`integrationUri = "http://…"`), which the other suites no longer use."""

from __future__ import annotations

import re

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

import support
from lambda_backend import ACCOUNT, FUNCTION, REGION

INTERNAL_ERROR = re.compile(
    r'^\{"message": "Internal server error", "connectionId":"[A-Za-z0-9_-]{15}=", "requestId":"[A-Za-z0-9_-]{15}="\}$'
)


def two_way_config(backend: support.LambdaBackend, uri: str) -> str:
    """$connect and a two-way $default invoking `uri`."""
    return f"""
[server]
listen = "127.0.0.1:0"
[management]
listen = "127.0.0.1:0"
[aws.endpoints]
lambda = "{backend.url}"
[apis.fn]
routeSelectionExpression = "$request.body.action"
[apis.fn.stages.dev]
[apis.fn.integrations.fn]
integrationType = "AWS_PROXY"
integrationUri = "{uri}"
[apis.fn.routes."$connect"]
target = "integrations/fn"
[apis.fn.routes."$default"]
target = "integrations/fn"
routeResponseSelectionExpression = "$default"
"""


def handler(event: dict) -> dict:
    """Echoes a message upper-cased; fails on "boom"."""
    body = event.get("body")
    if body == "boom":
        raise RuntimeError("the handler failed on purpose")
    return {"statusCode": 200, "body": body.upper() if body else None}


@pytest.fixture
def backend():
    b = support.LambdaBackend(handler)
    yield b
    b.close()


def refused_status(url: str) -> int:
    with pytest.raises(InvalidStatus) as e:
        connect(url, open_timeout=support.WAIT)
    return e.value.response.status_code


@pytest.mark.parametrize(
    "uri",
    [
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}:live",
        f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}:live/invocations",
    ],
    ids=["function-arn", "apigateway-arn"],
)
def test_handlers_are_invoked_through_the_signed_invoke_api(start_gateway, backend, uri):
    gw = start_gateway(two_way_config(backend, uri), env=backend.gateway_env())
    with connect(f"{gw.ws_url}?tag=t1", open_timeout=support.WAIT) as ws:
        ws.send('{"text": "héllo ✓"}')
        assert ws.recv(timeout=support.WAIT) == '{"TEXT": "HÉLLO ✓"}'
    connect_event, message = backend.events[:2]
    for event in (connect_event, message):
        assert (event["_via"], event["_function"], event["_qualifier"]) == ("invoke", FUNCTION, "live")
    assert connect_event["requestContext"]["eventType"] == "CONNECT"
    assert connect_event["queryStringParameters"] == {"tag": "t1"}
    assert message["requestContext"]["eventType"] == "MESSAGE"
    assert message["body"] == '{"text": "héllo ✓"}'
    assert backend.refusals == []


def test_a_function_error_is_an_internal_server_error_and_the_connection_keeps_working(start_gateway, backend):
    gw = start_gateway(two_way_config(backend, backend.function_arn()), env=backend.gateway_env())
    with connect(gw.ws_url, open_timeout=support.WAIT) as ws:
        ws.send("boom")
        frame = ws.recv(timeout=support.WAIT)
        assert INTERNAL_ERROR.match(frame), frame
        ws.send("still here")
        assert ws.recv(timeout=support.WAIT) == "STILL HERE"
    assert backend.refusals == []


def test_a_function_error_on_connect_refuses_the_upgrade_with_502(start_gateway):
    def refuse(event):
        if event["requestContext"]["eventType"] == "CONNECT":
            raise PermissionError("no entry")
        return None

    backend = support.LambdaBackend(refuse)
    try:
        gw = start_gateway(two_way_config(backend, backend.function_arn()), env=backend.gateway_env())
        assert refused_status(gw.ws_url) == 502
        backend.wait_for(lambda e: e["requestContext"]["eventType"] == "CONNECT")
    finally:
        backend.close()


def test_a_wrong_secret_is_refused_by_the_invoke_api_and_no_handler_runs(start_gateway, backend):
    gw = start_gateway(
        two_way_config(backend, backend.function_arn()), env=backend.gateway_env(secret="not-the-secret")
    )
    # A failed $connect invocation refuses the upgrade (a 5xx; which one is the gateway's
    # error-side rule, not the Invoke API's).
    assert refused_status(gw.ws_url) >= 500
    refusal = backend.wait_refusal()
    assert (refusal.status, refusal.error_type) == (403, "InvalidSignatureException")
    assert "signature we calculated does not match" in refusal.message
    assert backend.events == []


def test_an_unknown_function_is_refused_by_the_invoke_api(start_gateway, backend):
    gw = start_gateway(two_way_config(backend, backend.function_arn("no-such-function")), env=backend.gateway_env())
    assert refused_status(gw.ws_url) >= 500
    refusal = backend.wait_refusal()
    assert (refusal.status, refusal.error_type) == (404, "ResourceNotFoundException")
    assert backend.events == []


def test_the_plain_url_extension_posts_the_same_events(start_gateway, backend):
    gw = start_gateway(two_way_config(backend, f"{backend.url}/lambda"))  # no credentials needed
    with connect(f"{gw.ws_url}?tag=t2", open_timeout=support.WAIT) as ws:
        ws.send("plain")
        assert ws.recv(timeout=support.WAIT) == "PLAIN"
        ws.send("boom")  # the URL answers 500: a function error
        assert INTERNAL_ERROR.match(ws.recv(timeout=support.WAIT))
    connect_event, message = backend.events[:2]
    assert [(e["_via"], e["_path"]) for e in (connect_event, message)] == [("url", "/lambda")] * 2
    assert connect_event["queryStringParameters"] == {"tag": "t2"}
    assert message["body"] == "plain"
