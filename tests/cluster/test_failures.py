"""What each failure does: a node killed, frozen, stopped on a signal or restarted, and the
NATS server itself going away (docs/cluster.md "What each failure does")."""

from __future__ import annotations

import signal
import time

import pytest

import support
from conftest import TIMINGS, eventually, metric, owner_tag, records_of, wait_ready

LEASE = TIMINGS["leaseMs"] / 1000


def post(node, cid: str, data: bytes = b"x", client=None) -> int:
    """The HTTP status of a post through `node` (or its `client`)."""
    client = client or node.client()
    try:
        client.post_to_connection(ConnectionId=cid, Data=data)
        return 200
    except client.exceptions.ClientError as e:
        return support.http_status(e)


def test_a_killed_node_s_ids_are_gone_and_each_connection_gets_one_disconnect(cluster):
    clients = [cluster.connect("a") for _ in range(3)]
    ids = [cid for _, cid in clients]
    tag = owner_tag(ids[0])
    assert records_of(cluster, tag) == 3
    cluster.nodes["a"].signal(signal.SIGKILL)
    cluster.nodes["a"].gw.proc.wait()
    started = time.monotonic()
    assert post(cluster.nodes["b"], ids[0]) == 410
    assert post(cluster.nodes["c"], ids[1]) == 410
    print(f"410 after kill -9: {time.monotonic() - started:.3f}s")
    for cid in ids:
        event = cluster.backend.wait_event("DISCONNECT", cid, timeout=LEASE + 10)
        assert event["requestContext"]["disconnectStatusCode"] == 1006
        assert "stopped renewing its lease" in event["requestContext"]["disconnectReason"]
    eventually(lambda: records_of(cluster, tag) == 0, "no records left")
    time.sleep(1)
    for cid in ids:
        assert len(cluster.disconnects(cid)) == 1, cid
    taken = sum(metric(cluster.nodes[n], "switchboard_cluster_takeover_disconnects_total") for n in "bc")
    assert taken == 3


def test_a_frozen_node_times_out_then_is_claimed_and_closes_without_a_second_disconnect(cluster):
    ws, cid = cluster.connect("a")
    a = cluster.nodes["a"]
    a.signal(signal.SIGSTOP)
    try:
        assert post(cluster.nodes["b"], cid) == 504
        event = cluster.backend.wait_event("DISCONNECT", cid, timeout=LEASE + 10)
        assert event["requestContext"]["disconnectStatusCode"] == 1006
        eventually(lambda: post(cluster.nodes["c"], cid) == 410, "410 once claimed")
    finally:
        a.signal(signal.SIGCONT)
    # Back, it learns it was claimed: its socket closes, and it stops.
    with pytest.raises(Exception):
        while True:
            ws.recv(timeout=support.WAIT)
    assert a.gw.proc.wait(support.WAIT) != 0
    time.sleep(1)
    assert len(cluster.disconnects(cid)) == 1


def test_a_node_stopped_by_sigterm_runs_its_own_disconnects_and_is_not_taken_over(cluster):
    ids = [cluster.connect("a")[1] for _ in range(2)]
    a = cluster.nodes["a"]
    a.signal(signal.SIGTERM)
    assert a.gw.proc.wait(support.WAIT) == 0
    for cid in ids:
        event = cluster.backend.wait_event("DISCONNECT", cid)
        assert event["requestContext"]["disconnectStatusCode"] == 1001
    assert records_of(cluster, owner_tag(ids[0])) == 0
    time.sleep(LEASE + 1)  # long enough for a takeover to have happened
    for cid in ids:
        assert len(cluster.disconnects(cid)) == 1
    assert sum(metric(cluster.nodes[n], "switchboard_cluster_takeover_disconnects_total") for n in "bc") == 0


