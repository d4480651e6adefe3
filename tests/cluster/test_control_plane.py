"""The control plane in cluster mode (docs/control-plane.md, "Cluster"): three nodes share
their APIs through JetStream key-value; a change made on any node is served by all of them, in
order, without dropping anyone. Also measures how long a deployment takes to reach every node
(SWITCHBOARD_PROPAGATION_RUNS deployments; the note reports 100)."""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from websockets.sync.client import connect as ws_connect

import support
from conftest import TIMINGS, eventually, ready_status, wait_ready

KEY, SECRET = "AKIDCLUSTERCONTROL", "cluster-control-secret"


def node_config(backend, nats_url: str, name: str, cluster: str, data: Path) -> str:
    timings = "\n".join(f"{k} = {v}" for k, v in TIMINGS.items())
    return f"""
[server]
listen = "127.0.0.1:0"
[management]
listen = "127.0.0.1:0"
[aws.endpoints]
lambda = "{backend.url}"
[controlPlane]
enabled = true
dataDir = "{data}"
rateLimit = {{ rate = 1000.0, burst = 1000 }}
[[controlPlane.credentials]]
accessKeyId = "{KEY}"
secretAccessKey = "{SECRET}"
[cluster]
engine = "nats"
urls = ["{nats_url}"]
name = "{cluster}"
nodeName = "{name}"
{timings}
"""


def v2(gw):
    return boto3.session.Session().client(
        "apigatewayv2", endpoint_url=gw.mgmt_url, region_name="us-east-1",
        aws_access_key_id=KEY, aws_secret_access_key=SECRET,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture
def nodes(nats, backend, tmp_path):  # noqa: F811 (the nats fixture of conftest.py)
    name = f"t{uuid.uuid4().hex[:8]}"
    started = {}
    for node in "abc":
        work = tmp_path / node
        work.mkdir()
        config = work / "switchboard.toml"
        config.write_text(node_config(backend, nats.url, node, name, work / "data"))
        gw = support.Gateway(["--config", str(config)], work, backend.gateway_env())
        started[node] = gw
    for gw in started.values():
        wait_ready(gw)
    yield started
    for gw in started.values():
        assert gw.stop() == 0, gw.stderr()


def restart(nodes, name, backend):
    """Stops node `name` and starts it again on the same configuration and data directory."""
    old = nodes[name]
    assert old.stop() == 0, old.stderr()
    gw = support.Gateway(["--config", str(old.cwd / "switchboard.toml")], old.cwd, backend.gateway_env())
    wait_ready(gw)
    nodes[name] = gw
    return gw


def make_api(client, reply: str):
    """A MOCK API with route `mock` answering `reply`, a stage `dev` and its first deployment;
    returns (apiId, integrationId, integrationResponseId)."""
    api_id = client.create_api(Name="shared", ProtocolType="WEBSOCKET",
                               RouteSelectionExpression="$request.body.action")["ApiId"]
    mock = client.create_integration(ApiId=api_id, IntegrationType="MOCK",
                                     RequestTemplates={"$default": '{"statusCode": 200}'},
                                     TemplateSelectionExpression="\\$default")["IntegrationId"]
    response = client.create_integration_response(
        ApiId=api_id, IntegrationId=mock, IntegrationResponseKey="$default",
        ResponseTemplates={"$default": reply}, TemplateSelectionExpression="\\$default",
    )["IntegrationResponseId"]
    client.create_route(ApiId=api_id, RouteKey="mock", Target=f"integrations/{mock}",
                        RouteResponseSelectionExpression="$default")
    client.create_stage(ApiId=api_id, StageName="dev")
    client.create_deployment(ApiId=api_id, StageName="dev")
    return api_id, mock, response


def ask(ws) -> dict:
    ws.send(json.dumps({"action": "mock"}))
    return json.loads(ws.recv(timeout=support.WAIT))


def test_a_change_made_on_any_node_is_served_by_every_node(nodes):
    a, b, c = (v2(nodes[n]) for n in "abc")
    api_id, mock, response = make_api(b, '{"v": 1}')
    # Made on B, served by A and C: their own endpoints answer.
    sockets = {}
    for name, client in (("a", a), ("c", c), ("b", b)):
        endpoint = eventually(lambda: _endpoint(client, api_id), f"{name} knows the API")
        assert endpoint.startswith("ws://127.0.0.1:")
        ws = eventually(lambda: _try_connect(f"{endpoint}/dev"), f"{name} serves the stage")
        sockets[name] = ws
        assert ask(ws) == {"v": 1}
    # Changed and redeployed on C: every node serves it to the clients already connected.
    c.update_integration_response(ApiId=api_id, IntegrationId=mock, IntegrationResponseId=response,
                                  ResponseTemplates={"$default": '{"v": 2}'})
    c.create_deployment(ApiId=api_id, StageName="dev")
    for name, ws in sockets.items():
        eventually(lambda: ask(ws) == {"v": 2}, f"{name} serves the new deployment")
    # Deleted on A: gone everywhere, connections closed with 1001.
    a.delete_api(ApiId=api_id)
    for name, client in (("b", b), ("c", c)):
        eventually(lambda: _missing(client, api_id), f"{name} forgot the API")
    for ws in sockets.values():
        ws.close()


def test_a_restarted_node_serves_what_changed_while_it_was_away(nodes, backend):
    a, b = v2(nodes["a"]), v2(nodes["b"])
    kept, _, _ = make_api(a, '{"kept": 1}')
    gone, _, _ = make_api(a, '{"gone": 1}')
    eventually(lambda: _endpoint(b, gone), "b knows both APIs")
    nodes["a"].stop()
    b.delete_api(ApiId=gone)
    made, _, _ = make_api(b, '{"made": 1}')
    a = v2(restart(nodes, "a", backend))
    assert {x["ApiId"] for x in a.get_apis()["Items"]} == {kept, made}
    with _try_connect(f"{a.get_api(ApiId=made)['ApiEndpoint']}/dev") as ws:
        assert ask(ws) == {"made": 1}


def test_concurrent_changes_on_three_nodes_are_all_kept(nodes):
    a, b, c = (v2(nodes[n]) for n in "abc")
    api_id, mock, _ = make_api(a, '{"v": 1}')
    eventually(lambda: _endpoint(b, api_id) and _endpoint(c, api_id), "b and c know the API")
    errors = []

    def add(client, prefix):
        try:
            for n in range(10):
                client.create_route(ApiId=api_id, RouteKey=f"{prefix}{n}", Target=f"integrations/{mock}")
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=add, args=(client, prefix)) for client, prefix in ((a, "a"), (b, "b"), (c, "c"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    want = {"mock"} | {f"{p}{n}" for p in "abc" for n in range(10)}
    for client in (a, b, c):
        eventually(lambda: {r["RouteKey"] for r in client.get_routes(ApiId=api_id)["Items"]} == want,
                   "every node has every route")


def test_deployment_reaches_every_node_and_no_connection_drops(nodes, capsys):
    runs = int(os.environ.get("SWITCHBOARD_PROPAGATION_RUNS", "10"))
    a = v2(nodes["a"])
    api_id, mock, response = make_api(a, '{"v": 0}')
    sockets = []
    for name in "abc":
        client = v2(nodes[name])
        endpoint = eventually(lambda: _endpoint(client, api_id), f"{name} knows the API")
        ws = eventually(lambda: _try_connect(f"{endpoint}/dev"), f"{name} serves the stage")
        eventually(lambda: ask(ws) == {"v": 0}, f"{name} serves v0")
        sockets.append(ws)
    writers = [a, v2(nodes["b"]), v2(nodes["c"])]
    delays = []
    for run in range(1, runs + 1):
        writer = writers[run % 3]
        writer.update_integration_response(ApiId=api_id, IntegrationId=mock, IntegrationResponseId=response,
                                           ResponseTemplates={"$default": json.dumps({"v": run})})
        writer.create_deployment(ApiId=api_id, StageName="dev")
        returned = time.monotonic()
        for ws in sockets:
            # Polled back to back (a round trip each), so the delay is measured to about 1 ms.
            deadline = returned + support.WAIT
            while ask(ws) != {"v": run}:
                assert time.monotonic() < deadline, f"deployment {run} not served within {support.WAIT}s"
        delays.append(time.monotonic() - returned)
    # Every client is still on its first connection.
    for ws in sockets:
        assert ask(ws) == {"v": runs}
    delays.sort()
    p50 = statistics.median(delays) * 1000
    p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))] * 1000
    with capsys.disabled():
        print(f"\ncontrol plane propagation over {runs} deployments on 3 nodes: "
              f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {delays[-1] * 1000:.1f} ms; "
              f"{len(sockets)} clients kept their connections")
    for ws in sockets:
        ws.close()


