"""AWS service integration against a real AWS-compatible server (docs/behaviour.md §4.4).

moto_server is started on a free port with signature checking on
(INITIAL_NO_AUTH_ACTION_COUNT: the first few calls set up an IAM user, its key and the
table; every later call must carry a SigV4 signature that moto recomputes with that
user's secret). The gateway binary (SWITCHBOARD_BIN, else target/debug/switchboard) serves
an AWS integration `arn:aws:apigateway:us-east-1:dynamodb:action/PutItem` with the spec's
CDK template; a client sends messages over a WebSocket, and the table is read back with
boto3.

Self-contained: its own fixtures, no conftest needed. Needs boto3, moto[server], websockets.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import boto3  # noqa: E402
import websockets.sync.client as websockets_sync  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
TABLE = "Messages"
# Calls moto serves without checking signatures: create_user, create_access_key,
# put_user_policy, create_table. Everything after must be signed by a known key.
SETUP_CALLS = 4


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout}s")


def gateway_binary():
    explicit = os.environ.get("SWITCHBOARD_BIN")
    if explicit:
        return explicit
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    for profile in ("debug", "release"):
        candidate = target / profile / "switchboard"
        if candidate.exists():
            return str(candidate)
    pytest.fail("no gateway binary: set SWITCHBOARD_BIN or run cargo build -p switchboard")


@pytest.fixture(scope="module")
def moto():
    """A moto_server with SigV4 checking, an IAM user allowed dynamodb:*, and the table."""
    # The venv's own moto_server first: pytest may run without the venv on PATH.
    beside = Path(sys.executable).with_name("moto_server")
    exe = str(beside) if beside.exists() else shutil.which("moto_server")
    if exe is None:
        pytest.fail("moto_server not found: pip install 'moto[server]'")
    port = free_port()
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(SETUP_CALLS))
    proc = subprocess.Popen(
        [exe, "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, proc, "moto_server")
        endpoint = f"http://127.0.0.1:{port}"
        setup = dict(
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id="setup",
            aws_secret_access_key="setup",
        )
        iam = boto3.client("iam", **setup)
        iam.create_user(UserName="gateway")
        key = iam.create_access_key(UserName="gateway")["AccessKey"]
        iam.put_user_policy(
            UserName="gateway",
            PolicyName="dynamodb",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}],
                }
            ),
        )
        boto3.client("dynamodb", **setup).create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield {
            "endpoint": endpoint,
            "access_key_id": key["AccessKeyId"],
            "secret_access_key": key["SecretAccessKey"],
        }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def dynamodb(moto):
    """A boto3 client signing with the gateway user's key (moto checks it)."""
    return boto3.client(
        "dynamodb",
        endpoint_url=moto["endpoint"],
        region_name=REGION,
        aws_access_key_id=moto["access_key_id"],
        aws_secret_access_key=moto["secret_access_key"],
    )


CONFIG = """
[aws]
region = "us-east-1"
accountId = "123456789012"
[aws.endpoints]
dynamodb = "{endpoint}"

[apis.ddb]
routeSelectionExpression = "$request.body.action"
[apis.ddb.stages.dev]

[apis.ddb.integrations.put]
integrationType = "AWS"
integrationMethod = "POST"
integrationUri = "arn:aws:apigateway:us-east-1:dynamodb:action/PutItem"
templateSelectionExpression = "\\\\$default"
requestTemplates = {{ "$default" = '''{{"TableName":"{table}","Item":{{"id":{{"S":"$context.requestId"}},"connectionId":{{"S":"$context.connectionId"}},"userData":{{"S":$input.json('$.data')}}}}}}''' }}
[apis.ddb.integrations.put.integrationResponses."$default".responseTemplates]
"$default" = '{{"success": true, "id": "$context.requestId"}}'
[apis.ddb.integrations.put.integrationResponses."/4\\\\d{{2}}/".responseTemplates]
"$default" = '''{{"error": "Bad request", "message": #if($input.path('$.Message'))$input.json('$.Message')#else$input.json('$.message')#end}}'''
# Tried before /4\\d{{2}}/ (keys in order): moto's signature errors are not JSON.
[apis.ddb.integrations.put.integrationResponses."/403/".responseTemplates]
"$default" = '''{{"error": "Forbidden", "body": "$util.escapeJavaScript($input.body)"}}'''

[apis.ddb.routes.putItem]
target = "integrations/put"
routeResponseSelectionExpression = "$default"
"""


