"""Helpers for the groups extension suites (docs/groups.md): management calls signed with
botocore's SigV4 (never our own signer), and a backend that joins groups from `$connect`
and names users through a REQUEST authorizer."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from urllib.parse import quote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import support

REGION = "eu-west-1"
KEY = {"accessKeyId": "AKIDGROUPSTEST", "secretAccessKey": "groups/Secret+Key/0123456789abcdefEXAMPLE"}


class Answer:
    """A management answer: status, headers, JSON body (None when empty)."""

    def __init__(self, status: int, headers, body: bytes):
        self.status = status
        self.headers = headers
        self.raw = body
        self.json = json.loads(body) if body else None

    def __repr__(self) -> str:
        return f"Answer({self.status}, {self.raw[:300]!r})"


class Signed:
    """Management calls on one stage, signed with botocore's SigV4 (service execute-api)."""

    def __init__(self, endpoint: str, cred: dict = KEY, region: str = REGION):
        self.endpoint = endpoint
        self.credentials = Credentials(cred["accessKeyId"], cred["secretAccessKey"])
        self.region = region

    def call(self, method: str, path: str, body: bytes | str | None = None, sign: bool = True) -> Answer:
        if isinstance(body, str):
            body = body.encode()
        url = self.endpoint + path
        request = AWSRequest(method=method, url=url, data=body or b"")
        if sign:
            SigV4Auth(self.credentials, "execute-api", self.region).add_auth(request)
        prepared = request.prepare()
        http = urllib.request.Request(url, data=body if body else None, method=method,
                                      headers=dict(prepared.headers.items()))
        try:
            with urllib.request.urlopen(http, timeout=support.WAIT) as r:
                return Answer(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            return Answer(e.code, e.headers, e.read())

    # --- the extension operations ----------------------------------------------------------

    def join(self, connection_id: str, group: str) -> Answer:
        return self.call("PUT", f"/@connections/{q(connection_id)}/groups/{q(group)}")

    def leave(self, connection_id: str, group: str) -> Answer:
        return self.call("DELETE", f"/@connections/{q(connection_id)}/groups/{q(group)}")

    def broadcast(self, group: str, body, exclude: list[str] = ()) -> Answer:
        query = "&".join(f"exclude={q(e)}" for e in exclude)
        return self.call("POST", f"/@groups/{q(group)}" + (f"?{query}" if query else ""), body)

    def group(self, group: str, query: str = "") -> Answer:
        return self.call("GET", f"/@groups/{q(group)}" + (f"?{query}" if query else ""))

    def stage_broadcast(self, body) -> Answer:
        return self.call("POST", "/@connections", body)

    def list(self, query: str = "") -> Answer:
        return self.call("GET", "/@connections" + (f"?{query}" if query else ""))

    def user(self, method: str, principal: str, body=None) -> Answer:
        return self.call(method, f"/@users/{q(principal)}", body)

    def get(self, connection_id: str) -> Answer:
        return self.call("GET", f"/@connections/{q(connection_id)}")


def q(text: str) -> str:
    return quote(text, safe="")


def every_page(api: Signed, query: str, limit: int) -> list[dict]:
    """Every connection of a listing, page by page."""
    out, token = [], None
    for _ in range(10_000):
        params = f"{query}&limit={limit}" if query else f"limit={limit}"
        if token:
            params += f"&nextToken={q(token)}"
        page = api.list(params)
        assert page.status == 200, page
        assert len(page.json["connections"]) <= limit
        out += page.json["connections"]
        token = page.json.get("nextToken")
        if not token:
            return out
    raise AssertionError("paging never ended")


def eventually(check, timeout: float = support.WAIT, what: str = "condition"):
    """Polls `check` until it returns a truthy value; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s (last: {value!r})")
        time.sleep(0.05)


def handler(event: dict):
    """The backend: a REQUEST authorizer naming the user from `?user=`, and a `$connect` that
    joins the groups of `?join=` and refuses `?refuse=1`."""
    if event.get("type") == "REQUEST":
        user = (event.get("queryStringParameters") or {}).get("user", "anonymous")
        return {
            "principalId": user,
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}],
            },
        }
    context = event.get("requestContext", {})
    if context.get("eventType") == "CONNECT":
        query = event.get("queryStringParameters") or {}
        if query.get("refuse"):
            return {"statusCode": 403}
        if query.get("join"):
            return {"statusCode": 200, "headers": {"X-Switchboard-Groups": query["join"]}}
    return {"statusCode": 200}


CONNECT_ROUTE = '[apis.compat.routes."$connect"]\ntarget = "integrations/lambda"\n'


def guarded_config(backend, authorization: str, *, server_limits: str = "") -> str:
    """`support.api_config` (API `compat`, stage `dev`) with SigV4 management and
    `authorization` (TOML lines such as `authorizationType = "AWS_IAM"`) on its `$connect`."""
    text = support.api_config(backend, auth="sigv4", credentials=[KEY], region=REGION,
                              server_limits=server_limits)
    assert CONNECT_ROUTE in text, "support.api_config changed its $connect route"
    return text.replace(CONNECT_ROUTE, CONNECT_ROUTE + authorization.rstrip("\n") + "\n")


def config(backend, *, server_limits: str = "", stage_settings: str = "") -> str:
    """`support.api_config` with SigV4 management and a REQUEST authorizer on `$connect`
    (identity: `?user=`)."""
    text = guarded_config(backend, 'authorizationType = "CUSTOM"\nauthorizerId = "gate"',
                          server_limits=server_limits)
    if stage_settings:
        text = text.replace("[apis.compat.stages.dev]\n", f"[apis.compat.stages.dev]\n{stage_settings}\n")
    text += (
        "[apis.compat.authorizers.gate]\n"
        'authorizerType = "REQUEST"\n'
        f'authorizerUri = "{backend.function_arn()}"\n'
        'identitySource = ["route.request.querystring.user"]\n'
    )
    return text


def plain_config() -> str:
    """A gateway without `$connect` (connections are accepted at once) and SigV4 management."""
    return "\n".join([
        "[server]", 'listen = "127.0.0.1:0"',
        "[management]", 'listen = "127.0.0.1:0"', 'auth = "sigv4"',
        "[[management.credentials]]",
        f'accessKeyId = "{KEY["accessKeyId"]}"', f'secretAccessKey = "{KEY["secretAccessKey"]}"',
        "[aws]", f'region = "{REGION}"',
        "[apis.compat]", 'routeSelectionExpression = "$request.body.action"',
        "[apis.compat.stages.dev]",
        "[apis.compat.integrations.mock]", 'integrationType = "MOCK"',
        '[apis.compat.routes."$default"]', 'target = "integrations/mock"',
    ]) + "\n"
