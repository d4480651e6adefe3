"""examples/rooms: the stateless backend (backend.py) and the gateway (a copy of its
switchboard.toml on free ports), driven by `websockets` clients in two rooms."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import threading

import pytest
from websockets.sync.client import connect

import support

ROOMS = support.REPO / "examples" / "rooms"


@pytest.fixture
def rooms(start_gateway):
    backend_port = support.reserve_port()
    text = (ROOMS / "switchboard.toml").read_text()
    text = re.sub(r'listen = "127\.0\.0\.1:\d+"', 'listen = "127.0.0.1:0"', text)
    text, n = re.subn(r"http://127\.0\.0\.1:3000", f"http://127.0.0.1:{backend_port}", text)
    assert n == 1, "the example config should send its routes to the backend"
    gw = start_gateway(text)
    env = {**os.environ, "ROOMS_BACKEND_PORT": str(backend_port),
           "SWITCHBOARD_ENDPOINT": gw.endpoint("dev"), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, str(ROOMS / "backend.py")], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ready = threading.Event()
    output: list[str] = []

    def read():
        for line in proc.stdout:
            output.append(line.rstrip())
            if line.startswith("rooms backend on "):
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    assert ready.wait(support.WAIT) and proc.poll() is None, f"backend did not start: {output}"
    yield gw
    proc.terminate()
    proc.wait(support.WAIT)
    assert not any("failed" in line for line in output), output


def say(ws, **message) -> None:
    ws.send(json.dumps(message))


def hear(ws) -> dict:
    return json.loads(ws.recv(timeout=support.WAIT))


def test_rooms_without_a_database(rooms):
    with contextlib.ExitStack() as stack:
        open_ = lambda room: stack.enter_context(connect(f"{rooms.ws_url}?room={room}", open_timeout=support.WAIT))
        alice, bob, carol = open_("lobby"), open_("lobby"), open_("games")

        say(alice, action="sendmessage", room="lobby", data="hi lobby")
        got = hear(bob)
        assert (got["room"], got["data"]) == ("lobby", "hi lobby")
        say(alice, action="who", room="lobby")
        assert hear(alice)["count"] == 2, "the sender got no copy of its own message: the next is the answer"

        say(carol, action="join", room="lobby")
        assert hear(carol) == {"joined": "lobby"}
        say(bob, action="sendmessage", room="lobby", data="welcome carol")
        assert hear(alice)["data"] == "welcome carol" and hear(carol)["data"] == "welcome carol"

        say(carol, action="leave", room="lobby")
        assert hear(carol) == {"left": "lobby"}
        say(alice, action="sendmessage", room="lobby", data="carol has gone")
        assert hear(bob)["data"] == "carol has gone"
        say(carol, action="who", room="games")
        games = hear(carol)
        assert (games["room"], games["count"], len(games["members"])) == ("games", 1, 1)
        with pytest.raises(TimeoutError):
            carol.recv(timeout=0.3)
