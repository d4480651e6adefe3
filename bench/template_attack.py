"""Other clients' latency while ten clients keep a pathological mapping template busy.

Starts `switchboard serve` (the binary given, default target/release/switchboard) with a MOCK
API: `$default` echoes, `heavy` renders a two-million-step template. One client measures echo
round trips (and a new client its upgrade) alone, then while ten attackers each send
`{"action":"heavy"}` in a closed loop. Prints one JSON line with the latencies in milliseconds
and the attackers' replies.

    .venv/bin/python bench/template_attack.py [SWITCHBOARD_BINARY] [SECONDS]

The venv is the one of tests/compat (`websockets`).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
HEAVY = "#foreach($a in [1..2000])#foreach($b in [1..1000])#end#end done"
CONFIG = f"""
[server]
listen = "127.0.0.1:0"
[management]
listen = "127.0.0.1:0"
[apis.t]
routeSelectionExpression = "$request.body.action"
[apis.t.stages.dev]
[apis.t.integrations.echo]
integrationType = "MOCK"
requestTemplates = {{ "$default" = '{{"statusCode": 200}}' }}
integrationResponses = {{ "$default" = {{ responseTemplates = {{ "$default" = '$input.body' }} }} }}
[apis.t.integrations.heavy]
integrationType = "MOCK"
requestTemplates = {{ "$default" = '{{"statusCode": 200}}' }}
integrationResponses = {{ "$default" = {{ responseTemplates = {{ "$default" = '{HEAVY}' }} }} }}
[apis.t.routes."$default"]
target = "integrations/echo"
routeResponseSelectionExpression = "$default"
[apis.t.routes.heavy]
target = "integrations/heavy"
routeResponseSelectionExpression = "$default"
"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def echoes(ws, seconds: float) -> list[float]:
    """Echo round trips on `ws`, one at a time, for `seconds`; milliseconds each."""
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        await ws.send('{"say":"hello"}')
        await ws.recv()
        latencies.append((time.monotonic() - started) * 1000)
        await asyncio.sleep(0.01)
    return latencies


async def handshake_ms(url: str) -> float:
    """How long a new client waits for its upgrade."""
    started = time.monotonic()
    async with connect(url, open_timeout=300):
        return (time.monotonic() - started) * 1000


async def attacker(url: str, stop: asyncio.Event, replies: list[str]) -> None:
    async with connect(url, max_size=None, close_timeout=1) as ws:
        while not stop.is_set():
            await ws.send('{"action":"heavy"}')
            try:
                replies.append(await asyncio.wait_for(ws.recv(), 60))
            except asyncio.TimeoutError:
                replies.append("timeout")


def summary(latencies: list[float]) -> dict:
    return {
        "n": len(latencies),
        "p50": round(percentile(latencies, 50), 2),
        "p99": round(percentile(latencies, 99), 2),
        "max": round(max(latencies), 2),
    }


async def measure(url: str, seconds: float) -> dict:
    async with connect(url, max_size=None) as victim:
        alone = await echoes(victim, seconds)
        connect_alone = await handshake_ms(url)
        stop = asyncio.Event()
        replies: list[str] = []
        attackers = [asyncio.create_task(attacker(url, stop, replies)) for _ in range(10)]
        await asyncio.sleep(1)  # every attacker has a render under way
        under_attack = await echoes(victim, seconds)
        connect_under_attack = await handshake_ms(url)
        stop.set()
        await asyncio.gather(*attackers, return_exceptions=True)
    kinds: dict[str, int] = {}
    for r in replies:
        kind = "Internal server error" if "Internal server error" in r else r[:20]
        kinds[kind] = kinds.get(kind, 0) + 1
    return {
        "alone_ms": summary(alone),
        "under_attack_ms": summary(under_attack),
        "handshake_ms": {
            "alone": round(connect_alone, 2),
            "under_attack": round(connect_under_attack, 2),
        },
        "attacker_replies": kinds,
    }


def main() -> None:
    binary = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "target/release/switchboard")
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    with tempfile.TemporaryDirectory() as work:
        config = Path(work) / "gateway.toml"
        config.write_text(CONFIG)
        gateway = subprocess.Popen(
            [binary, "serve", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            url = None
            assert gateway.stdout is not None
            for line in gateway.stdout:
                found = re.search(r"ws://127\.0\.0\.1:\d+/dev", line)
                if found:
                    url = found.group(0)
                    break
            if url is None:
                sys.exit("the gateway did not print its address")
            print(json.dumps({"binary": binary, **asyncio.run(measure(url, seconds))}))
        finally:
            gateway.terminate()
            gateway.wait(10)


if __name__ == "__main__":
    main()
