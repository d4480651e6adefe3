"""examples/chat: the backend (backend.py) and the gateway (a copy of its switchboard.toml on
free ports), driven by two `websockets` clients."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading

import pytest
from websockets.sync.client import connect

import support

CHAT = support.REPO / "examples" / "chat"


@pytest.fixture
def chat(start_gateway, tmp_path):
    backend_port = support.reserve_port()
    text = (CHAT / "switchboard.toml").read_text()
    text = re.sub(r'listen = "127\.0\.0\.1:\d+"', 'listen = "127.0.0.1:0"', text)
    text, n = re.subn(r"http://127\.0\.0\.1:3000", f"http://127.0.0.1:{backend_port}", text)
    assert n == 3, "the example config should send its three routes to the backend"
    gw = start_gateway(text)
    env = {
        **os.environ,
        "CHAT_BACKEND_PORT": str(backend_port),
        "SWITCHBOARD_ENDPOINT": gw.endpoint("dev"),
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, str(CHAT / "backend.py")],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ready = threading.Event()
    output: list[str] = []

    def read():
        for line in proc.stdout:
            output.append(line.rstrip())
            if line.startswith("chat backend on "):
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    assert ready.wait(support.WAIT) and proc.poll() is None, f"backend did not start: {output}"
    yield gw
    proc.terminate()
    proc.wait(support.WAIT)
    assert not any("failed" in line for line in output), output


def test_chat_broadcast_and_leave(chat):
    with contextlib.ExitStack() as stack:
        a = stack.enter_context(connect(chat.ws_url, open_timeout=support.WAIT))
        b = stack.enter_context(connect(chat.ws_url, open_timeout=support.WAIT))
        a.send('{"action":"sendmessage","data":"hi"}')
        assert a.recv(timeout=support.WAIT) == "hi"
        assert b.recv(timeout=support.WAIT) == "hi"

        b.close()
        a.send('{"action":"sendmessage","data":"still here"}')
        # A gets its own message, not an integration error: B's id was removed on $disconnect
        # or, if the post raced it, on GoneException.
        assert a.recv(timeout=support.WAIT) == "still here"
        a.send('{"action":"sendmessage","data":"and again"}')
        assert a.recv(timeout=support.WAIT) == "and again"
