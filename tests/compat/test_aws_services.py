"""`AWS` service integrations other than DynamoDB (docs/behaviour.md §4.4), end to end against
a real moto_server that checks signatures and IAM policies (motoserver.py).

One gateway serves four two-way routes whose request templates call SQS SendMessage, Kinesis
PutRecord, Step Functions StartExecution and EventBridge PutEvents (the AWS JSON protocol:
`POST /` with `X-Amz-Target`). A WebSocket client sends a message; boto3 then reads the
queue, stream, execution or event back from the same moto and checks what arrived, and the
reply the client got from the integration responses. A resource that does not exist is
mapped by the `/4\\d{2}/` integration response; the same calls signed with a wrong secret are
refused by moto (so the accepted calls carried valid signatures, for the right service: the
gateway's key may only call these four actions).

One moto_server and one gateway for the whole module.
"""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from websockets.sync.client import connect

import support
from motoserver import ACCOUNT, REGION, MotoServer

QUEUE = "orders"
STREAM = "clicks"
MACHINE = "fulfil"
BUS = "chat"
EVENT_QUEUE = "chat-events"  # where the bus's rule delivers, so the event can be read back
SOURCE = "switchboard.chat"

ERROR_RESPONSE = """[apis.aws.integrations.{name}.integrationResponses."/4\\\\d{{2}}/".responseTemplates]
"$default" = '''{{"error": $input.json('$.__type'), "message": $input.json('$.message')}}'''
"""
# A signature or policy refusal: moto answers 403 with an XML body, so it is quoted whole.
FORBIDDEN_RESPONSE = """[apis.aws.integrations.{name}.integrationResponses."/403/".responseTemplates]
"$default" = '''{{"error": "Forbidden", "body": "$util.escapeJavaScript($input.body)"}}'''
"""

# name → (service, action, request template, 2xx response template)
INTEGRATIONS = {
    "sqs": (
        "sqs",
        "SendMessage",
        """{"QueueUrl": "$stageVariables.queues/$input.path('$.queue')", """
        """"MessageBody": "$util.escapeJavaScript($input.json('$.order'))", """
        """"MessageAttributes": {"requestId": {"DataType": "String", "StringValue": "$context.requestId"}}}""",
        """{"queued": true, "messageId": $input.json('$.MessageId'), "requestId": "$context.requestId"}""",
    ),
    "kinesis": (
        "kinesis",
        "PutRecord",
        """{"StreamName": "$input.path('$.stream')", "PartitionKey": "$context.connectionId", """
        """"Data": "$util.base64Encode($input.json('$.click'))"}""",
        """{"shard": $input.json('$.ShardId'), "sequence": $input.json('$.SequenceNumber')}""",
    ),
    "states": (
        "states",
        "StartExecution",
        """{"stateMachineArn": "$stageVariables.machines:$input.path('$.machine')", """
        """"name": "$input.path('$.name')", "input": "$util.escapeJavaScript($input.json('$.order'))"}""",
        """{"started": $input.json('$.executionArn')}""",
    ),
    "events": (
        "events",
        "PutEvents",
        """{"Entries": [{"EventBusName": "$input.path('$.bus')", "Source": "%s", """
        """"DetailType": "chat message", "Detail": "$util.escapeJavaScript($input.json('$.detail'))"}]}"""
        % SOURCE,
        """{"failed": $input.json('$.FailedEntryCount'), "eventId": $input.json('$.Entries[0].EventId')}""",
    ),
}


def integration(
    name: str, route: str, service: str, action: str, request: str, reply: str, credentials: str = ""
) -> str:
    text = f"""
[apis.aws.integrations.{name}]
integrationType = "AWS"
integrationMethod = "POST"
integrationUri = "arn:aws:apigateway:{REGION}:{service}:action/{action}"
{credentials}
requestTemplates = {{ "$default" = '''{request}''' }}
"""
    text += FORBIDDEN_RESPONSE.format(name=name) + ERROR_RESPONSE.format(name=name)
    text += f"""[apis.aws.integrations.{name}.integrationResponses."$default".responseTemplates]
"$default" = '''{reply}'''
[apis.aws.routes."{route}"]
target = "integrations/{name}"
routeResponseSelectionExpression = "$default"
"""
    return text