def _endpoint(client, api_id):
    try:
        return client.get_api(ApiId=api_id)["ApiEndpoint"]
    except client.exceptions.NotFoundException:
        return None


def _missing(client, api_id) -> bool:
    return _endpoint(client, api_id) is None


def _try_connect(url):
    try:
        ws = ws_connect(url, open_timeout=5, close_timeout=2)
    except Exception:
        return None
    return ws.__enter__()


def test_an_api_too_large_to_share_is_a_bad_request_and_nothing_changes(nodes):
    a = v2(nodes["a"])
    api_id, _, _ = make_api(a, '{"v": 1}')
    template = "x" * 200_000
    with pytest.raises(a.exceptions.BadRequestException) as refused:
        for n in range(8):
            a.create_integration(ApiId=api_id, IntegrationType="MOCK",
                                 RequestTemplates={"$default": template}, Description=str(n))
    assert "too large" in str(refused.value), refused.value
    made = len(a.get_integrations(ApiId=api_id)["Items"])
    b = v2(nodes["b"])
    eventually(lambda: len(b.get_integrations(ApiId=api_id)["Items"]) == made,
               "b holds what a holds: the refused change is nowhere")


def test_nats_down_answers_503_and_changes_nothing(nodes, nats):
    a = v2(nodes["a"])
    api_id, mock, _ = make_api(a, '{"v": 1}')
    nats.kill()
    # Once the node knows its link is down (its /ready says so), nothing is sent.
    eventually(lambda: ready_status(nodes["a"]) != 200, "a notices NATS is gone")
    with pytest.raises(ClientError) as refused:
        a.create_route(ApiId=api_id, RouteKey="lost", Target=f"integrations/{mock}")
    assert support.http_status(refused.value) == 503, refused.value
    assert support.error_code(refused.value) == "ServiceUnavailableException"
    nats.restart()
    routes = eventually(lambda: _route_keys(a, api_id), "the API answers again")
    assert "lost" not in routes
    eventually(lambda: _try_create(a, api_id, mock, "kept"), "changes work again once NATS is back")
    eventually(lambda: "kept" in (_route_keys(v2(nodes["b"]), api_id) or set()), "b has the change")


def _route_keys(client, api_id):
    try:
        return {r["RouteKey"] for r in client.get_routes(ApiId=api_id)["Items"]}
    except ClientError:
        return None


def _try_create(client, api_id, mock, key) -> bool:
    try:
        client.create_route(ApiId=api_id, RouteKey=key, Target=f"integrations/{mock}")
        return True
    except client.exceptions.ConflictException:
        return True
    except ClientError:
        return False
