"""Groups, broadcast, users and the connection registry (docs/groups.md), black-box against the
binary: management calls signed with botocore's SigV4, real WebSocket clients, `$connect` and a
REQUEST authorizer on the Lambda stand-in."""

from __future__ import annotations

import contextlib
import json
import uuid

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

import support
from groups_support import Signed, config, every_page, eventually, handler, plain_config


class Room:
    """A gateway, its backend, and clients that say who they are (`user`) and what to join."""

    def __init__(self, gw, backend, sockets: contextlib.ExitStack):
        self.gw, self.backend, self.sockets = gw, backend, sockets
        self.api = Signed(gw.endpoint("dev"))

    def connect(self, user: str = "anon", join: str = ""):
        """(websocket, connectionId)."""
        tag = uuid.uuid4().hex
        url = f"{self.gw.ws_url}?tag={tag}&user={user}" + (f"&join={join}" if join else "")
        ws = self.sockets.enter_context(ws_connect(url, open_timeout=support.WAIT, close_timeout=support.WAIT))
        return ws, self.backend.connection_id_for_tag(tag)

    def raw(self, user: str = "anon", join: str = ""):
        """A client that never reads (tiny receive buffer); its connectionId."""
        tag = uuid.uuid4().hex
        url = f"{self.gw.ws_url}?tag={tag}&user={user}" + (f"&join={join}" if join else "")
        client = support.RawWebSocket(url)
        self.sockets.callback(client.close)
        return client, self.backend.connection_id_for_tag(tag)


@pytest.fixture
def room(start_gateway):
    backend = support.LambdaBackend(handler)
    gw = start_gateway(config(backend, server_limits="outboundQueueDepth = 4"), env=backend.gateway_env())
    with contextlib.ExitStack() as sockets:
        yield Room(gw, backend, sockets)
    backend.close()


def received(ws, timeout: float = support.WAIT) -> str:
    return ws.recv(timeout=timeout)


def nothing_more(ws) -> None:
    """No message is waiting (a broadcast that excluded this client sent it nothing)."""
    with pytest.raises(TimeoutError):
        ws.recv(timeout=0.3)


def test_joined_by_call_and_by_connect_answer_broadcast_reaches_each_member_once_but_the_excluded(room):
    a, a_id = room.connect(join="lobby")
    b, b_id = room.connect()
    c, c_id = room.connect()
    outsider, _ = room.connect()
    assert room.api.join(b_id, "lobby").status == 204
    assert room.api.join(c_id, "lobby").status == 204
    assert room.api.join(c_id, "lobby").status == 204, "joining twice changes nothing"

    answer = room.api.broadcast("lobby", "hello", exclude=[a_id])
    assert answer.status == 200, answer
    assert answer.json == {"queued": 2, "skipped": 0, "nodesAsked": 1, "nodesAnswered": 1, "complete": True}
    assert received(b) == "hello" and received(c) == "hello"
    nothing_more(a)
    nothing_more(outsider)
    nothing_more(b)

    group = room.api.group("lobby")
    assert group.status == 200
    assert group.json["count"] == 3
    assert sorted(m["connectionId"] for m in group.json["connections"]) == sorted([a_id, b_id, c_id])
    assert all("lobby" in m["groups"] for m in group.json["connections"])

    assert room.api.leave(b_id, "lobby").status == 204
    assert room.api.broadcast("lobby", "again").json["queued"] == 2
    assert received(a) == "again" and received(c) == "again"
    nothing_more(b)
    # GetConnection shows the groups (an extension field, present only when there are some).
    described = room.api.get(c_id).json
    assert described["groups"] == ["lobby"] and described["user"] == "anon"


def test_a_connection_that_ends_leaves_its_groups(room):
    a, a_id = room.connect(join="lobby,news")
    b, _ = room.connect(join="lobby")
    a.close()
    eventually(lambda: room.api.group("lobby").json["count"] == 1, what="the closed member gone")
    assert room.api.group("news").json == {
        "count": 0, "connections": [], "nodesAsked": 1, "nodesAnswered": 1, "complete": True,
    }
    assert room.api.broadcast("lobby", "still here").json["queued"] == 1
    assert received(b) == "still here"


def signed_metrics(mgmt_url: str) -> str:
    """`/metrics`, signed like the calls (`metricsAuth` follows `auth = "sigv4"`)."""
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    signer = Signed(mgmt_url)
    request = AWSRequest(method="GET", url=mgmt_url + "/metrics", data=b"")
    SigV4Auth(signer.credentials, "execute-api", signer.region).add_auth(request)
    headers = dict(request.prepare().headers.items())
    get = urllib.request.Request(mgmt_url + "/metrics", headers=headers)
    with urllib.request.urlopen(get, timeout=support.WAIT) as answer:
        return answer.read().decode()


def test_a_member_that_never_reads_is_skipped_and_does_not_delay_the_others(room):
    fast = [room.connect(join="feed")[0] for _ in range(3)]
    slow, _ = room.raw(join="feed")
    big = "x" * 60_000
    skipped_seen = 0
    for n in range(60):
        answer = room.api.broadcast("feed", f"{n}:{big}")
        assert answer.status == 200, answer
        assert answer.json["queued"] + answer.json["skipped"] == 4
        skipped_seen += answer.json["skipped"]
        for ws in fast:
            assert received(ws).startswith(f"{n}:"), "every fast member gets every message, in order"
        if skipped_seen >= 3:
            break
    assert skipped_seen >= 3, "the slow member's queue filled and it was skipped"
    text = signed_metrics(room.gw.mgmt_url)
    assert 'switchboard_broadcast_deliveries_total{result="skipped"}' in text


