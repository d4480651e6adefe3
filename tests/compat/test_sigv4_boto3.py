"""`[management] auth = "sigv4"`: requests signed by botocore itself (never by our signer)
are accepted; wrong secrets, tampered bodies, stale dates and unsigned calls get 403."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from unittest import mock

import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

import support

REGION = "eu-west-1"
PLAIN = {"accessKeyId": "AKIDCOMPATPLAIN", "secretAccessKey": "plain/Secret+Key/0123456789abcdefEXAMPLE"}
TOKENED = {
    "accessKeyId": "ASIACOMPATTOKEN",
    "secretAccessKey": "tokened/Secret+Key/0123456789abcdefEXAMPLE",
    "sessionToken": "FwoGZXIvYXdzEXAMPLE//session+token=",
}


@pytest.fixture
def signed(start_gateway, backend):
    gw = start_gateway(
        support.api_config(backend, auth="sigv4", credentials=[PLAIN, TOKENED], region=REGION),
        env=backend.gateway_env(),
    )
    from conftest import Compat  # the same helper, on a sigv4 gateway

    c = Compat(gw, backend)
    with c.sockets:
        yield c


def client_for(c, cred, **overrides):
    kw = dict(
        key=cred["accessKeyId"],
        secret=cred["secretAccessKey"],
        token=cred.get("sessionToken"),
        region=REGION,
    )
    kw.update(overrides)
    return support.mgmt_client(c.endpoint, **kw)


def assert_403(excinfo, code=None):
    assert isinstance(excinfo.value, ClientError)
    assert support.http_status(excinfo.value) == 403
    if code:
        assert support.error_code(excinfo.value) == code


@pytest.mark.parametrize("cred", [PLAIN, TOKENED], ids=["plain", "session-token"])
def test_signed_calls_succeed(signed, cred):
    ws, cid = signed.connect()
    client = client_for(signed, cred)
    client.post_to_connection(ConnectionId=cid, Data=b"signed hello")
    assert ws.recv(timeout=support.WAIT) == "signed hello"
    info = client.get_connection(ConnectionId=cid)
    assert info["Identity"]["SourceIp"] == "127.0.0.1"
    client.delete_connection(ConnectionId=cid)
    signed.backend.wait_event("DISCONNECT", cid)


def test_wrong_secret_is_403(signed):
    ws, cid = signed.connect()
    client = client_for(signed, PLAIN, secret="not-the-secret")
    with pytest.raises(ClientError) as e:
        client.post_to_connection(ConnectionId=cid, Data=b"forged")
    assert_403(e)
    with pytest.raises(ClientError) as e:
        client.get_connection(ConnectionId=cid)
    assert_403(e)
    # Nothing was delivered: the next message the client sees is the signed sentinel.
    client_for(signed, PLAIN).post_to_connection(ConnectionId=cid, Data=b"sentinel")
    assert ws.recv(timeout=support.WAIT) == "sentinel"


def test_unknown_access_key_and_missing_session_token_are_403(signed):
    _, cid = signed.connect()
    with pytest.raises(ClientError) as e:
        client_for(signed, PLAIN, key="AKIDNOBODYKNOWS").get_connection(ConnectionId=cid)
    assert_403(e)
    with pytest.raises(ClientError) as e:
        client_for(signed, TOKENED, token=None).get_connection(ConnectionId=cid)
    assert_403(e)


def test_wrong_region_is_403(signed):
    _, cid = signed.connect()
    with pytest.raises(ClientError) as e:
        client_for(signed, PLAIN, region="us-east-1").get_connection(ConnectionId=cid)
    assert_403(e)


def test_tampered_body_is_403(signed):
    ws, cid = signed.connect()
    client = client_for(signed, PLAIN)
    tampered = []

    def tamper(request, **_):
        # After signing, before sending: same length, different bytes.
        body = request.body if isinstance(request.body, bytes) else request.body.read()
        assert body == b"original payload"
        request.body = b"TAMPERED payload"
        tampered.append(True)

    client.meta.events.register("before-send.apigatewaymanagementapi.PostToConnection", tamper)
    with pytest.raises(ClientError) as e:
        client.post_to_connection(ConnectionId=cid, Data=b"original payload")
    assert tampered == [True]
    assert_403(e)
    client_for(signed, PLAIN).post_to_connection(ConnectionId=cid, Data=b"sentinel")
    assert ws.recv(timeout=support.WAIT) == "sentinel", "the tampered body must not be delivered"


def test_signature_dated_20_minutes_ago_is_403(signed):
    _, cid = signed.connect()
    client = client_for(signed, PLAIN)
    stale = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(minutes=20)
    with mock.patch("botocore.auth.get_current_datetime", return_value=stale):
        with pytest.raises(ClientError) as e:
            client.get_connection(ConnectionId=cid)
    assert_403(e)
    # The same client, signing with the real time again, works: only the date was wrong.
    assert client.get_connection(ConnectionId=cid)["Identity"]["SourceIp"] == "127.0.0.1"


def test_unsigned_request_is_403_missing_authentication_token(signed):
    ws, cid = signed.connect()
    req = urllib.request.Request(support.conn_path(signed.endpoint, cid), data=b"unsigned", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=support.WAIT)
    assert e.value.code == 403
    assert e.value.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    client_for(signed, PLAIN).post_to_connection(ConnectionId=cid, Data=b"sentinel")
    assert ws.recv(timeout=support.WAIT) == "sentinel", "the unsigned body must not be delivered"


@pytest.mark.parametrize("cred", [PLAIN, TOKENED], ids=["plain", "session-token"])
def test_presigned_get_connection_url_works(signed, cred):
    _, cid = signed.connect(user_agent="presign-test/1.0")
    request = AWSRequest(method="GET", url=support.conn_path(signed.endpoint, cid))
    creds = Credentials(cred["accessKeyId"], cred["secretAccessKey"], cred.get("sessionToken"))
    SigV4QueryAuth(creds, "execute-api", REGION, expires=60).add_auth(request)
    url = request.prepare().url
    assert "X-Amz-Signature=" in url
    with urllib.request.urlopen(url, timeout=support.WAIT) as response:
        assert response.status == 200
        body = json.loads(response.read())
    assert body["identity"]["sourceIp"] == "127.0.0.1"
    assert body["identity"]["userAgent"] == "presign-test/1.0"
    # ...and the same URL with its signature altered is refused.
    head, signature = url.rsplit("X-Amz-Signature=", 1)
    assert len(signature) == 64, url
    flipped = ("1" if signature[0] == "0" else "0") + signature[1:]
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{head}X-Amz-Signature={flipped}", timeout=support.WAIT)
    assert e.value.code == 403