def config(moto: MotoServer) -> str:
    """Per service a route `NAME` signed with the environment's key and a route `NAME-forged`
    whose integration signs with the right key id and a wrong secret."""
    endpoints = "\n".join(f'{service} = "{moto.endpoint}"' for service, *_ in INTEGRATIONS.values())
    text = f"""
[server]
listen = "127.0.0.1:0"
[management]
listen = "127.0.0.1:0"
[aws]
region = "{REGION}"
accountId = "{ACCOUNT}"
[aws.endpoints]
{endpoints}

[apis.aws]
routeSelectionExpression = "$request.body.action"
[apis.aws.stages.dev]
stageVariables = {{ queues = "{moto.endpoint}/{ACCOUNT}", machines = "arn:aws:states:{REGION}:{ACCOUNT}:stateMachine" }}
"""
    forged = (
        f'credentials = {{ accessKeyId = "{moto.gateway.access_key_id}", '
        'secretAccessKey = "not-the-secret" }'
    )
    for name, spec in INTEGRATIONS.items():
        text += integration(name, name, *spec)
        text += integration(f"{name}_forged", f"{name}-forged", *spec, credentials=forged)
    return text


@pytest.fixture(scope="module")
def moto():
    server = MotoServer(["sqs:SendMessage", "kinesis:PutRecord", "states:StartExecution", "events:PutEvents"])
    try:
        sqs = server.client("sqs")
        sqs.create_queue(QueueName=QUEUE)
        target = sqs.create_queue(QueueName=EVENT_QUEUE)["QueueUrl"]
        server.client("kinesis").create_stream(StreamName=STREAM, ShardCount=1)
        server.client("stepfunctions").create_state_machine(
            name=MACHINE,
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/{MACHINE}",
        )
        events = server.client("events")
        events.create_event_bus(Name=BUS)
        events.put_rule(Name="to-queue", EventBusName=BUS, EventPattern=json.dumps({"source": [SOURCE]}))
        queue_arn = sqs.get_queue_attributes(QueueUrl=target, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_targets(Rule="to-queue", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": queue_arn}])
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def gateway(moto, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("aws-services")
    (workdir / "switchboard.toml").write_text(config(moto))
    gw = support.Gateway(["--config", str(workdir / "switchboard.toml")], workdir, moto.gateway_env())
    yield gw
    code = gw.stop()
    assert code == 0, f"switchboard did not exit 0 on SIGTERM: {gw.stderr()}"


def exchange(gw: support.Gateway, moto: MotoServer, message: dict) -> dict:
    """Sends one message on a new connection; the reply, parsed."""
    with connect(gw.ws_url, open_timeout=support.WAIT, close_timeout=support.WAIT) as ws:
        ws.send(json.dumps(message))
        reply = ws.recv(timeout=support.WAIT)
    try:
        return json.loads(reply)
    except ValueError:
        raise AssertionError(f"reply is not JSON: {reply!r}\ngateway: {gw.stderr()}\nmoto: {moto.log()}")


def queue_url(moto: MotoServer, name: str) -> str:
    return moto.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]


def receive_one(moto: MotoServer, name: str) -> dict:
    """The next message of queue `name` (long-polled), deleted once read."""
    sqs = moto.client("sqs")
    url = queue_url(moto, name)
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5, MessageAttributeNames=["All"])
    messages = got.get("Messages", [])
    assert len(messages) == 1, f"expected one message in {name}, got {messages}"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
    return messages[0]


def queue_depth(moto: MotoServer, name: str) -> int:
    attrs = moto.client("sqs").get_queue_attributes(
        QueueUrl=queue_url(moto, name),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


ORDER = {"id": 7, "items": ["tea", "scones"], "note": 'say "please"\nand\tthank you ✓'}


def test_sqs_send_message_queues_the_order(gateway, moto):
    reply = exchange(gateway, moto, {"action": "sqs", "queue": QUEUE, "order": ORDER})
    assert reply["queued"] is True, reply
    message = receive_one(moto, QUEUE)
    assert message["MessageId"] == reply["messageId"]
    assert json.loads(message["Body"]) == ORDER
    assert message["MessageAttributes"]["requestId"]["StringValue"] == reply["requestId"]


def test_kinesis_put_record_lands_in_the_stream(gateway, moto):
    click = {"x": 12, "y": 34, "target": "buy ✓"}
    reply = exchange(gateway, moto, {"action": "kinesis", "stream": STREAM, "click": click})
    assert set(reply) == {"shard", "sequence"}, reply
    kinesis = moto.client("kinesis")
    iterator = kinesis.get_shard_iterator(
        StreamName=STREAM,
        ShardId=reply["shard"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=reply["sequence"],
    )["ShardIterator"]
    record = kinesis.get_records(ShardIterator=iterator, Limit=1)["Records"][0]
    assert record["SequenceNumber"] == reply["sequence"]
    assert json.loads(record["Data"]) == click
    assert record["PartitionKey"], "the partition key is the connection id"


def test_step_functions_start_execution_runs_with_the_order_as_input(gateway, moto):
    name = f"order-{uuid.uuid4().hex}"
    reply = exchange(gateway, moto, {"action": "states", "machine": MACHINE, "name": name, "order": ORDER})
    machine_arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{MACHINE}"
    assert reply == {"started": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{MACHINE}:{name}"}
    execution = moto.client("stepfunctions").describe_execution(executionArn=reply["started"])
    assert execution["stateMachineArn"] == machine_arn
    assert execution["name"] == name
    assert json.loads(execution["input"]) == ORDER


def test_eventbridge_put_events_reaches_the_rule_target(gateway, moto):
    detail = {"room": "lobby", "text": 'hello "everyone"'}
    reply = exchange(gateway, moto, {"action": "events", "bus": BUS, "detail": detail})
    assert reply["failed"] == 0, reply
    event = json.loads(receive_one(moto, EVENT_QUEUE)["Body"])
    assert event["id"] == reply["eventId"]
    assert (event["source"], event["detail-type"], event["detail"]) == (SOURCE, "chat message", detail)


MISSING = {
    "sqs": ({"queue": "no-such-queue", "order": ORDER}, "com.amazonaws.sqs#QueueDoesNotExist"),
    "kinesis": ({"stream": "no-such-stream", "click": {}}, "ResourceNotFoundException"),
    "states": ({"machine": "no-such-machine", "name": "n", "order": ORDER}, "StateMachineDoesNotExist"),
    "events": ({"bus": "no-such-bus", "detail": {}}, "ResourceNotFoundException"),
}


@pytest.mark.parametrize("name", MISSING)
def test_a_missing_resource_is_mapped_by_the_4xx_integration_response(gateway, moto, name):
    message, error = MISSING[name]
    reply = exchange(gateway, moto, {"action": name, **message})
    assert reply["error"] == error, reply
    assert reply["message"], reply


SENT = {
    "sqs": {"queue": QUEUE, "order": ORDER},
    "kinesis": {"stream": STREAM, "click": {"x": 1}},
    "states": {"machine": MACHINE, "name": "forged", "order": ORDER},
    "events": {"bus": BUS, "detail": {"forged": True}},
}


@pytest.mark.parametrize("name", SENT)
def test_a_wrong_secret_is_refused_by_moto_and_mapped_by_the_403_response(gateway, moto, name):
    reply = exchange(gateway, moto, {"action": f"{name}-forged", **SENT[name]})
    assert reply["error"] == "Forbidden", reply
    assert "signature" in reply["body"].lower(), reply
    if name == "sqs":
        assert queue_depth(moto, QUEUE) == 0
    elif name == "events":
        assert queue_depth(moto, EVENT_QUEUE) == 0
