"""examples/sam-chat end to end, as a user runs it: `switchboard serve --template template.yaml`
with no code change. The handlers run on the local Lambda runtime (Node.js with AWS SDK v3, or
one Python handler with boto3), keep their connections in DynamoDB (a real moto_server, which
checks every signature), and post to `@connections` at `https://{domainName}/{stage}`: the
WebSocket listener itself, over TLS with a self-signed certificate they trust through
NODE_EXTRA_CA_CERTS / AWS_CA_BUNDLE, signed with SigV4 and checked by `[management] auth`."""

from __future__ import annotations

import contextlib
import json
import ssl
import sysconfig
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from websockets.exceptions import InvalidHandshake, InvalidMessage
from websockets.sync.client import connect

import support
from motoserver import MotoServer

CHAT = support.REPO / "examples" / "sam-chat"
TABLE = "chat_connections"
RIC = Path(support.switchboard_bin()).parent.parent / "lambda-ric"


@pytest.fixture(scope="module")
def moto():
    server = MotoServer(["dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Scan"])
    yield server
    server.close()


@pytest.fixture
def table(moto):
    ddb = moto.client("dynamodb")
    ddb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "connectionId", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "connectionId", "KeyType": "HASH"}],
    )
    yield lambda: sorted(i["connectionId"]["S"] for i in ddb.scan(TableName=TABLE)["Items"])
    ddb.delete_table(TableName=TABLE)


def settings(directory: Path, cert: Path, key: Path, moto: MotoServer) -> Path:
    """The --config file: TLS on the WebSocket listener, SigV4 on @connections with the key the
    handlers hold (the same one moto knows as `gateway`)."""
    path = directory / "settings.toml"
    path.write_text(
        "[server]\n"
        'listen = "127.0.0.1:0"\n'
        "[server.tls]\n"
        f'certFile = "{cert}"\n'
        f'keyFile = "{key}"\n'
        "[management]\n"
        'listen = "127.0.0.1:0"\n'
        'auth = "sigv4"\n'
        "[[management.credentials]]\n"
        f'accessKeyId = "{moto.gateway.access_key_id}"\n'
        f'secretAccessKey = "{moto.gateway.secret_access_key}"\n'
    )
    return path


@pytest.fixture
def serve(tmp_path, moto, table):
    """`serve(template)` → (gateway, ssl context trusting its certificate, table reader)."""
    cert, key = support.self_signed_cert(tmp_path)
    started = []

    def start(template: str):
        env = {
            **moto.gateway_env(),
            "AWS_ENDPOINT_URL_DYNAMODB": moto.endpoint,
            "NODE_EXTRA_CA_CERTS": str(cert),
            "AWS_CA_BUNDLE": str(cert),
            # Lambda's runtimes bundle the AWS SDKs; a local worker finds them here.
            "NODE_PATH": str(support.REPO / "tests" / "js" / "node_modules"),
            "PYTHONPATH": sysconfig.get_paths()["purelib"],
            "SWITCHBOARD_LAMBDA_RIC": str(RIC),
        }
        args = ["--template", str(CHAT / template), "--config", str(settings(tmp_path, cert, key, moto))]
        gw = support.Gateway(args, tmp_path, env)
        started.append(gw)
        context = ssl.create_default_context(cafile=str(cert))
        return gw, context

    yield start, table
    for gw in started:
        code = gw.stop()
        assert code == 0, f"switchboard exited {code}: {gw.stderr()}"


def open_client(gw: support.Gateway, context: ssl.SSLContext):
    """A client of `gw`; a failed upgrade fails the test with the gateway's log.

    One retry, only when the connection was closed without any answer: about one upgrade in
    ten to twenty runs of this file stalls after the TLS handshake until the gateway's
    10-second header-read timeout closes it (seen before and after the jemalloc and wake-up
    changes, at 7e471d5 too; not yet explained). The chat itself is what this test checks;
    a stall that repeats still fails it."""
    for attempt in (1, 2):
        try:
            return connect(gw.ws_url, ssl=context, open_timeout=60, close_timeout=support.WAIT)
        except InvalidMessage as e:
            if attempt == 2:
                raise AssertionError(f"upgrade failed twice ({e!r}); gateway log:\n{gw.stderr()}") from e
        except (OSError, InvalidHandshake, TimeoutError) as e:
            raise AssertionError(f"upgrade failed ({e!r}); gateway log:\n{gw.stderr()}") from e


def eventually(check, what: str, patience: float = 60.0):
    deadline = time.monotonic() + patience
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {patience}s")
        time.sleep(0.1)


def signed_metrics(gw: support.Gateway, moto: MotoServer) -> str:
    """GET /metrics signed by botocore: with auth = "sigv4" the metrics are not open."""
    url = f"{gw.mgmt_url}/metrics"
    request = AWSRequest(method="GET", url=url)
    key = Credentials(moto.gateway.access_key_id, moto.gateway.secret_access_key)
    SigV4Auth(key, "execute-api", "us-east-1").add_auth(request)
    with urllib.request.urlopen(
        urllib.request.Request(url, headers=dict(request.headers)), timeout=support.WAIT
    ) as response:
        return response.read().decode()


def metric(text: str, series: str) -> float:
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name == series:
            return float(value)
    return 0.0


@pytest.mark.parametrize("template", ["template.yaml", "template-python.yaml"])
def test_three_clients_chat_through_the_template_and_its_local_handlers(serve, moto, template):
    start, table = serve
    gw, context = start(template)
    assert gw.ws_url.startswith("wss://127.0.0.1:"), gw.ws_url
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(f"{gw.mgmt_url}/metrics", timeout=support.WAIT)
    assert unsigned.value.code == 403

    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(open_client(gw, context)) for _ in range(3)]
        eventually(lambda: len(table()) == 3, "three connections in the table")

        clients[0].send(json.dumps({"action": "sendmessage", "data": "hello, all"}))
        for client in clients:
            assert client.recv(timeout=60) == "hello, all"
        posts = 'switchboard_management_calls_total{operation="PostToConnection",status="200"}'
        assert metric(signed_metrics(gw, moto), posts) == 3

        before = table()
        clients[1].close()
        eventually(lambda: len(table()) == 2, "the closed connection leaving the table")
        assert set(table()) < set(before)

        clients[2].send(json.dumps({"action": "sendmessage", "data": "two left"}))
        for client in (clients[0], clients[2]):
            assert client.recv(timeout=60) == "two left"
    eventually(lambda: table() == [], "every connection leaving the table")
