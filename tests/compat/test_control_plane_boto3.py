"""The apigatewayv2 control plane through boto3's `apigatewayv2` client: APIs made, changed,
deployed and deleted over the API, then used by a real WebSocket client, as on AWS
(docs/control-plane.md)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

import support

KEY, SECRET = "AKIDCONTROLPLANE", "control-plane-secret"
REGION = "us-east-1"


def control_config(backend, data_dir: Path, rate: str = "") -> str:
    lines = [
        "[server]",
        'listen = "127.0.0.1:0"',
        "[management]",
        'listen = "127.0.0.1:0"',
        "[aws.endpoints]",
        f'lambda = "{backend.url}"',
        "[controlPlane]",
        "enabled = true",
        f'dataDir = "{data_dir}"',
    ]
    if rate:
        lines.append(f"rateLimit = {rate}")
    lines += ["[[controlPlane.credentials]]", f'accessKeyId = "{KEY}"', f'secretAccessKey = "{SECRET}"']
    return "\n".join(lines) + "\n"


def v2(gw, key: str = KEY, secret: str = SECRET):
    """A boto3 apigatewayv2 client on the gateway's management listener, one HTTP request per call."""
    return boto3.session.Session().client(
        "apigatewayv2",
        endpoint_url=gw.mgmt_url,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


def eventually(check, timeout: float = support.WAIT):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture
def plane(start_gateway, backend, tmp_path):
    data = tmp_path / "data"
    backend.handler = gatekeeper(lambda event: None)

    def start(rate: str = ""):
        gw = start_gateway(control_config(backend, data, rate), env=backend.gateway_env())
        return gw, v2(gw)

    start.data = data
    return start


def build_api(client, backend, mock_reply: str = '{"mock": 1}'):
    """An API with MOCK, HTTP_PROXY and AWS_PROXY routes, a route response, an integration
    response, an authorizer, a model and a stage `dev`; returns (api, ids)."""
    api = client.create_api(
        Name="chat", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action",
        Tags={"team": "realtime"},
    )
    api_id = api["ApiId"]
    mock = client.create_integration(
        ApiId=api_id, IntegrationType="MOCK",
        RequestTemplates={"$default": '{"statusCode": 200}'}, TemplateSelectionExpression="\\$default",
    )["IntegrationId"]
    client.create_integration_response(
        ApiId=api_id, IntegrationId=mock, IntegrationResponseKey="$default",
        ResponseTemplates={"$default": mock_reply}, TemplateSelectionExpression="\\$default",
    )
    http = client.create_integration(
        ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationMethod="POST",
        IntegrationUri=f"{backend.url}/http",
    )["IntegrationId"]
    lam = client.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=backend.function_arn(),
    )["IntegrationId"]
    authorizer = client.create_authorizer(
        ApiId=api_id, Name="tokens", AuthorizerType="REQUEST",
        AuthorizerUri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{backend.function_arn()}/invocations",
        IdentitySource=["route.request.querystring.token"],
    )["AuthorizerId"]
    client.create_model(ApiId=api_id, Name="Message", ContentType="application/json",
                        Schema='{"type": "object"}')
    mock_route = client.create_route(
        ApiId=api_id, RouteKey="mock", Target=f"integrations/{mock}",
        RouteResponseSelectionExpression="$default",
    )["RouteId"]
    client.create_route_response(ApiId=api_id, RouteId=mock_route, RouteResponseKey="$default")
    client.create_route(ApiId=api_id, RouteKey="http", Target=f"integrations/{http}",
                        RouteResponseSelectionExpression="$default")
    client.create_route(ApiId=api_id, RouteKey="$default", Target=f"integrations/{lam}")
    client.create_route(ApiId=api_id, RouteKey="$connect", Target=f"integrations/{lam}",
                        AuthorizationType="CUSTOM", AuthorizerId=authorizer)
    client.create_stage(ApiId=api_id, StageName="dev")
    return api, {"mock": mock, "http": http, "lambda": lam, "mock_route": mock_route}


