"""examples/sam-chat under `switchboard serve --template`: how long a chat message takes to reach
every client through the local Lambda runtime (the send handler scans DynamoDB on moto_server
and posts to each connection at https://{domainName}/{stage}, SigV4 on the WebSocket
listener's TLS). One sender, CLIENTS receivers, MESSAGES sequential messages after a warm-up;
prints one JSON line per template with p50/p99/mean in ms (send → the last client has it) and
the first message's time (cold workers).

    .venv/bin/python bench/template_chat.py [SWITCHBOARD_BINARY] [MESSAGES] [CLIENTS]

Needs what tests/compat/test_template_chat.py needs (moto_server, tests/js/node_modules, the
runtime interface clients in target/lambda-ric, openssl).
"""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import statistics
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "compat"))

import support  # noqa: E402
from motoserver import MotoServer  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

CHAT = ROOT / "examples" / "sam-chat"
TABLE = "chat_connections"


def run(template: str, binary: Path, messages: int, clients: int) -> dict:
    moto = MotoServer(["dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Scan"])
    try:
        moto.client("dynamodb").create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "connectionId", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "connectionId", "KeyType": "HASH"}],
        )
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            cert, key = support.self_signed_cert(tmp)
            settings = tmp / "settings.toml"
            settings.write_text(
                f'[server]\nlisten = "127.0.0.1:0"\n[server.tls]\ncertFile = "{cert}"\n'
                f'keyFile = "{key}"\n[management]\nlisten = "127.0.0.1:0"\nauth = "sigv4"\n'
                f'[[management.credentials]]\naccessKeyId = "{moto.gateway.access_key_id}"\n'
                f'secretAccessKey = "{moto.gateway.secret_access_key}"\n'
            )
            env = {
                **moto.gateway_env(),
                "AWS_ENDPOINT_URL_DYNAMODB": moto.endpoint,
                "NODE_EXTRA_CA_CERTS": str(cert),
                "AWS_CA_BUNDLE": str(cert),
                "NODE_PATH": str(ROOT / "tests" / "js" / "node_modules"),
                "PYTHONPATH": sysconfig.get_paths()["purelib"],
                "SWITCHBOARD_LAMBDA_RIC": str(binary.parent.parent / "lambda-ric"),
            }
            os.environ["SWITCHBOARD_BIN"] = str(binary)
            args = ["--template", str(CHAT / template), "--config", str(settings)]
            gw = support.Gateway(args, tmp, env)
            try:
                context = ssl.create_default_context(cafile=str(cert))
                with contextlib.ExitStack() as stack:
                    socks = [
                        stack.enter_context(connect(gw.ws_url, ssl=context, open_timeout=60))
                        for _ in range(clients)
                    ]

                    def broadcast(text: str) -> float:
                        started = time.perf_counter()
                        socks[0].send(json.dumps({"action": "sendmessage", "data": text}))
                        for ws in socks:
                            assert ws.recv(timeout=60) == text
                        return (time.perf_counter() - started) * 1000

                    first = broadcast("cold")
                    for i in range(10):
                        broadcast(f"warm {i}")
                    samples = sorted(broadcast(f"m{i}") for i in range(messages))
            finally:
                gw.stop()
    finally:
        moto.close()
    return {
        "template": template,
        "clients": clients,
        "messages": messages,
        "first_ms": round(first, 1),
        "p50_ms": round(samples[len(samples) // 2], 1),
        "p99_ms": round(samples[max(0, int(len(samples) * 0.99) - 1)], 1),
        "mean_ms": round(statistics.fmean(samples), 1),
    }


def main() -> None:
    default = ROOT / "target" / "release" / "switchboard"
    binary = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else default
    messages = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    clients = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    for template in ("template.yaml", "template-python.yaml"):
        result = run(template, binary, messages, clients)
        print(json.dumps({**result, "loadavg": os.getloadavg()}), flush=True)


if __name__ == "__main__":
    main()