def test_a_short_nats_outage_drops_nothing_and_loses_no_acknowledged_push(cluster):
    ws, cid = cluster.connect("a")
    b = cluster.nodes["b"]
    client = b.client()
    cluster.nats.kill()
    statuses = []
    outage_end = time.monotonic() + 1.0
    restarted = False
    n = 0
    while n < 1000:
        if not restarted and time.monotonic() >= outage_end:
            cluster.nats.restart()
            restarted = True
        statuses.append((n, post(b, cid, f"push {n}".encode(), client)))
        n += 1
        if not restarted:
            time.sleep(0.01)
    assert any(s == 503 for _, s in statuses), "cross-node pushes are 503 while NATS is down"
    assert statuses[-1][1] == 200, f"and 200 once it is back: {statuses}"
    assert {s for _, s in statuses} <= {200, 503}, statuses
    accepted = [f"push {n}" for n, s in statuses if s == 200]
    received = [ws.recv(timeout=support.WAIT) for _ in accepted]
    assert received == accepted, "every push that got 200 arrives, in order"
    # The connection itself was never dropped.
    assert cluster.disconnects(cid) == []
    assert post(cluster.nodes["a"], cid, b"still here") == 200
    assert ws.recv(timeout=support.WAIT) == "still here"


def test_a_long_nats_outage_fences_every_node_and_each_disconnect_runs_once_after(cluster):
    clients = [cluster.connect(n) for n in "abc"]
    cluster.nats.kill()
    for ws, _ in clients:
        with pytest.raises(Exception):
            while True:
                ws.recv(timeout=support.WAIT)
        assert ws.close_code == 1001
    assert all(cluster.disconnects(cid) == [] for _, cid in clients), "held while fenced"
    cluster.nats.restart()
    for _, cid in clients:
        event = cluster.backend.wait_event("DISCONNECT", cid, timeout=support.WAIT)
        assert event["requestContext"]["disconnectStatusCode"] == 1001
    for node in cluster.nodes.values():
        wait_ready(node.gw)
    time.sleep(LEASE + 1)
    for _, cid in clients:
        assert len(cluster.disconnects(cid)) == 1, cid


def test_ids_from_before_a_restart_are_gone_everywhere(cluster):
    _ws, cid = cluster.connect("a")
    a = cluster.nodes["a"]
    a.signal(signal.SIGTERM)
    assert a.gw.proc.wait(support.WAIT) == 0
    cluster.start_node("a")
    for name in "abc":
        assert post(cluster.nodes[name], cid) == 410, name


@pytest.fixture
def slow_disconnects(nats, tmp_path):
    """A cluster whose `$disconnect` handler takes two seconds, so a takeover is caught in
    the middle."""
    from conftest import Cluster
    import uuid

    def handler(event):
        if event.get("requestContext", {}).get("eventType") == "DISCONNECT":
            time.sleep(2)
        return {"statusCode": 200}

    backend = support.LambdaBackend(handler)
    c = Cluster(nats, backend, tmp_path, f"t{uuid.uuid4().hex[:8]}")
    for name in "abc":
        c.start_node(name)
    with c.stack:
        yield c
    for node in c.nodes.values():
        node.gw.proc.send_signal(signal.SIGCONT)
        node.gw.stop()
    backend.close()


def test_a_claimer_that_dies_mid_way_is_claimed_and_its_work_resumed(slow_disconnects):
    cluster = slow_disconnects
    ids = [cluster.connect("a")[1] for _ in range(8)]
    tag = owner_tag(ids[0])
    cluster.nodes["a"].signal(signal.SIGKILL)
    # The first $disconnect call names the claimer; kill it while its calls are in flight.
    first = cluster.backend.wait_for(
        lambda e: e.get("requestContext", {}).get("eventType") == "DISCONNECT",
        timeout=LEASE + 10,
    )
    claimer = first["requestContext"]["disconnectReason"].rsplit("; ", 1)[1].split()[0]
    assert claimer in "bc", first["requestContext"]["disconnectReason"]
    cluster.nodes[claimer].signal(signal.SIGKILL)
    survivor = next(n for n in "bc" if n != claimer)
    # The survivor claims the claimer, resumes its claim, and finishes it.
    eventually(lambda: records_of(cluster, tag) == 0, "every record of a deleted", timeout=3 * LEASE + 15)
    for cid in ids:
        events = cluster.disconnects(cid)
        assert events, f"{cid} got no $disconnect"
        assert all(e["requestContext"]["disconnectStatusCode"] == 1006 for e in events)
    assert metric(cluster.nodes[survivor], "switchboard_cluster_takeover_disconnects_total") >= len(ids)
