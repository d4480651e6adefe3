"""The @connections API through boto3's `apigatewaymanagementapi` client (auth = "none",
dummy credentials): what an application using the real SDK would see."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from websockets.exceptions import ConnectionClosed

import support

MAX = 131_072


def test_post_text_arrives_verbatim_as_text(compat):
    ws, cid = compat.connect()
    client = compat.client()
    text = 'héllo ✓ {"a": [1, 2]}\n\ttabs "quotes" \\ backslash'
    client.post_to_connection(ConnectionId=cid, Data=text.encode("utf-8"))
    got = ws.recv(timeout=support.WAIT)
    assert isinstance(got, str), "valid UTF-8 must arrive as a text message"
    assert got == text
    ws.close()


def test_post_non_utf8_arrives_as_binary(compat):
    ws, cid = compat.connect()
    data = b"\xff\xfe\x00\x80binary\xc3"
    compat.client().post_to_connection(ConnectionId=cid, Data=data)
    got = ws.recv(timeout=support.WAIT)
    assert isinstance(got, bytes), "non-UTF-8 bytes must arrive as a binary message"
    assert got == data
    ws.close()


def test_connection_ids_end_in_equals_and_work(compat):
    ws, cid = compat.connect()
    assert cid.endswith("="), cid
    client = compat.client()
    client.post_to_connection(ConnectionId=cid, Data=b"with equals")
    assert ws.recv(timeout=support.WAIT) == "with equals"
    assert client.get_connection(ConnectionId=cid)["Identity"]["SourceIp"] == "127.0.0.1"
    ws.close()


def test_post_size_limit(compat):
    ws, cid = compat.connect(max_size=2**20)
    client = compat.client()
    with pytest.raises(client.exceptions.PayloadTooLargeException) as e:
        client.post_to_connection(ConnectionId=cid, Data=b"x" * (MAX + 1))
    assert support.http_status(e.value) == 413
    body = bytes(range(32, 127)) * (MAX // 95) + b"y" * (MAX % 95)
    assert len(body) == MAX
    client.post_to_connection(ConnectionId=cid, Data=body)
    got = ws.recv(timeout=support.WAIT)
    assert got == body.decode(), "the 131,072-byte message must arrive whole, once"
    ws.close()


def test_get_connection(compat):
    before = datetime.now(timezone.utc)
    ws, cid = compat.connect(user_agent="compat-agent/7.7 (test)")
    info = compat.client().get_connection(ConnectionId=cid)
    assert isinstance(info["ConnectedAt"], datetime)
    assert isinstance(info["LastActiveAt"], datetime)
    assert info["ConnectedAt"].tzinfo is not None
    slack = timedelta(seconds=5)
    assert before - slack <= info["ConnectedAt"] <= datetime.now(timezone.utc) + slack
    assert info["LastActiveAt"] >= info["ConnectedAt"]
    assert info["Identity"]["SourceIp"] == "127.0.0.1"
    assert info["Identity"]["UserAgent"] == "compat-agent/7.7 (test)"
    ws.close()


def test_last_active_at_advances_on_client_message_and_on_post(compat):
    ws, cid = compat.connect()
    client = compat.client()
    first = client.get_connection(ConnectionId=cid)
    # Timestamps have millisecond precision: let the clock move past the previous one.
    time.sleep(0.02)
    ws.send("client says hi")
    compat.backend.wait_for(
        lambda e: e["requestContext"].get("eventType") == "MESSAGE"
        and e["requestContext"]["connectionId"] == cid
    )
    second = client.get_connection(ConnectionId=cid)
    assert second["LastActiveAt"] > first["LastActiveAt"], "a client message must advance LastActiveAt"
    assert second["ConnectedAt"] == first["ConnectedAt"]
    time.sleep(0.02)
    client.post_to_connection(ConnectionId=cid, Data=b"server says hi")
    assert ws.recv(timeout=support.WAIT) == "server says hi"
    third = client.get_connection(ConnectionId=cid)
    assert third["LastActiveAt"] > second["LastActiveAt"], "a post must advance LastActiveAt"
    ws.close()


def test_delete_connection_closes_client_and_runs_disconnect(compat):
    ws, cid = compat.connect()
    client = compat.client()
    response = client.delete_connection(ConnectionId=cid)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ConnectionClosed):
        ws.recv(timeout=support.WAIT)
    assert ws.protocol.close_rcvd is not None, "the gateway must send a close frame"
    assert ws.protocol.close_rcvd.code == 1000
    event = compat.backend.wait_event("DISCONNECT", cid)
    assert event["requestContext"]["eventType"] == "DISCONNECT"
    assert event["requestContext"]["routeKey"] == "$disconnect"
    assert event["requestContext"]["connectionId"] == cid
    # Now gone for every operation.
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId=cid, Data=b"too late")
    with pytest.raises(client.exceptions.GoneException):
        client.get_connection(ConnectionId=cid)
    with pytest.raises(client.exceptions.GoneException):
        client.delete_connection(ConnectionId=cid)


@pytest.mark.parametrize("unknown", ["AAAAAAAAAAAAAAA=", "not-a-connection-id", "abc=="])
def test_unknown_ids_are_gone(compat, unknown):
    client = compat.client()
    for call in (
        lambda: client.post_to_connection(ConnectionId=unknown, Data=b"x"),
        lambda: client.get_connection(ConnectionId=unknown),
        lambda: client.delete_connection(ConnectionId=unknown),
    ):
        with pytest.raises(client.exceptions.GoneException) as e:
            call()
        assert support.http_status(e.value) == 410


def test_id_of_a_client_that_closed_is_gone(compat):
    ws, cid = compat.connect()
    client = compat.client()
    client.post_to_connection(ConnectionId=cid, Data=b"alive")
    assert ws.recv(timeout=support.WAIT) == "alive"
    ws.close(code=1000)
    event = compat.backend.wait_event("DISCONNECT", cid)
    assert event["requestContext"]["disconnectStatusCode"] == 1000
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId=cid, Data=b"after close")
    with pytest.raises(client.exceptions.GoneException):
        client.get_connection(ConnectionId=cid)


def test_id_of_another_live_connection_is_not_confused(compat):
    a, cid_a = compat.connect()
    b, cid_b = compat.connect()
    assert cid_a != cid_b
    client = compat.client()
    client.post_to_connection(ConnectionId=cid_b, Data=b"for b")
    client.post_to_connection(ConnectionId=cid_a, Data=b"for a")
    assert a.recv(timeout=support.WAIT) == "for a"
    assert b.recv(timeout=support.WAIT) == "for b"
    a.close()
    b.close()
