"""Backends that fail: refused, hanging, answering garbage, slow. A client whose backend fails
gets the `Internal server error` frame and keeps its connection; everyone else is served, and
memory stays bounded while calls hang."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from websockets.sync.client import connect as ws_connect

import attack
import support
from attack import MB

INTERNAL = '{"message": "Internal server error"'


class Backend:
    """A TCP server with one behaviour: `hang` (reads, never answers), `garbage` (answers
    bytes that are not HTTP), `slow` (a valid reply after `delay` seconds)."""

    def __init__(self, behaviour: str, delay: float = 2.0):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.behaviour, self.delay = behaviour, delay
        self.held: list[socket.socket] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket):
        try:
            conn.recv(65536)
            if self.behaviour == "hang":
                self.held.append(conn)
                return
            if self.behaviour == "garbage":
                conn.sendall(b"\x00\xffthis is not HTTP\r\n\r\n" * 100)
            elif self.behaviour == "slow":
                time.sleep(self.delay)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow")
            conn.close()
        except OSError:
            pass

    def close(self):
        self.closed = True
        self.sock.close()
        for c in self.held:
            c.close()


def route(url: str, timeout_ms: int = 29000) -> str:
    return f"""
[apis.chat.integrations.backend]
integrationType = "HTTP_PROXY"
integrationUri = "{url}/call"
timeoutInMillis = {timeout_ms}
[apis.chat.routes.call]
target = "integrations/backend"
routeResponseSelectionExpression = "$default"
"""


def ask(ws, timeout: float = support.WAIT) -> str:
    ws.send('{"action":"call"}')
    return ws.recv(timeout=timeout)


def test_a_refused_backend_is_an_error_frame_and_the_connection_stays(start_gateway):
    port = support.reserve_port()  # nothing listens there
    gw = start_gateway(attack.config(routes=route(f"http://127.0.0.1:{port}")))
    with ws_connect(gw.ws_url, open_timeout=support.WAIT) as ws:
        for _ in range(3):
            assert ask(ws).startswith(INTERNAL)
        ws.send('{"action":"hello"}')
        assert '"echo"' in ws.recv(timeout=support.WAIT)
    attack.assert_serves_others(gw.ws_url)


def test_a_backend_answering_garbage_is_an_error_frame(start_gateway):
    backend = Backend("garbage")
    try:
        gw = start_gateway(attack.config(routes=route(backend.url)))
        with ws_connect(gw.ws_url, open_timeout=support.WAIT) as ws:
            assert ask(ws).startswith(INTERNAL)
        attack.assert_serves_others(gw.ws_url)
    finally:
        backend.close()


def test_hanging_calls_time_out_bounded_and_others_are_served(start_gateway):
    backend = Backend("hang")
    try:
        gw = start_gateway(attack.config(routes=route(backend.url, timeout_ms=3000)))
        before = attack.rss(gw.proc.pid)
        with contextlib.ExitStack() as stack:
            clients = [stack.enter_context(ws_connect(gw.ws_url, open_timeout=support.WAIT)) for _ in range(20)]
            # 20 clients × 16 calls in flight each (maxInflightPerConnection): 320 hanging calls.
            for ws in clients:
                for _ in range(16):
                    ws.send('{"action":"call"}')
            attack.assert_serves_others(gw.ws_url)
            grown = attack.rss(gw.proc.pid) - before
            assert grown < 32 * MB, f"gateway memory grew {grown / MB:.1f} MB"
            # Every call ends with its timeout, as an error frame.
            for ws in clients[:3]:
                assert ws.recv(timeout=support.WAIT).startswith(INTERNAL)
    finally:
        backend.close()


def test_a_slow_backend_delays_only_its_own_callers(start_gateway):
    backend = Backend("slow", delay=2.0)
    try:
        gw = start_gateway(attack.config(routes=route(backend.url)))
        with contextlib.ExitStack() as stack:
            slow = [stack.enter_context(ws_connect(gw.ws_url, open_timeout=support.WAIT)) for _ in range(10)]
            for ws in slow:
                ws.send('{"action":"call"}')
            attack.assert_serves_others(gw.ws_url)
            for ws in slow:
                assert ws.recv(timeout=support.WAIT) == "slow"
    finally:
        backend.close()
