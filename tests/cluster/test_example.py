"""examples/cluster/run.sh: three nodes and a NATS server; a push through node 3 reaches a
client of node 1, and Ctrl-C (SIGTERM to the script) stops everything."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from pathlib import Path
from urllib.parse import quote

from websockets.sync.client import connect as ws_connect

import support
from conftest import eventually
from natsserver import free_port, nats_server_bin

REPO = Path(__file__).resolve().parents[2]


def test_the_cluster_example_forwards_a_push_between_nodes():
    # The three ports above a fresh free port are almost always free too.
    ws_base, mgmt_base = free_port(), free_port()
    env = {
        **os.environ,
        "SWITCHBOARD_BIN": str(support.switchboard_bin()),
        "NATS_SERVER": nats_server_bin(),
        "NATS_PORT": str(free_port()),
        "WS_BASE": str(ws_base),
        "MGMT_BASE": str(mgmt_base),
    }
    proc = subprocess.Popen(
        ["bash", str(REPO / "examples/cluster/run.sh")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        def ready(n: int) -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{mgmt_base + n}/ready", timeout=1) as r:
                    return r.status == 200
            except OSError:
                return False

        try:
            eventually(lambda: all(ready(n) for n in (1, 2, 3)), "three ready nodes", timeout=60)
        except AssertionError:
            os.killpg(proc.pid, signal.SIGTERM)
            raise AssertionError(proc.communicate(timeout=60)[0]) from None
        with ws_connect(f"ws://127.0.0.1:{ws_base + 1}/dev", open_timeout=support.WAIT) as ws:
            ws.send("hi")
            cid = json.loads(ws.recv(timeout=support.WAIT))["connectionId"]
            request = urllib.request.Request(
                f"http://127.0.0.1:{mgmt_base + 3}/dev/@connections/{quote(cid, safe='')}",
                data=b"hello from node 3",
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=support.WAIT) as r:
                assert r.status == 200
            assert ws.recv(timeout=support.WAIT) == "hello from node 3"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    output, _ = proc.communicate(timeout=60)
    assert "stopped" in output, output