def gatekeeper(reply):
    """A Lambda handler: the REQUEST authorizer lets `?token=good` in; routes get `reply`."""

    def handle(event):
        if event.get("type") == "REQUEST":
            good = (event.get("queryStringParameters") or {}).get("token") == "good"
            return {
                "principalId": "user",
                "policyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Action": "execute-api:Invoke", "Effect": "Allow" if good else "Deny",
                    "Resource": event["methodArn"],
                }]},
            }
        return reply(event)

    return handle


def test_an_api_made_with_boto3_serves_websocket_clients_after_its_deployment(plane, backend):
    gw, client = plane()
    backend.handler = gatekeeper(lambda event: {"statusCode": 200, "body": json.dumps({"via": event.get("_via", "lambda")})})
    api, ids = build_api(client, backend)
    api_id = api["ApiId"]
    assert len(api_id) == 10 and all(c.islower() or c.isdigit() for c in api_id), api_id
    assert api["ApiEndpoint"].startswith("ws://127.0.0.1:") and api["ApiEndpoint"].endswith(f"/{api_id}")
    url = f"{api['ApiEndpoint']}/dev?token=good"
    # Nothing is served before a deployment, as on AWS.
    with pytest.raises(Exception):
        ws_connect(url, open_timeout=5).close()
    deployment = client.create_deployment(ApiId=api_id, StageName="dev", Description="first")
    assert deployment["DeploymentStatus"] == "DEPLOYED"
    assert client.get_stage(ApiId=api_id, StageName="dev")["DeploymentId"] == deployment["DeploymentId"]
    # The authorizer made over the API guards $connect.
    with pytest.raises(Exception) as refused:
        ws_connect(url.replace("good", "bad"), open_timeout=10).close()
    assert "403" in str(refused.value), refused.value
    with ws_connect(url, open_timeout=10) as ws:
        ws.send(json.dumps({"action": "mock"}))
        assert json.loads(ws.recv(timeout=support.WAIT)) == {"mock": 1}
        ws.send(json.dumps({"action": "http", "n": 1}))
        assert json.loads(ws.recv(timeout=support.WAIT)) == {"statusCode": 200, "body": '{"via": "url"}'}
        ws.send(json.dumps({"action": "other"}))
        backend.wait_for(lambda e: e.get("requestContext", {}).get("routeKey") == "$default")
    got = client.get_api(ApiId=api_id)
    assert got["Name"] == "chat" and got["Tags"] == {"team": "realtime"}
    assert got["ApiKeySelectionExpression"] == "$request.header.x-api-key"
    assert {r["RouteKey"] for r in client.get_routes(ApiId=api_id)["Items"]} == {"mock", "http", "$default", "$connect"}
    assert client.get_route_responses(ApiId=api_id, RouteId=ids["mock_route"])["Items"][0]["RouteResponseKey"] == "$default"
    assert [a["Name"] for a in client.get_authorizers(ApiId=api_id)["Items"]] == ["tokens"]
    assert [m["Name"] for m in client.get_models(ApiId=api_id)["Items"]] == ["Message"]
    integration = client.get_integration(ApiId=api_id, IntegrationId=ids["lambda"])
    assert integration["IntegrationType"] == "AWS_PROXY" and integration["TimeoutInMillis"] == 29000


