"""Attacks on the listener itself: handshakes that never finish, and reload storms with files
caught half-written."""

from __future__ import annotations

import signal
import socket
import time

from websockets.sync.client import connect as ws_connect

import attack
import support


def test_slow_handshakes_lose_their_place_after_the_handshake_timeout(start_gateway):
    gw = start_gateway(attack.config(server_limits="maxConnections = 50\nhandshakeTimeoutSeconds = 1"))
    host, port = gw.ws_url.split("//", 1)[1].split("/", 1)[0].split(":")
    stalled = []
    try:
        for _ in range(50):
            s = socket.create_connection((host, int(port)), timeout=support.WAIT)
            s.sendall(b"GET /dev HTTP/1.1\r\nHost: x\r\nUpgrade: websock")  # never finished
            stalled.append(s)
        over = socket.create_connection((host, int(port)), timeout=support.WAIT)
        over.sendall(b"GET /dev HTTP/1.1\r\n\r\n")
        assert attack.read_status(over) == 503, "the cap holds"
        over.close()
        # After handshakeTimeoutSeconds the stalled ones are dropped and their places free.
        deadline = time.monotonic() + support.WAIT
        while True:
            try:
                attack.assert_serves_others(gw.ws_url)
                break
            except Exception:
                assert time.monotonic() < deadline, "stalled handshakes kept their places"
                time.sleep(0.1)
    finally:
        for s in stalled:
            s.close()


def test_a_sighup_storm_with_half_written_files_keeps_serving_and_applies_the_last_good_file(start_gateway):
    gw = start_gateway(attack.config())
    path = gw.cwd / "switchboard.toml"
    good = path.read_text()
    changed = good.replace('{"echo": $input.json("$")}', '{"echo2": $input.json("$")}')
    with ws_connect(gw.ws_url, open_timeout=support.WAIT) as ws:
        for i in range(40):
            # Half a file (as an editor or a deploy tool may leave it for a moment), then a
            # signal before it is complete.
            text = changed if i % 2 else good
            path.write_text(text[: len(text) // 2])
            gw.proc.send_signal(signal.SIGHUP)
            path.write_text(text)
            gw.proc.send_signal(signal.SIGHUP)
        path.write_text(changed)
        gw.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + support.WAIT
        while True:
            ws.send('{"action":"hello"}')
            reply = ws.recv(timeout=support.WAIT)
            if '"echo2"' in reply:
                break
            assert time.monotonic() < deadline, f"the last good file was not applied: {reply}"
            time.sleep(0.05)
        # The same connection all along.
    assert "reload refused" in gw.stderr(), "half-written files were refused"
    attack.assert_serves_others(gw.ws_url)