def test_users_are_reached_listed_and_logged_out_everywhere(room):
    phone, phone_id = room.connect(user="ann")
    laptop, laptop_id = room.connect(user="ann")
    bob, bob_id = room.connect(user="bob")

    answer = room.api.user("POST", "ann", '{"note":"for ann"}')
    assert answer.status == 200 and answer.json["queued"] == 2, answer
    assert received(phone) == '{"note":"for ann"}' and received(laptop) == '{"note":"for ann"}'
    nothing_more(bob)

    listed = room.api.user("GET", "ann")
    assert listed.status == 200
    assert listed.json["count"] == 2
    assert sorted(c["connectionId"] for c in listed.json["connections"]) == sorted([phone_id, laptop_id])
    assert {c["user"] for c in listed.json["connections"]} == {"ann"}
    assert room.api.list("user=bob").json["connections"][0]["connectionId"] == bob_id

    out = room.api.user("DELETE", "ann")
    assert out.status == 200 and out.json["disconnected"] == 2
    for ws in (phone, laptop):
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=support.WAIT)
        assert closed.value.rcvd.code == 1000
    eventually(lambda: room.api.user("GET", "ann").json["count"] == 0, what="ann logged out")
    assert room.api.user("POST", "bob", "still on").json["queued"] == 1
    assert received(bob) == "still on"
    assert room.api.user("POST", "nobody", "x").json["queued"] == 0


def test_the_stage_broadcast_reaches_everyone(room):
    clients = [room.connect()[0] for _ in range(3)]
    answer = room.api.stage_broadcast("to all")
    assert answer.status == 200 and answer.json["queued"] == 3
    for ws in clients:
        assert received(ws) == "to all"


def test_bad_names_caps_and_strangers_get_clear_answers(room):
    _, a_id = room.connect()
    bad = room.api.join(a_id, "no spaces")
    assert bad.status == 400 and bad.headers["x-amzn-ErrorType"] == "BadRequestException"
    assert "group name" in bad.json["message"]
    too_long = room.api.broadcast("g" * 129, "x")
    assert too_long.status == 400
    assert room.api.list("limit=0").status == 400
    assert room.api.list("limit=1001").status == 400
    assert room.api.list("nextToken=nonsense").status == 400
    assert room.api.broadcast("lobby", "x", exclude=["not-an-id"]).status == 400
    assert room.api.join("AAAAAAAAAAAAAAA=", "lobby").status == 410
    assert room.api.call("PATCH", "/@groups/lobby").status == 405

    for n in range(64):
        assert room.api.join(a_id, f"g{n}").status == 204
    capped = room.api.join(a_id, "one-too-many")
    assert capped.status == 409, capped
    assert capped.headers["x-amzn-ErrorType"] == "GroupLimitExceededException"
    assert "64" in capped.json["message"]

    too_big = room.api.broadcast("g1", "x" * 131_073)
    assert too_big.status == 413
    assert room.api.call("POST", "/@groups/g1", "x", sign=False).status == 403
    assert room.api.call("GET", "/@connections", sign=False).status == 403
    # A stranger learns nothing about names: unsigned, a bad name is 403 like any other call.
    assert room.api.call("POST", "/@groups/bad%20name", "x", sign=False).status == 403


def test_message_events_carry_groups_and_user_only_when_the_stage_asks(start_gateway):
    for on in (False, True):
        backend = support.LambdaBackend(handler)
        settings = "eventExtensions = true" if on else ""
        gw = start_gateway(config(backend, stage_settings=settings), env=backend.gateway_env())
        try:
            with contextlib.ExitStack() as sockets:
                r = Room(gw, backend, sockets)
                ws, cid = r.connect(user="ann", join="lobby,news")
                ws.send('{"action":"hello"}')
                event = backend.wait_for(lambda e: e.get("requestContext", {}).get("eventType") == "MESSAGE")
                context = event["requestContext"]
                if on:
                    assert context["switchboard"] == {"groups": ["lobby", "news"], "user": "ann"}
                else:
                    assert "switchboard" not in context, "AWS's event, untouched"
                connect = backend.wait_event("CONNECT", cid)
                assert "switchboard" not in connect["requestContext"]
        finally:
            backend.close()


def test_a_bad_group_list_in_the_connect_answer_refuses_the_connection(room):
    with pytest.raises(Exception) as refused:
        room.connect(join="bad%20name")
    assert "502" in str(refused.value)


def test_paging_over_a_thousand_connections_returns_each_exactly_once(start_gateway):
    gw = start_gateway(plain_config())
    api = Signed(gw.endpoint("dev"))
    clients = []
    try:
        for _ in range(1000):
            clients.append(support.RawWebSocket(gw.ws_url))
        eventually(lambda: api.list("limit=1").json["count"] == 1000, what="1,000 connections listed")
        seen = every_page(api, "", limit=97)
        ids = [c["connectionId"] for c in seen]
        assert len(ids) == 1000 and len(set(ids)) == 1000
        assert ids == sorted(ids), "pages come in id order"
        for entry in seen[:3]:
            assert api.get(entry["connectionId"]).status == 200
            assert set(entry) >= {"connectionId", "connectedAt", "identity", "lastActiveAt", "groups", "user"}
        assert len(every_page(api, "", limit=1000)) == 1000
    finally:
        for c in clients:
            c.close()