def test_an_update_is_served_after_redeploying_while_a_client_stays_connected(plane, backend):
    gw, client = plane()
    api, ids = build_api(client, backend, mock_reply='{"version": 1}')
    api_id = api["ApiId"]
    client.create_deployment(ApiId=api_id, StageName="dev")
    with ws_connect(f"{api['ApiEndpoint']}/dev?token=good", open_timeout=10) as ws:
        ws.send(json.dumps({"action": "mock"}))
        assert json.loads(ws.recv(timeout=support.WAIT)) == {"version": 1}
        response_id = client.get_integration_responses(ApiId=api_id, IntegrationId=ids["mock"])["Items"][0]["IntegrationResponseId"]
        client.update_integration_response(
            ApiId=api_id, IntegrationId=ids["mock"], IntegrationResponseId=response_id,
            ResponseTemplates={"$default": '{"version": 2}'},
        )
        # Not deployed yet: the stage still serves its deployment.
        ws.send(json.dumps({"action": "mock"}))
        assert json.loads(ws.recv(timeout=support.WAIT)) == {"version": 1}
        client.create_deployment(ApiId=api_id, StageName="dev")
        ws.send(json.dumps({"action": "mock"}))
        assert json.loads(ws.recv(timeout=support.WAIT)) == {"version": 2}, "the same connection sees the new deployment"
        # An integration itself changed (the HTTP_PROXY backend's path), then redeployed.
        ws.send(json.dumps({"action": "http"}))
        ws.recv(timeout=support.WAIT)
        assert backend.events[-1]["_path"] == "/http"
        client.update_integration(ApiId=api_id, IntegrationId=ids["http"], IntegrationUri=f"{backend.url}/moved")
        client.create_deployment(ApiId=api_id, StageName="dev")
        ws.send(json.dumps({"action": "http"}))
        ws.recv(timeout=support.WAIT)
        assert backend.events[-1]["_path"] == "/moved"
        assert len(client.get_deployments(ApiId=api_id)["Items"]) == 3


def test_each_stage_serves_its_own_deployment_while_its_clients_stay_connected(plane, backend):
    gw, client = plane()
    api, ids = build_api(client, backend, mock_reply='{"version": 1}')
    api_id = api["ApiId"]
    client.create_stage(ApiId=api_id, StageName="prod")
    first = client.create_deployment(ApiId=api_id, StageName="dev")["DeploymentId"]
    client.update_stage(ApiId=api_id, StageName="prod", DeploymentId=first)
    with ws_connect(f"{api['ApiEndpoint']}/dev?token=good", open_timeout=10) as dev, \
            ws_connect(f"{api['ApiEndpoint']}/prod?token=good", open_timeout=10) as prod:
        assert json.loads(ask_mock(dev)) == {"version": 1}
        assert json.loads(ask_mock(prod)) == {"version": 1}
        response_id = client.get_integration_responses(ApiId=api_id, IntegrationId=ids["mock"])["Items"][0]["IntegrationResponseId"]
        client.update_integration_response(
            ApiId=api_id, IntegrationId=ids["mock"], IntegrationResponseId=response_id,
            ResponseTemplates={"$default": '{"version": 2}'},
        )
        second = client.create_deployment(ApiId=api_id, StageName="prod")["DeploymentId"]
        assert client.get_stage(ApiId=api_id, StageName="dev")["DeploymentId"] == first
        assert client.get_stage(ApiId=api_id, StageName="prod")["DeploymentId"] == second
        assert json.loads(ask_mock(prod)) == {"version": 2}, "prod serves its new deployment"
        assert json.loads(ask_mock(dev)) == {"version": 1}, "dev still serves the deployment it points at"
        with ws_connect(f"{api['ApiEndpoint']}/dev?token=good", open_timeout=10) as late:
            assert json.loads(ask_mock(late)) == {"version": 1}, "a new client on dev too"
        # Deployed to dev as well: both stages serve the new answer, to the same clients.
        client.create_deployment(ApiId=api_id, StageName="dev")
        assert json.loads(ask_mock(dev)) == {"version": 2}
        assert json.loads(ask_mock(prod)) == {"version": 2}
        # And back: a stage pointed at its old deployment serves it again.
        client.update_stage(ApiId=api_id, StageName="dev", DeploymentId=first)
        assert json.loads(ask_mock(dev)) == {"version": 1}
        assert json.loads(ask_mock(prod)) == {"version": 2}


