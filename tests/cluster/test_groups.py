"""Groups, broadcast, users and the registry across three nodes (docs/groups.md): a call on any
node reaches the members on every node, and the answer says whether every node answered."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

import support
from conftest import TIMINGS, Cluster, Node, eventually, wait_ready
from groups_support import Signed, config, every_page, handler, q


class GroupsCluster(Cluster):
    """Nodes with SigV4 management and a REQUEST authorizer (users), sharing one NATS."""

    stage_settings = "pushesDuringConnect = true"

    def start_node(self, name: str) -> Node:
        workdir = self.workdir / f"{name}-{len(self.nodes)}"
        workdir.mkdir()
        path = workdir / "switchboard.toml"
        extra = "\n".join(f"{k} = {v}" for k, v in TIMINGS.items())
        path.write_text(config(self.backend, stage_settings=self.stage_settings) + f"""
[cluster]
engine = "nats"
urls = ["{self.nats.url}"]
name = "{self.name}"
nodeName = "{name}"
{extra}
""")
        gw = support.Gateway(["--config", str(path)], workdir, self.backend.gateway_env())
        node = Node(name, gw, path)
        self.nodes[name] = node
        wait_ready(gw)
        return node

    def api(self, node: str) -> Signed:
        return Signed(self.nodes[node].endpoint)

    def join(self, node: str, user: str = "anon", join: str = ""):
        tag = uuid.uuid4().hex
        url = f"{self.nodes[node].gw.ws_url}?tag={tag}&user={user}" + (f"&join={join}" if join else "")
        ws = self.stack.enter_context(ws_connect(url, open_timeout=support.WAIT, close_timeout=2))
        return ws, self.backend.connection_id_for_tag(tag)


def greet_through_node_b(event: dict):
    """`$connect` with `?greet=1` pushes two messages through node b before it answers."""
    context = event.get("requestContext", {})
    query = event.get("queryStringParameters") or {}
    if event.get("type") != "REQUEST" and context.get("eventType") == "CONNECT" and query.get("greet"):
        api = Signed(GREETER["endpoint"])
        for n in range(2):
            GREETER["statuses"].append(api.call("POST", f"/@connections/{q(context['connectionId'])}", f"early {n}").status)
    return handler(event)


GREETER: dict = {"statuses": []}


@pytest.fixture
def groups_cluster(nats, tmp_path: Path):
    backend = support.LambdaBackend(greet_through_node_b)
    c = GroupsCluster(nats, backend, tmp_path, f"g{uuid.uuid4().hex[:8]}")
    for name in "abc":
        c.start_node(name)
    # Every node sees the other two before the test asks anything of them.
    for name in "abc":
        eventually(lambda: c.api(name).list("limit=1").json["nodesAsked"] == 3, f"{name} sees three nodes")
    GREETER["endpoint"], GREETER["statuses"] = c.nodes["b"].endpoint, []
    with c.stack:
        yield c
    for node in c.nodes.values():
        node.gw.proc.send_signal(signal.SIGCONT)
        node.gw.stop()
    backend.close()


def test_a_group_spread_over_three_nodes_is_one_group(groups_cluster):
    c = groups_cluster
    members = {name: c.join(name, join="room") for name in "abc"}
    _, late = c.join("a")
    # A join through node c for a connection of node a is forwarded to a.
    assert c.api("c").join(late, "room").status == 204
    group = c.api("b").group("room")
    assert group.json["count"] == 4 and group.json["complete"], group

    sender = members["a"][1]
    answer = c.api("b").broadcast("room", "to the room", exclude=[sender])
    assert answer.status == 200, answer
    assert answer.json == {"queued": 3, "skipped": 0, "nodesAsked": 3, "nodesAnswered": 3, "complete": True}
    for name in "bc":
        assert members[name][0].recv(timeout=support.WAIT) == "to the room"
    with pytest.raises(TimeoutError):
        members["a"][0].recv(timeout=0.3)

    assert c.api("a").stage_broadcast("everyone").json["queued"] == 4


def test_users_and_paging_across_nodes(groups_cluster):
    c = groups_cluster
    phone, phone_id = c.join("a", user="ann")
    laptop, laptop_id = c.join("c", user="ann")
    for n in range(21):
        c.join("abc"[n % 3])

    assert c.api("b").user("POST", "ann", "hi ann").json["queued"] == 2
    assert phone.recv(timeout=support.WAIT) == "hi ann" and laptop.recv(timeout=support.WAIT) == "hi ann"
    listed = c.api("b").user("GET", "ann").json
    assert sorted(x["connectionId"] for x in listed["connections"]) == sorted([phone_id, laptop_id])

    seen = every_page(c.api("c"), "", limit=5)
    ids = [x["connectionId"] for x in seen]
    assert len(ids) == 23 and len(set(ids)) == 23, "every connection of every node, each once"

    out = c.api("b").user("DELETE", "ann").json
    assert out["disconnected"] == 2 and out["complete"]
    for ws in (phone, laptop):
        with pytest.raises(ConnectionClosed):
            while True:
                ws.recv(timeout=support.WAIT)


def test_a_silent_node_makes_the_answer_incomplete_not_slow_forever(groups_cluster):
    c = groups_cluster
    here, _ = c.join("a", join="room")
    c.join("c", join="room")
    c.nodes["c"].signal(signal.SIGSTOP)
    try:
        answer = c.api("a").broadcast("room", "while c sleeps")
        assert answer.status == 200
        assert answer.json["nodesAsked"] == 3 and answer.json["nodesAnswered"] == 2
        assert answer.json["complete"] is False
        assert answer.json["queued"] == 1
        assert here.recv(timeout=support.WAIT) == "while c sleeps"
    finally:
        c.nodes["c"].signal(signal.SIGCONT)


def test_pushes_during_connect_made_through_another_node_arrive_after_the_101(groups_cluster):
    c = groups_cluster
    tag = uuid.uuid4().hex
    with ws_connect(f"{c.nodes['a'].gw.ws_url}?tag={tag}&user=u&greet=1", open_timeout=support.WAIT) as ws:
        assert GREETER["statuses"] == [200, 200], "forwarded to node a while its $connect ran"
        assert [ws.recv(timeout=support.WAIT) for _ in range(2)] == ["early 0", "early 1"]
