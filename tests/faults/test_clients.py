"""Clients that attack the WebSocket listener: ping floods, clients that stop reading, and
backends whose replies are too big. Memory is read from /proc; an ordinary client must still
be served meanwhile."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from websockets.sync.client import connect as ws_connect

import attack
import support
from attack import MB


def settle_rss(pid: int, seconds: float = 1.0) -> int:
    """The highest RSS seen over `seconds` (the gateway may still be catching up)."""
    peak, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        peak = max(peak, attack.rss(pid))
        time.sleep(0.05)
    return peak


def test_a_ping_flood_from_a_client_that_never_reads_does_not_grow_memory(start_gateway):
    gw = start_gateway(attack.config())
    attack.assert_serves_others(gw.ws_url)
    before = attack.rss(gw.proc.pid)
    raw = support.RawWebSocket(gw.ws_url, rcvbuf=4096)
    try:
        # 400,000 pings of 125 bytes (50 MB) with a zero mask: each asks for a 125-byte pong.
        ping = bytes([0x89, 0x80 | 125]) + b"\0\0\0\0" + b"p" * 125
        raw.sock.settimeout(60)
        raw.sock.sendall(ping * 400_000)
        attack.assert_serves_others(gw.ws_url)
        grown = settle_rss(gw.proc.pid) - before
        print(f"ping flood: RSS grew {grown / MB:.1f} MB")
        assert grown < 16 * MB, f"gateway memory grew {grown / MB:.1f} MB under a ping flood"
    finally:
        raw.sock.close()


def block_writes(client, cid: str) -> int:
    """Posts 100 KB messages to a client that does not read until its queue is full (429);
    returns how many were accepted."""
    accepted = 0
    for _ in range(5000):
        try:
            client.post_to_connection(ConnectionId=cid, Data=b"x" * 100_000)
            accepted += 1
        except client.exceptions.LimitExceededException:
            return accepted
    raise AssertionError("the queue of a client that does not read never filled")


@pytest.fixture
def stuck_client(start_gateway, backend, request):
    """(gateway, management client, connection id, raw socket) of a client whose writes are
    blocked because it stopped reading; stage limits from the test's `stage_limits` mark."""
    mark = request.node.get_closest_marker("stage_limits")
    gw = start_gateway(attack.config(backend.url, stage_limits=mark.args[0] if mark else ""))
    tag = uuid.uuid4().hex
    raw = support.RawWebSocket(f"{gw.ws_url}?tag={tag}", rcvbuf=4096)
    cid = backend.connection_id_for_tag(tag)
    client = support.mgmt_client(gw.endpoint("dev"))
    block_writes(client, cid)
    yield gw, client, cid, raw
    raw.sock.close()


def test_delete_closes_a_client_that_stopped_reading(stuck_client, backend):
    gw, client, cid, _raw = stuck_client
    client.delete_connection(ConnectionId=cid)
    # Closing: already gone for the management API, before the socket is torn down.
    with pytest.raises(client.exceptions.GoneException):
        client.get_connection(ConnectionId=cid)
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId=cid, Data=b"late")
    event = backend.wait_event("DISCONNECT", cid)
    assert event["requestContext"]["disconnectStatusCode"] == 1000
    attack.assert_serves_others(gw.ws_url)


@pytest.mark.stage_limits("idleTimeoutSeconds = 2")
def test_the_idle_timeout_closes_a_client_that_stopped_reading(stuck_client, backend):
    _gw, _client, cid, _raw = stuck_client
    event = backend.wait_event("DISCONNECT", cid)
    assert event["requestContext"]["disconnectStatusCode"] == 1001
    assert event["requestContext"]["disconnectReason"] == "Going away"


def test_a_reload_removing_its_stage_closes_a_client_that_stopped_reading(stuck_client, backend):
    gw, _client, cid, _raw = stuck_client
    config = gw.cwd / "switchboard.toml"
    config.write_text(config.read_text().replace("stages.dev", "stages.prod"))
    gw.proc.send_signal(signal.SIGHUP)
    event = backend.wait_event("DISCONNECT", cid)
    assert event["requestContext"]["disconnectStatusCode"] == 1001


class BigReplies:
    """An HTTP backend whose reply to a message `{"size": N}` is N bytes."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                import json

                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                size = json.loads(body or b"{}").get("size", 0) if body else 0
                self.send_response(200)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                chunk = b"b" * 65536
                while size > 0:
                    self.wfile.write(chunk[: min(size, len(chunk))])
                    size -= len(chunk)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def big_replies():
    b = BigReplies()
    yield b
    b.close()


def big_route(url: str) -> str:
    return f"""
[apis.chat.integrations.big]
integrationType = "HTTP_PROXY"
integrationUri = "{url}/big"
[apis.chat.routes.big]
target = "integrations/big"
routeResponseSelectionExpression = "$default"
"""


def test_a_reply_over_the_message_limit_becomes_an_error_frame(start_gateway, big_replies):
    gw = start_gateway(attack.config(routes=big_route(big_replies.url)))
    with ws_connect(gw.ws_url, open_timeout=support.WAIT, max_size=2 * MB) as ws:
        ws.send('{"action":"big","size":131072}')
        assert len(ws.recv(timeout=support.WAIT)) == 131072, "a reply at the limit is delivered"
        ws.send('{"action":"big","size":9000000}')
        frame = ws.recv(timeout=support.WAIT)
        assert frame.startswith('{"message": "Internal server error"'), frame[:200]
        ws.send('{"action":"hello"}')
        assert '"echo"' in ws.recv(timeout=support.WAIT), "the connection stays open"


def test_big_replies_for_a_client_that_never_reads_do_not_grow_memory(start_gateway, big_replies):
    gw = start_gateway(attack.config(routes=big_route(big_replies.url)))
    attack.assert_serves_others(gw.ws_url)
    before = attack.rss(gw.proc.pid)
    raw = support.RawWebSocket(gw.ws_url, rcvbuf=4096)
    try:
        message = attack.masked_frame(0x1, b'{"action":"big","size":2000000}')
        raw.sock.sendall(message * 200)
        attack.assert_serves_others(gw.ws_url)
        grown = settle_rss(gw.proc.pid, 3.0) - before
        print(f"big replies: RSS grew {grown / MB:.1f} MB")
        assert grown < 16 * MB, f"gateway memory grew {grown / MB:.1f} MB"
    finally:
        raw.sock.close()
