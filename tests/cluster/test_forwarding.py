"""An `@connections` call reaching any node acts on the connection where it lives (issue: one
management endpoint behaviour across N nodes), with exact AWS status codes and bodies."""

from __future__ import annotations

import time

import pytest

import support
from conftest import eventually, metric


def test_posts_through_every_node_arrive_in_order_and_get_and_delete_work_anywhere(cluster):
    ws, cid = cluster.connect("a")
    a, b, c = (cluster.nodes[n].client() for n in "abc")
    for i, client in enumerate((a, b, c)):
        client.post_to_connection(ConnectionId=cid, Data=f"text {i}".encode())
    binary = bytes([0, 159, 146, 150])
    b.post_to_connection(ConnectionId=cid, Data=binary)
    assert [ws.recv(timeout=support.WAIT) for _ in range(4)] == ["text 0", "text 1", "text 2", binary]

    via_a = a.get_connection(ConnectionId=cid)
    via_b = b.get_connection(ConnectionId=cid)
    for key in ("ConnectedAt", "Identity", "LastActiveAt"):
        assert via_a[key] == via_b[key], key

    c.delete_connection(ConnectionId=cid)
    with pytest.raises(Exception):
        ws.recv(timeout=support.WAIT)
    assert ws.close_code == 1000
    event = cluster.backend.wait_event("DISCONNECT", cid)
    assert event["requestContext"]["disconnectStatusCode"] == 1000
    time.sleep(0.5)  # a second $disconnect would have had time to arrive
    assert len(cluster.disconnects(cid)) == 1
    assert metric(cluster.nodes["c"], 'switchboard_cluster_forwarded_total{operation="DeleteConnection",result="closing"}') == 1


def test_gone_forbidden_too_large_and_full_are_answered_as_on_one_node(cluster):
    _ws, cid = cluster.connect("a")
    b = cluster.nodes["b"]
    client = b.client()
    # Another stage of the same API: the owner answers 410 in one hop.
    prod = support.mgmt_client(b.gw.endpoint("prod"))
    with pytest.raises(prod.exceptions.GoneException) as e:
        prod.post_to_connection(ConnectionId=cid, Data=b"x")
    assert support.http_status(e.value) == 410
    with pytest.raises(client.exceptions.GoneException):
        client.get_connection(ConnectionId="AAAAAAAAAAAAAAA=")
    # Too large: refused by the node that received it, never forwarded.
    before = metric(b, 'switchboard_cluster_forwarded_total{operation="PostToConnection",result="queued"}')
    with pytest.raises(client.exceptions.PayloadTooLargeException):
        client.post_to_connection(ConnectionId=cid, Data=b"x" * 131_073)
    assert metric(b, 'switchboard_cluster_forwarded_total{operation="PostToConnection",result="queued"}') == before


def test_a_full_queue_is_429_through_every_node(cluster):
    import uuid

    tag = uuid.uuid4().hex
    raw = support.RawWebSocket(f"{cluster.nodes['a'].gw.ws_url}?tag={tag}", rcvbuf=4096)
    try:
        cid = cluster.backend.connection_id_for_tag(tag)
        a = cluster.nodes["a"].client()
        for _ in range(5000):
            try:
                a.post_to_connection(ConnectionId=cid, Data=b"x" * 100_000)
            except a.exceptions.LimitExceededException:
                break
        else:
            raise AssertionError("the queue never filled")
        for name in "bc":
            client = cluster.nodes[name].client()
            with pytest.raises(client.exceptions.LimitExceededException) as e:
                client.post_to_connection(ConnectionId=cid, Data=b"y" * 100_000)
            assert support.http_status(e.value) == 429
    finally:
        raw.close()


def test_a_node_is_ready_only_once_it_reaches_itself_through_nats(cluster):
    from conftest import ready_status

    for node in cluster.nodes.values():
        assert ready_status(node.gw) == 200
    eventually(lambda: metric(cluster.nodes["a"], "switchboard_cluster_nodes_live") == 3, "3 live")
    eventually(lambda: metric(cluster.nodes["b"], "switchboard_cluster_link_up") == 1, "link up")
