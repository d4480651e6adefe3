"""`@connections` where AWS serves it: on the WebSocket listener (`[management]
onServerListener`), with TLS and without, reached by boto3 at the endpoint a handler builds from
its event (`{proto}://{requestContext.domainName}/{requestContext.stage}`); the bounds and
authentication of the management listener; TLS on the management listener; and who may read
`/metrics` (`metricsAuth`)."""

from __future__ import annotations

import contextlib
import http.client
import ssl
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from websockets.sync.client import connect

import support

KEY = {"accessKeyId": "AKIDONLISTENER", "secretAccessKey": "on/listener+Secret0123456789EXAMPLEKEY"}


def config(backend, *, auth="none", tls: tuple[Path, Path] | None = None, management="",
           management_tls: tuple[Path, Path] | None = None) -> str:
    """support.api_config with TLS on either listener and more `[management]` keys."""
    text = support.api_config(backend, auth=auth, credentials=[KEY] if auth == "sigv4" else None)
    if tls:
        text = text.replace(
            '[management]\n',
            f'[server.tls]\ncertFile = "{tls[0]}"\nkeyFile = "{tls[1]}"\n[management]\n', 1,
        )
    extra = management + "\n"
    if management_tls:
        extra += f'[management.tls]\ncertFile = "{management_tls[0]}"\nkeyFile = "{management_tls[1]}"\n'
    return text.replace(f'auth = "{auth}"\n', f'auth = "{auth}"\n{extra}', 1)


def trust(monkeypatch, cert: Path) -> None:
    """boto3 trusts `cert` (AWS_CA_BUNDLE wins over REQUESTS_CA_BUNDLE; set both)."""
    monkeypatch.setenv("AWS_CA_BUNDLE", str(cert))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))


@pytest.fixture
def cert(tmp_path):
    return support.self_signed_cert(tmp_path)


def connect_client(gw, backend, stack, context=None):
    """(websocket, its $connect event)."""
    tag = uuid.uuid4().hex
    ws = stack.enter_context(connect(f"{gw.ws_url}?tag={tag}", ssl=context, open_timeout=support.WAIT))
    connection_id = backend.connection_id_for_tag(tag)
    event = next(
        e for e in backend.events
        if e["requestContext"]["eventType"] == "CONNECT"
        and e["requestContext"]["connectionId"] == connection_id
    )
    return ws, event


def endpoint_of(event, proto: str) -> str:
    """What handler code builds: `https://{domainName}/{stage}`."""
    ctx = event["requestContext"]
    return f"{proto}://{ctx['domainName']}/{ctx['stage']}"


def test_boto3_reaches_connections_on_the_tls_websocket_listener(
    start_gateway, backend, cert, monkeypatch
):
    gw = start_gateway(
        config(backend, auth="sigv4", tls=cert, management="onServerListener = true"),
        env=backend.gateway_env(),
    )
    port = gw.ws_url.split(":")[2].split("/")[0]
    context = ssl.create_default_context(cafile=str(cert[0]))
    trust(monkeypatch, cert[0])
    with contextlib.ExitStack() as stack:
        ws, event = connect_client(gw, backend, stack, context)
        ctx, headers = event["requestContext"], event["headers"]
        # A TLS deployment: Host (with the port) as domainName, https and the listener's port.
        assert ctx["domainName"] == f"127.0.0.1:{port}"
        assert (headers["X-Forwarded-Proto"], headers["X-Forwarded-Port"]) == ("https", port)
        endpoint = endpoint_of(event, "https")
        client = support.mgmt_client(
            endpoint, key=KEY["accessKeyId"], secret=KEY["secretAccessKey"]
        )
        connection_id = ctx["connectionId"]
        client.post_to_connection(ConnectionId=connection_id, Data=b"over the API's own endpoint")
        assert ws.recv(timeout=support.WAIT) == "over the API's own endpoint"
        described = client.get_connection(ConnectionId=connection_id)
        assert described["Identity"]["SourceIp"] == "127.0.0.1"
        # The management listener's bounds: the Data limit.
        with pytest.raises(ClientError) as too_big:
            client.post_to_connection(ConnectionId=connection_id, Data=b"x" * 131_073)
        assert support.error_code(too_big.value) == "PayloadTooLargeException"
        # The management listener's authentication: an unknown key, no signature.
        stranger = support.mgmt_client(endpoint, key="AKIDSTRANGER", secret="nope")
        with pytest.raises(ClientError) as refused:
            stranger.post_to_connection(ConnectionId=connection_id, Data=b"x")
        assert support.error_code(refused.value) == "UnrecognizedClientException"
        unsigned = http.client.HTTPSConnection("127.0.0.1", int(port), context=context)
        unsigned.request("POST", f"/dev/@connections/{connection_id}", body=b"x")
        assert unsigned.getresponse().status == 403
        unsigned.close()
        # The management listener answers the same calls.
        support.mgmt_client(
            gw.endpoint("dev"), key=KEY["accessKeyId"], secret=KEY["secretAccessKey"]
        ).post_to_connection(ConnectionId=connection_id, Data=b"and on the management port")
        assert ws.recv(timeout=support.WAIT) == "and on the management port"
        client.delete_connection(ConnectionId=connection_id)
        with pytest.raises(Exception):
            ws.recv(timeout=support.WAIT)
        with pytest.raises(ClientError) as gone:
            client.get_connection(ConnectionId=connection_id)
        assert support.error_code(gone.value) == "GoneException"


