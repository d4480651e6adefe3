"""The gateway's memory and another client's echo latency while callers that never finish hold
the management listener.

Starts `switchboard serve` (the binary given, default target/release/switchboard) with a MOCK
echo API and SigV4 on the management API. CONNECTIONS callers each open a connection to the
management listener, send an unsigned chunked `POST @connections/{id}` head and then up to
1 MB of body as far as the gateway reads it, and then hold the connection without finishing.
A bystander measures echo round trips before and while they hold; the gateway's RSS and open
files are read at the start, after the bodies, and after HOLD seconds. Prints one JSON line.

    .venv/bin/python bench/management_attack.py [SWITCHBOARD_BINARY] [CONNECTIONS] [HOLD]

The venv is the one of tests/compat (`websockets`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """
[server]
listen = "127.0.0.1:0"
[management]
listen = "127.0.0.1:0"
auth = "sigv4"
[[management.credentials]]
accessKeyId = "AKIDBENCH"
secretAccessKey = "secret"
[apis.t]
routeSelectionExpression = "$request.body.action"
[apis.t.stages.dev]
[apis.t.integrations.echo]
integrationType = "MOCK"
requestTemplates = { "$default" = '{"statusCode": 200}' }
integrationResponses = { "$default" = { responseTemplates = { "$default" = '$input.body' } } }
[apis.t.routes."$default"]
target = "integrations/echo"
routeResponseSelectionExpression = "$default"
"""
MB = 1024 * 1024


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def echo_ms(url: str, count: int = 50) -> dict:
    """p50 and max of `count` echo round trips on a fresh connection; a failure is reported."""
    times = []
    try:
        with connect(url, open_timeout=30) as ws:
            for _ in range(count):
                started = time.monotonic()
                ws.send('{"say":"hello"}')
                ws.recv(timeout=30)
                times.append((time.monotonic() - started) * 1000)
    except Exception as error:  # noqa: BLE001 - the answer is what failed
        return {"error": f"{type(error).__name__}: {error}"}
    times.sort()
    return {"p50": round(times[len(times) // 2], 2), "max": round(times[-1], 2)}


def hold(management: str, connections: int) -> tuple[list[socket.socket], int, str]:
    """Opens the attackers; returns them, the body bytes the gateway took, and any refusal."""
    host, port = management.split("//", 1)[1].split(":")
    head = (
        f"POST /dev/@connections/AAAAAAAAAAAAAAA= HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunk = b"%x\r\n%s\r\n" % (65536, b"z" * 65536)
    socks, sent, refused = [], 0, ""
    for _ in range(connections):
        try:
            s = socket.create_connection((host, int(port)), timeout=2)
            s.sendall(head)
        except OSError as error:
            refused = f"{type(error).__name__}: {error}"
            break
        socks.append(s)
    for s in socks:
        s.settimeout(0.2)
        for _ in range(16):
            try:
                s.sendall(chunk)
                sent += len(chunk)
            except OSError:
                break
    return socks, sent, refused


def main() -> None:
    binary = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "target/release/switchboard")
    connections = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
    with tempfile.TemporaryDirectory() as work:
        config = Path(work) / "gateway.toml"
        config.write_text(CONFIG)
        gateway = subprocess.Popen(
            [binary, "serve", "--config", str(config)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        try:
            url = management = None
            assert gateway.stdout is not None
            for line in gateway.stdout:
                if line.startswith("listening on "):
                    url = line.split()[2]
                if "management API on " in line:
                    management = line.split("management API on ")[1].split()[0]
                if url and management:
                    break
            assert url and management, "the gateway printed no addresses"
            pid = gateway.pid
            start = {"rss_mb": round(rss(pid) / MB, 1), "fds": fds(pid)}
            alone = echo_ms(url)
            socks, sent, refused = hold(management, connections)
            after_bodies = {"rss_mb": round(rss(pid) / MB, 1), "fds": fds(pid)}
            during = echo_ms(url)
            time.sleep(seconds)
            held = {"rss_mb": round(rss(pid) / MB, 1), "fds": fds(pid)}
            for s in socks:
                s.close()
            print(json.dumps({
                "binary": binary,
                "attackers": len(socks),
                "body_bytes_accepted_by_the_socket": sent,
                "open_refused": refused,
                "start": start,
                "after_bodies": after_bodies,
                f"after_{seconds:g}s_held": held,
                "bystander_echo_ms_alone": alone,
                "bystander_echo_ms_during": during,
            }))
        finally:
            gateway.terminate()
            gateway.wait(10)


if __name__ == "__main__":
    main()