def test_auto_deploy_serves_each_change_at_once(plane, backend):
    gw, client = plane()
    api, ids = build_api(client, backend)
    api_id = api["ApiId"]
    client.update_stage(ApiId=api_id, StageName="dev", AutoDeploy=True)
    stage = client.get_stage(ApiId=api_id, StageName="dev")
    assert stage["AutoDeploy"] is True and stage["DeploymentId"]
    with ws_connect(f"{api['ApiEndpoint']}/dev?token=good", open_timeout=10) as ws:
        client.create_route(ApiId=api_id, RouteKey="late", Target=f"integrations/{ids['mock']}",
                            RouteResponseSelectionExpression="$default")
        ws.send(json.dumps({"action": "late"}))
        assert json.loads(ws.recv(timeout=support.WAIT)) == {"mock": 1}
    deployments = client.get_deployments(ApiId=api_id)["Items"]
    assert any(d["AutoDeployed"] for d in deployments)


def test_deleting_closes_what_it_served_and_answers_404_then_410(plane, backend):
    gw, client = plane()
    api, ids = build_api(client, backend)
    api_id = api["ApiId"]
    client.create_deployment(ApiId=api_id, StageName="dev")
    url = f"{api['ApiEndpoint']}/dev?token=good"
    with ws_connect(url, open_timeout=10) as ws:
        # The connection id, from the event of the Lambda $default route.
        ws.send(json.dumps({"action": "who"}))
        event = backend.wait_for(lambda e: e.get("requestContext", {}).get("routeKey") == "$default")
        connection_id = event["requestContext"]["connectionId"]
        client.delete_stage(ApiId=api_id, StageName="dev")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=support.WAIT)
        assert closed.value.rcvd.code == 1001
    with pytest.raises(client.exceptions.NotFoundException) as e:
        client.get_stage(ApiId=api_id, StageName="dev")
    assert support.http_status(e.value) == 404
    # The stage made again: the connection it had is gone (410), as on AWS.
    client.create_stage(ApiId=api_id, StageName="dev")
    client.create_deployment(ApiId=api_id, StageName="dev")
    mgmt = support.mgmt_client(f"{gw.mgmt_url}/{api_id}/dev")
    with pytest.raises(mgmt.exceptions.GoneException) as e:
        mgmt.post_to_connection(ConnectionId=connection_id, Data=b"x")
    assert support.http_status(e.value) == 410
    client.delete_api(ApiId=api_id)
    with pytest.raises(client.exceptions.NotFoundException) as e:
        client.get_api(ApiId=api_id)
    assert e.value.response["Error"]["Code"] == "NotFoundException"
    assert e.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "NotFoundException"
    with pytest.raises(Exception):
        ws_connect(url, open_timeout=5).close()


def test_typed_exceptions_for_missing_conflicting_and_invalid_resources(plane, backend):
    gw, client = plane()
    api, ids = build_api(client, backend)
    api_id = api["ApiId"]
    with pytest.raises(client.exceptions.NotFoundException):
        client.get_api(ApiId="nosuchapi0")
    with pytest.raises(client.exceptions.NotFoundException):
        client.get_route(ApiId=api_id, RouteId="nosuch1")
    with pytest.raises(client.exceptions.ConflictException) as e:
        client.create_route(ApiId=api_id, RouteKey="mock", Target=f"integrations/{ids['mock']}")
    assert support.http_status(e.value) == 409
    with pytest.raises(client.exceptions.ConflictException):
        client.create_stage(ApiId=api_id, StageName="dev")
    with pytest.raises(client.exceptions.ConflictException):
        client.delete_integration(ApiId=api_id, IntegrationId=ids["mock"])
    with pytest.raises(client.exceptions.BadRequestException) as e:
        client.create_api(Name="h", ProtocolType="HTTP", RouteSelectionExpression="$request.method $request.path")
    assert support.http_status(e.value) == 400
    with pytest.raises(client.exceptions.BadRequestException) as e:
        client.create_integration(ApiId=api_id, IntegrationType="MOCK", PassthroughBehavior="SOMETIMES")
    assert "passthroughBehavior" in str(e.value) or "SOMETIMES" in str(e.value), e.value
    # A deployment is checked like a file: a route whose target names no integration.
    client.create_route(ApiId=api_id, RouteKey="broken", Target="integrations/nowhere")
    with pytest.raises(client.exceptions.BadRequestException) as e:
        client.create_deployment(ApiId=api_id, StageName="dev")
    assert "broken" in str(e.value), e.value
    # Another key: refused before anything is read.
    with pytest.raises(ClientError) as e:
        v2(gw, key="AKIDSTRANGER").get_apis()
    assert support.http_status(e.value) == 403
    with pytest.raises(ClientError) as e:
        v2(gw, secret="wrong").get_apis()
    assert support.error_code(e.value) == "InvalidSignatureException"


