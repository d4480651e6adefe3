"""Tools of the fault suite: memory of a process, raw WebSocket frames, slow HTTP callers, and
a check that a gateway still serves an ordinary client."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

from websockets.sync.client import connect as ws_connect

import support

MB = 1024 * 1024
# A liveness bound, not a speed measurement: an echo normally takes about a millisecond.
SERVED_WITHIN = 5.0


def rss(pid: int) -> int:
    """Resident memory of `pid` in bytes (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def masked_frame(opcode: int, payload: bytes) -> bytes:
    """One final client frame (masked, as clients must)."""
    mask = os.urandom(4)
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def assert_serves_others(ws_url: str, tag: str = "bystander") -> None:
    """A fresh client connects and gets an answer to a message within SERVED_WITHIN."""
    started = time.monotonic()
    with ws_connect(f"{ws_url}?tag={tag}", open_timeout=SERVED_WITHIN, close_timeout=2) as ws:
        ws.send('{"action":"ping"}')
        ws.recv(timeout=SERVED_WITHIN)
    elapsed = time.monotonic() - started
    assert elapsed < SERVED_WITHIN, f"an ordinary client waited {elapsed:.1f}s"


def http_connection(url: str, timeout: float = support.WAIT) -> socket.socket:
    parts = urlsplit(url)
    s = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    return s


def read_status(sock: socket.socket, timeout: float = support.WAIT) -> int:
    """The status code of the next HTTP response on `sock` (0 if it closed first)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n" not in data:
        try:
            chunk = sock.recv(4096)
        except (ConnectionResetError, BrokenPipeError):
            return 0
        if not chunk:
            return 0
        data += chunk
    return int(data.split(b" ", 2)[1])


def config(
    backend_url: str | None = None,
    *,
    server_limits: str = "",
    management: str = "",
    management_limits: str = "",
    stage_limits: str = "",
    routes: str = "",
) -> str:
    """One API, `chat`, stage `dev`: `$default` is a two-way MOCK echo; with `backend_url`,
    `$connect` and `$disconnect` go to that Lambda-style backend (so tests see the events).
    `routes` is extra TOML under `[apis.chat]` (integrations and routes)."""
    text = f"""
[server]
listen = "127.0.0.1:0"
[server.limits]
{server_limits}
[management]
listen = "127.0.0.1:0"
{management}
{"[management.limits]" if management_limits else ""}
{management_limits}
[apis.chat]
routeSelectionExpression = "$request.body.action"
[apis.chat.stages.dev]
limits = {{ {stage_limits} }}
[apis.chat.integrations.echo]
integrationType = "MOCK"
requestTemplates = {{ "$default" = '{{"statusCode": 200}}' }}
integrationResponses = {{ "$default" = {{ responseTemplates = {{ "$default" = '{{"echo": $input.json("$")}}' }} }} }}
[apis.chat.routes."$default"]
target = "integrations/echo"
routeResponseSelectionExpression = "$default"
"""
    if backend_url:
        text += f"""
[apis.chat.integrations.events]
integrationType = "AWS_PROXY"
integrationUri = "{backend_url}/lambda"
[apis.chat.routes."$connect"]
target = "integrations/events"
[apis.chat.routes."$disconnect"]
target = "integrations/events"
"""
    return text + routes