def start_gateway(tmp_path, moto, secret, config_text=None):
    config = tmp_path / "switchboard.toml"
    config.write_text(config_text or CONFIG.format(endpoint=moto["endpoint"], table=TABLE))
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID=moto["access_key_id"],
        AWS_SECRET_ACCESS_KEY=secret,
    )
    env.pop("AWS_SESSION_TOKEN", None)
    proc = subprocess.Popen(
        [
            gateway_binary(),
            "serve",
            "--config",
            str(config),
            "--listen",
            "127.0.0.1:0",
            "--management-listen",
            "127.0.0.1:0",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        match = re.search(r"listening on (ws://\S+)", line)
        if match:
            return proc, match.group(1)
    proc.kill()
    raise RuntimeError("gateway did not print its URL")


@pytest.fixture
def gateway(tmp_path, moto):
    proc, url = start_gateway(tmp_path, moto, moto["secret_access_key"])
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def exchange(url, message):
    with websockets_sync.connect(url, open_timeout=10) as ws:
        ws.send(message)
        return ws.recv(timeout=15)


def test_put_item_from_the_route_template_lands_in_the_table(gateway, moto):
    reply = json.loads(exchange(gateway, json.dumps({"action": "putItem", "data": "hello moto"})))
    assert reply["success"] is True
    item = dynamodb(moto).get_item(TableName=TABLE, Key={"id": {"S": reply["id"]}})["Item"]
    assert item["userData"] == {"S": "hello moto"}
    assert item["connectionId"]["S"]


def test_dynamodb_validation_error_is_mapped_by_the_4xx_integration_response(gateway, moto):
    before = dynamodb(moto).scan(TableName=TABLE)["Count"]
    reply = json.loads(exchange(gateway, json.dumps({"action": "putItem", "data": 1})))
    # The exact reply docs/behaviour.md §4.4 records from AWS for this message.
    assert reply == {"error": "Bad request", "message": "NUMBER_VALUE cannot be converted to String"}
    assert dynamodb(moto).scan(TableName=TABLE)["Count"] == before


def test_moto_checks_the_signature(tmp_path, moto):
    """The same call signed with a wrong secret is refused by moto (403, mapped by the
    /403/ integration response): so the accepted calls above carried a valid signature."""
    proc, url = start_gateway(tmp_path, moto, "not-the-secret")
    try:
        reply = json.loads(exchange(url, json.dumps({"action": "putItem", "data": "x"})))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert reply["error"] == "Forbidden"
    assert "signature" in reply["body"].lower()


def test_the_dynamodb_chat_example_stores_and_reads_back_messages(tmp_path, moto):
    """examples/dynamodb-chat: sendmessage stores with PutItem, history reads with Query."""
    example = REPO / "examples" / "dynamodb-chat"
    sys.path.insert(0, str(example))
    try:
        import create_table  # noqa: PLC0415 (the example's own helper)
    finally:
        sys.path.pop(0)
    create_table.create_table(
        moto["endpoint"],
        aws_access_key_id=moto["access_key_id"],
        aws_secret_access_key=moto["secret_access_key"],
    )
    config = (example / "switchboard.toml").read_text()
    assert "http://127.0.0.1:8000" in config
    config = config.replace("http://127.0.0.1:8000", moto["endpoint"])
    proc, url = start_gateway(tmp_path, moto, moto["secret_access_key"], config)
    try:
        with websockets_sync.connect(url, open_timeout=10) as ws:
            for text in ["hello", 'it\'s "quoted"']:
                ws.send(json.dumps({"action": "sendmessage", "room": "lobby", "text": text}))
                assert json.loads(ws.recv(timeout=15))["stored"] is True
            ws.send(json.dumps({"action": "sendmessage", "room": "other", "text": "elsewhere"}))
            ws.recv(timeout=15)
            ws.send(json.dumps({"action": "sendmessage", "room": "lobby", "text": 5}))
            assert json.loads(ws.recv(timeout=15))["error"] == "Bad request"
            ws.send(json.dumps({"action": "history", "room": "lobby"}))
            history = json.loads(ws.recv(timeout=15))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert [m["text"] for m in history["messages"]] == ["hello", 'it\'s "quoted"']
    assert all(m["room"] == "lobby" and m["from"] and m["time"] > 0 for m in history["messages"])
