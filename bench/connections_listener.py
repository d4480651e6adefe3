"""`PostToConnection` round trips through boto3, on the three places `@connections` can be
served: the management listener (plain HTTP), and the WebSocket listener (`onServerListener`)
over plain HTTP and over TLS. Each round trip is one signed call on a kept-alive boto3 client
plus the message reaching the WebSocket client. Prints one JSON line: p50/p99/mean in
milliseconds per place.

    .venv/bin/python bench/connections_listener.py [SWITCHBOARD_BINARY] [CALLS]

Default binary target/release/switchboard; the venv is the one of tests/compat.
"""

from __future__ import annotations

import json
import os
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "compat"))

import support  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

KEY = ("AKIDBENCHLISTENER", "bench/listener+Secret0123456789EXAMPLE")


def config(tls: tuple[Path, Path] | None) -> str:
    server_tls = f'[server.tls]\ncertFile = "{tls[0]}"\nkeyFile = "{tls[1]}"\n' if tls else ""
    return f"""
[server]
listen = "127.0.0.1:0"
{server_tls}
[management]
listen = "127.0.0.1:0"
auth = "sigv4"
onServerListener = true
[[management.credentials]]
accessKeyId = "{KEY[0]}"
secretAccessKey = "{KEY[1]}"
[apis.m]
routeSelectionExpression = "$request.body.action"
[apis.m.stages.dev]
[apis.m.integrations.who]
integrationType = "MOCK"
requestTemplates = {{ "$default" = '{{"statusCode": 200}}' }}
integrationResponses = {{ "$default" = {{ responseTemplates = {{ "$default" = '$context.connectionId' }} }} }}
[apis.m.routes."$default"]
target = "integrations/who"
routeResponseSelectionExpression = "$default"
"""


def round_trips(endpoint: str, ws, connection_id: str, calls: int) -> dict:
    client = support.mgmt_client(endpoint, key=KEY[0], secret=KEY[1])
    for _ in range(20):  # warm-up: connection, TLS session, signer
        client.post_to_connection(ConnectionId=connection_id, Data=b"w")
        ws.recv(timeout=support.WAIT)
    samples = []
    for i in range(calls):
        started = time.perf_counter()
        client.post_to_connection(ConnectionId=connection_id, Data=b"%d" % i)
        ws.recv(timeout=support.WAIT)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "p50_ms": round(samples[len(samples) // 2], 3),
        "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 3),
        "mean_ms": round(statistics.fmean(samples), 3),
        "calls": calls,
    }


def main() -> None:
    default = ROOT / "target" / "release" / "switchboard"
    binary = str(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else default)
    calls = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    os.environ["SWITCHBOARD_BIN"] = binary
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cert = support.self_signed_cert(tmp)
        os.environ["AWS_CA_BUNDLE"] = os.environ["REQUESTS_CA_BUNDLE"] = str(cert[0])
        for tls in (None, cert):
            (tmp / "switchboard.toml").write_text(config(tls))
            gw = support.Gateway(["--config", str(tmp / "switchboard.toml")], tmp)
            try:
                context = ssl.create_default_context(cafile=str(cert[0])) if tls else None
                with connect(gw.ws_url, ssl=context, open_timeout=support.WAIT) as ws:
                    ws.send("who")
                    connection_id = ws.recv(timeout=support.WAIT)
                    host = gw.ws_url.split("//", 1)[1].split("/", 1)[0]
                    if tls is None:
                        results["management_listener_http"] = round_trips(
                            gw.endpoint("dev"), ws, connection_id, calls
                        )
                        results["websocket_listener_http"] = round_trips(
                            f"http://{host}/dev", ws, connection_id, calls
                        )
                    else:
                        results["websocket_listener_https"] = round_trips(
                            f"https://{host}/dev", ws, connection_id, calls
                        )
            finally:
                gw.stop()
    print(json.dumps({"binary": binary, "loadavg": os.getloadavg(), **results}))


if __name__ == "__main__":
    main()
