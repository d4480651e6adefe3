"""The built-in demo: `switchboard serve` with no configuration file, driven by the Python
`websockets` client (an implementation independent of the gateway's)."""

from __future__ import annotations

import re

import pytest
from websockets.protocol import State
from websockets.sync.client import connect

import support



@pytest.fixture
def demo(start_gateway, tmp_path):
    """The demo exactly as a user runs it: no configuration file, in an empty directory."""
    empty = tmp_path / "empty"
    empty.mkdir()
    gw = start_gateway(None, "--listen", "127.0.0.1:0", "--management-listen", "127.0.0.1:0", cwd=empty)
    gw.wait_for_line("serving the built-in demo")
    assert gw.wait_for_line("wscat -c ").split()[2] == gw.ws_url
    assert re.fullmatch(r"ws://127\.0\.0\.1:\d+/dev", gw.ws_url), gw.lines
    return gw


def test_demo_echoes_hello(demo):
    with connect(demo.ws_url, open_timeout=support.WAIT) as ws:
        ws.send("hello")
        reply = ws.recv(timeout=support.WAIT)
    assert reply == "hello"


def test_demo_client_close_4000_is_clean(demo):
    with connect(demo.ws_url, open_timeout=support.WAIT, close_timeout=support.WAIT) as ws:
        ws.close(code=4000, reason="bye")
    # A clean close: the gateway answered our close frame (echoing the code) and the
    # handshake completed before close_timeout.
    assert ws.protocol.state is State.CLOSED
    assert ws.protocol.close_sent is not None and ws.protocol.close_sent.code == 4000
    assert ws.protocol.close_rcvd is not None, "gateway never answered the close frame"
    assert ws.protocol.close_rcvd.code == 4000
    assert ws.protocol.close_rcvd_then_sent is False


def test_upgrade_response_connection_header_is_exactly_upgrade(demo):
    """Strict RFC 6455 clients (tungstenite, i.e. most Rust clients, and the project's own
    testkit) compare the whole `Connection` value of the 101 and refuse `Upgrade, close`."""
    raw = support.RawWebSocket(demo.ws_url)
    try:
        connection = [v.strip() for k, v in raw.response_headers if k.strip().lower() == "connection"]
        assert connection == ["Upgrade"], f"101 Connection header: {connection}"
    finally:
        raw.close()
