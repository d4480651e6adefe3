"""Fixtures of the cluster suite: a real nats-server per test and switchboard processes that
share one cluster name, with short lease timings; `$connect`/`$disconnect`/`$default` go to a
Lambda stand-in that records every event (tests/compat/lambda_backend.py)."""

from __future__ import annotations

import contextlib
import signal
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from websockets.sync.client import connect as ws_connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compat"))

import support  # noqa: E402
from natsserver import NatsServer  # noqa: E402

# Short, but in the documented proportions: fence < lease - 2 heartbeats.
TIMINGS = {"heartbeatMs": 200, "fenceMs": 3000, "leaseMs": 4500, "requestTimeoutMs": 500}


def cluster_config(backend, nats_url: str, node: str, name: str) -> str:
    extra = "\n".join(f"{k} = {v}" for k, v in TIMINGS.items())
    return support.api_config(backend) + f"""
[apis.compat.stages.prod]
[cluster]
engine = "nats"
urls = ["{nats_url}"]
name = "{name}"
nodeName = "{node}"
{extra}
"""


@dataclass
class Node:
    name: str
    gw: support.Gateway
    config: Path

    @property
    def endpoint(self) -> str:
        return self.gw.endpoint("dev")

    def client(self, **kw):
        return support.mgmt_client(self.endpoint, **kw)

    def signal(self, sig) -> None:
        self.gw.proc.send_signal(sig)


@dataclass
class Cluster:
    nats: NatsServer
    backend: support.LambdaBackend
    workdir: Path
    name: str
    nodes: dict[str, Node] = field(default_factory=dict)
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def start_node(self, name: str) -> Node:
        workdir = self.workdir / f"{name}-{len(self.nodes)}"
        workdir.mkdir()
        config = workdir / "switchboard.toml"
        config.write_text(cluster_config(self.backend, self.nats.url, name, self.name))
        gw = support.Gateway(["--config", str(config)], workdir, self.backend.gateway_env())
        node = Node(name, gw, config)
        self.nodes[name] = node
        wait_ready(gw)
        return node

    def connect(self, node: str, **kw):
        """(websocket, connectionId) of a new client of `node`."""
        tag = uuid.uuid4().hex
        ws = self.stack.enter_context(
            ws_connect(
                f"{self.nodes[node].gw.ws_url}?tag={tag}",
                open_timeout=support.WAIT,
                close_timeout=2,
                **kw,
            )
        )
        return ws, self.backend.connection_id_for_tag(tag)

    def disconnects(self, connection_id: str) -> list[dict]:
        return [
            e for e in self.backend.events
            if e.get("requestContext", {}).get("eventType") == "DISCONNECT"
            and e["requestContext"].get("connectionId") == connection_id
        ]


def ready_status(gw: support.Gateway) -> int:
    try:
        with urllib.request.urlopen(f"{gw.mgmt_url}/ready", timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


def wait_ready(gw: support.Gateway, timeout: float = support.WAIT) -> None:
    """Until `/ready` answers 200: the node reaches itself through NATS."""
    deadline = time.monotonic() + timeout
    while ready_status(gw) != 200:
        assert gw.proc.poll() is None, f"node exited:\n{gw.stderr()}"
        assert time.monotonic() < deadline, f"node not ready:\n{gw.stderr()}"
        time.sleep(0.05)


@pytest.fixture
def nats(tmp_path: Path):
    server = NatsServer(tmp_path)
    yield server
    server.close()


@pytest.fixture
def backend():
    b = support.LambdaBackend()
    yield b
    b.close()


@pytest.fixture
def cluster(nats, backend, tmp_path: Path):
    """Three nodes, a, b and c."""
    c = Cluster(nats, backend, tmp_path, f"t{uuid.uuid4().hex[:8]}")
    for name in "abc":
        c.start_node(name)
    with c.stack:
        yield c
    for node in c.nodes.values():
        node.gw.proc.send_signal(signal.SIGCONT)
        node.gw.stop()


def eventually(check, what: str, timeout: float = support.WAIT):
    """The first truthy value of `check()`, polling until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)


def metric(node: Node, series: str) -> float:
    """A sample of `node`'s /metrics (0 when absent)."""
    with urllib.request.urlopen(f"{node.gw.mgmt_url}/metrics", timeout=5) as r:
        text = r.read().decode()
    for line in text.splitlines():
        if line.startswith(series + " ") :
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def owner_tag(connection_id: str) -> str:
    """The incarnation tag a connection id carries (its last 4 of 11 bytes), as hex."""
    import base64

    return base64.urlsafe_b64decode(connection_id)[7:11].hex()


def records_of(cluster: Cluster, tag: str) -> int:
    """How many connection records of node `tag` the cluster's bucket holds (read with
    nats-py, a client nobody here wrote)."""
    import asyncio

    import nats

    async def count() -> int:
        nc = await nats.connect(cluster.nats.url)
        try:
            js = nc.jetstream()
            bucket = f"sb_{cluster.name}_conns"
            info = await js.stream_info(f"KV_{bucket}", subjects_filter=f"$KV.{bucket}.{tag}.>")
            return sum((info.state.subjects or {}).values())
        finally:
            await nc.close()

    return asyncio.run(count())