def test_too_many_requests(plane, backend):
    gw, client = plane(rate="{ rate = 0.5, burst = 3 }")
    with pytest.raises(client.exceptions.TooManyRequestsException) as e:
        for _ in range(10):
            client.get_apis()
    assert support.http_status(e.value) == 429


def test_lists_page_with_next_token_and_max_results(plane, backend):
    gw, client = plane()
    api, ids = build_api(client, backend)
    api_id = api["ApiId"]
    for n in range(7):
        client.create_route(ApiId=api_id, RouteKey=f"r{n}", Target=f"integrations/{ids['mock']}")
    keys, token, pages = [], None, 0
    while True:
        page = client.get_routes(ApiId=api_id, MaxResults="4", **({"NextToken": token} if token else {}))
        assert len(page["Items"]) <= 4
        keys += [r["RouteKey"] for r in page["Items"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 3 and len(keys) == len(set(keys)) == 11
    with pytest.raises(client.exceptions.BadRequestException):
        client.get_routes(ApiId=api_id, NextToken="garbage")


def test_tags(plane, backend):
    gw, client = plane()
    api, _ = build_api(client, backend)
    arn = f"arn:aws:apigateway:{REGION}::/apis/{api['ApiId']}"
    client.tag_resource(ResourceArn=arn, Tags={"env": "test"})
    assert client.get_tags(ResourceArn=arn)["Tags"] == {"team": "realtime", "env": "test"}
    client.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert client.get_tags(ResourceArn=arn)["Tags"] == {"env": "test"}
    stage_arn = f"{arn}/stages/dev"
    client.tag_resource(ResourceArn=stage_arn, Tags={"tier": "gold"})
    assert client.get_stage(ApiId=api["ApiId"], StageName="dev")["Tags"] == {"tier": "gold"}
    with pytest.raises(client.exceptions.BadRequestException):
        client.tag_resource(ResourceArn=arn, Tags={f"k{n}": "v" for n in range(51)})


def test_every_change_is_logged_with_the_callers_key(plane, backend):
    gw, client = plane()
    api_id = client.create_api(Name="audit", ProtocolType="WEBSOCKET",
                               RouteSelectionExpression="$request.body.action")["ApiId"]
    with pytest.raises(client.exceptions.ConflictException):
        client.create_stage(ApiId=api_id, StageName="dev")
        client.create_stage(ApiId=api_id, StageName="dev")

    def logged():
        lines = [l for l in gw.stderr().splitlines() if "control plane change" in l]
        assert any(f"caller={KEY}" in l and "operation=CreateApi" in l and "status=201" in l for l in lines), lines
        assert any("operation=CreateStage" in l and "status=409" in l for l in lines), lines

    eventually(logged)


def test_a_restart_keeps_the_configuration_and_export_prints_it(plane, backend, tmp_path):
    gw, client = plane()
    api, ids = build_api(client, backend, mock_reply='{"kept": true}')
    api_id = api["ApiId"]
    client.create_deployment(ApiId=api_id, StageName="dev")
    assert gw.stop() == 0
    assert (plane.data / "control-plane.json").is_file()
    gw2, client2 = plane()
    assert [a["ApiId"] for a in client2.get_apis()["Items"]] == [api_id]
    endpoint = client2.get_api(ApiId=api_id)["ApiEndpoint"]
    with ws_connect(f"{endpoint}/dev?token=good", open_timeout=10) as ws:
        ws.send(json.dumps({"action": "mock"}))
        assert json.loads(ws.recv(timeout=support.WAIT)) == {"kept": True}
    config = next(gw2.cwd.glob("switchboard.toml"))
    exported = subprocess.run(
        [str(support.switchboard_bin()), "export", "--config", str(config)],
        capture_output=True, text=True, timeout=30,
    )
    assert exported.returncode == 0, exported.stderr
    assert f"[apis.{api_id}]" in exported.stdout
    assert f'[apis.{api_id}.routes.mock]' in exported.stdout
    # What export prints is a configuration file that serves the same API.
    copy = tmp_path / "exported.toml"
    copy.write_text(exported.stdout.replace("enabled = true", "enabled = false"))
    checked = subprocess.run([str(support.switchboard_bin()), "validate", str(copy)],
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_listener_of_its_own_serves_only_the_control_plane(start_gateway, backend, tmp_path):
    port = support.reserve_port()
    config = control_config(backend, tmp_path / "data").replace(
        "enabled = true\n", f'enabled = true\nlisten = "127.0.0.1:{port}"\n'
    )
    gw = start_gateway(config, env=backend.gateway_env())
    own = boto3.session.Session().client(
        "apigatewayv2", endpoint_url=f"http://127.0.0.1:{port}", region_name=REGION,
        aws_access_key_id=KEY, aws_secret_access_key=SECRET,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    assert own.create_api(Name="x", ProtocolType="WEBSOCKET",
                          RouteSelectionExpression="$request.body.action")["ApiId"]
    assert len(own.get_apis()["Items"]) == 1
    # The management listener no longer answers /v2, and the control listener nothing else.
    with pytest.raises(ClientError) as e:
        v2(gw).get_apis()
    assert support.http_status(e.value) == 403
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5)
    assert e.value.code == 403, "an unsigned call, even to /health, is refused there"


def test_sighup_reloads_the_file_and_keeps_the_control_planes_apis(plane, backend):
    gw, client = plane()
    api, _ = build_api(client, backend, mock_reply='{"still": "here"}')
    client.create_deployment(ApiId=api["ApiId"], StageName="dev")
    with ws_connect(f"{api['ApiEndpoint']}/dev?token=good", open_timeout=10) as ws:
        assert json.loads(ask_mock(ws)) == {"still": "here"}
        gw.proc.send_signal(signal.SIGHUP)
        eventually(lambda: _assert_in("reloaded file=", gw.stderr()))
        assert json.loads(ask_mock(ws)) == {"still": "here"}, "the same connection, the same API"
    with ws_connect(f"{api['ApiEndpoint']}/dev?token=good", open_timeout=10) as ws:
        assert json.loads(ask_mock(ws)) == {"still": "here"}


def ask_mock(ws) -> str:
    ws.send(json.dumps({"action": "mock"}))
    return ws.recv(timeout=support.WAIT)


def _assert_in(text: str, haystack: str) -> None:
    assert text in haystack, haystack[-2000:]


def test_api_endpoint_of_a_listener_on_every_address_names_the_callers_host(start_gateway, backend, tmp_path):
    config = control_config(backend, tmp_path / "data").replace(
        '[server]\nlisten = "127.0.0.1:0"', '[server]\nlisten = "0.0.0.0:0"'
    )
    gw = start_gateway(config, env=backend.gateway_env())
    endpoint = v2(gw).create_api(Name="any", ProtocolType="WEBSOCKET",
                                 RouteSelectionExpression="$request.body.action")["ApiEndpoint"]
    assert endpoint.startswith("ws://127.0.0.1:") and "0.0.0.0" not in endpoint, endpoint