def test_boto3_reaches_connections_on_the_plain_websocket_listener(start_gateway, backend):
    gw = start_gateway(
        config(backend, management="onServerListener = true"), env=backend.gateway_env()
    )
    port = gw.ws_url.split(":")[2].split("/")[0]
    with contextlib.ExitStack() as stack:
        ws, event = connect_client(gw, backend, stack)
        assert event["headers"]["X-Forwarded-Proto"] == "http"
        assert event["requestContext"]["domainName"] == f"127.0.0.1:{port}"
        client = support.mgmt_client(endpoint_of(event, "http"))
        connection_id = event["requestContext"]["connectionId"]
        client.post_to_connection(ConnectionId=connection_id, Data=b"plain")
        assert ws.recv(timeout=support.WAIT) == "plain"
        # A WebSocket client still connects on the same listener.
        other, _ = connect_client(gw, backend, stack)
        client.post_to_connection(ConnectionId=connection_id, Data=b"still")
        assert ws.recv(timeout=support.WAIT) == "still"


def test_a_toml_configuration_serves_connections_on_its_listener_only_when_asked(
    start_gateway, backend
):
    gw = start_gateway(config(backend), env=backend.gateway_env())
    with contextlib.ExitStack() as stack:
        _, event = connect_client(gw, backend, stack)
        client = support.mgmt_client(endpoint_of(event, "http"))
        with pytest.raises(ClientError) as not_here:
            client.post_to_connection(
                ConnectionId=event["requestContext"]["connectionId"], Data=b"x"
            )
        assert support.http_status(not_here.value) == 404


def test_callers_on_the_websocket_listener_count_against_the_management_connection_cap(
    start_gateway, backend
):
    gw = start_gateway(
        config(backend, management="onServerListener = true\n[management.limits]\nmaxConnections = 1"),
        env=backend.gateway_env(),
    )
    port = int(gw.ws_url.split(":")[2].split("/")[0])
    path = "/dev/@connections/AAAAAAAAAAAAAAA%3D"

    def call(conn):
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status

    first = http.client.HTTPConnection("127.0.0.1", port, timeout=support.WAIT)
    assert call(first) == 410  # kept alive: its place is held
    second = http.client.HTTPConnection("127.0.0.1", port, timeout=support.WAIT)
    assert call(second) == 503
    second.close()
    first.close()
    # The place is given back when the first caller leaves (eventually: the server notices).
    status = None
    for _ in range(150):
        third = http.client.HTTPConnection("127.0.0.1", port, timeout=support.WAIT)
        status = call(third)
        third.close()
        if status == 410:
            break
        time.sleep(0.1)
    assert status == 410, "the place was not given back when the first caller left"


def test_boto3_reaches_a_management_listener_with_tls(start_gateway, backend, cert, monkeypatch,
                                                      compat_connect):
    gw = start_gateway(config(backend, management_tls=cert), env=backend.gateway_env())
    assert gw.mgmt_url.startswith("https://127.0.0.1:"), gw.mgmt_url
    trust(monkeypatch, cert[0])
    ws, connection_id = compat_connect(gw, backend)
    support.mgmt_client(gw.endpoint("dev")).post_to_connection(
        ConnectionId=connection_id, Data=b"through https"
    )
    assert ws.recv(timeout=support.WAIT) == "through https"
    context = ssl.create_default_context(cafile=str(cert[0]))
    with urllib.request.urlopen(f"{gw.mgmt_url}/health", context=context, timeout=support.WAIT) as r:
        assert r.status == 200
    plain = gw.mgmt_url.replace("https://", "http://")
    with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
        urllib.request.urlopen(f"{plain}/health", timeout=support.WAIT)


def metrics_status(gw, sign_with: dict | None = None) -> int:
    url = f"{gw.mgmt_url}/metrics"
    headers = {}
    if sign_with:
        request = AWSRequest(method="GET", url=url)
        key = Credentials(sign_with["accessKeyId"], sign_with["secretAccessKey"])
        SigV4Auth(key, "execute-api", "us-east-1").add_auth(request)
        headers = dict(request.headers)
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=support.WAIT) as response:
            assert b"switchboard_" in response.read()
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.mark.parametrize(
    ("auth", "management", "unsigned", "signed"),
    [
        ("sigv4", "", 403, 200),  # the default follows auth
        ("sigv4", 'metricsAuth = "none"', 200, 200),
        ("none", "", 200, None),
        ("none", 'metricsAuth = "sigv4"\n[[management.credentials]]\n'
                 f'accessKeyId = "{KEY["accessKeyId"]}"\nsecretAccessKey = "{KEY["secretAccessKey"]}"',
         403, 200),
    ],
)
def test_metrics_are_read_as_metrics_auth_says(start_gateway, backend, auth, management, unsigned,
                                                signed):
    gw = start_gateway(config(backend, auth=auth, management=management), env=backend.gateway_env())
    assert metrics_status(gw) == unsigned
    if signed is not None:
        assert metrics_status(gw, KEY) == signed
        wrong = {"accessKeyId": KEY["accessKeyId"], "secretAccessKey": "wrong"}
        assert metrics_status(gw, wrong) == unsigned
    with urllib.request.urlopen(f"{gw.mgmt_url}/health", timeout=support.WAIT) as health:
        assert health.status == 200
