"""Users and `$connect` joins beyond the REQUEST authorizer and Lambda proxy (docs/groups.md,
"Users" and "Joining from `$connect`"), black-box against the binary: a JWT authorizer's `sub`
and an IAM caller's ARN as the connection's user, reached through `@users/{user}`; an
`HTTP_PROXY` `$connect` backend that joins groups with `X-Switchboard-Groups`. Management
calls are signed with botocore's SigV4 (groups_support.Signed)."""

from __future__ import annotations

import base64
import contextlib
import json
import time
import uuid

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

import support
from groups_support import REGION, Signed, eventually, guarded_config, plain_config, q


def received(ws) -> str:
    return ws.recv(timeout=support.WAIT)


def got_nothing(api: Signed, ws, connection_id: str) -> None:
    """Nothing was sent to `ws` before now: the next message it receives is one posted to it
    alone now (a connection's messages arrive in the order they were queued)."""
    marker = f"marker {uuid.uuid4().hex}"
    assert api.call("POST", f"/@connections/{q(connection_id)}", marker).status == 200
    assert received(ws) == marker


class Clients:
    """WebSocket clients of one gateway whose `$connect` backend reports each connection's id
    (`id_for_tag`); the upgrade URL carries `?tag=` and may be rewritten (presigned)."""

    def __init__(self, gw, id_for_tag, sockets: contextlib.ExitStack):
        self.gw, self.id_for_tag, self.sockets = gw, id_for_tag, sockets
        self.api = Signed(gw.endpoint("dev"))

    def url(self, tag: str, query: str = "") -> str:
        return f"{self.gw.ws_url}?tag={tag}" + (f"&{query}" if query else "")

    def open(self, query: str = "", sign=lambda url: url, tag: str | None = None, **kw):
        """(websocket, connectionId)."""
        tag = tag or uuid.uuid4().hex
        ws = self.sockets.enter_context(ws_connect(
            sign(self.url(tag, query)), open_timeout=support.WAIT, close_timeout=support.WAIT, **kw,
        ))
        return ws, self.id_for_tag(tag)

    def refused(self, query: str = "", **kw) -> int:
        """The status a refused upgrade was answered with."""
        with pytest.raises(InvalidStatus) as refused:
            self.open(query, **kw)
        return refused.value.response.status_code


@contextlib.contextmanager
def clients(gw, id_for_tag):
    with contextlib.ExitStack() as sockets:
        yield Clients(gw, id_for_tag, sockets)


# --- a JWT authorizer: the user is the token's `sub` ------------------------------------------

ISSUER = "https://login.example.test/"
AUDIENCE = "feed"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenIssuer:
    """An ES256 key, its JWKS, and tokens it signs (compact JWS, built by hand)."""

    KID = "users-test-1"

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        public = self.key.public_key().public_numbers()
        self.jwks = {"keys": [{
            "kty": "EC", "crv": "P-256", "kid": self.KID, "alg": "ES256", "use": "sig",
            "x": b64url(public.x.to_bytes(32, "big")), "y": b64url(public.y.to_bytes(32, "big")),
        }]}

    def token(self, **claims) -> str:
        header = {"alg": "ES256", "typ": "JWT", "kid": self.KID}
        body = {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300, **claims}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(body).encode())}"
        r, s = decode_dss_signature(self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def bearer(self, **claims) -> dict:
        return {"additional_headers": {"Authorization": f"Bearer {self.token(**claims)}"}}


def jwt_config(backend, jwks_file) -> str:
    """A JWT authorizer on `$connect` (token in `Authorization: Bearer …`, the default identity
    source), its keys in `jwks_file`."""
    return guarded_config(backend, 'authorizationType = "JWT"\nauthorizerId = "idp"') + (
        "[apis.compat.authorizers.idp]\n"
        'authorizerType = "JWT"\n'
        f"jwtConfiguration = {{ issuer = {json.dumps(ISSUER)}, audience = [{json.dumps(AUDIENCE)}], "
        f"jwksFile = {json.dumps(str(jwks_file))} }}\n"
    )


def test_a_jwt_connection_is_its_subs_and_reached_listed_and_described_as_that_user(start_gateway, backend, tmp_path):
    issuer = TokenIssuer()
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(issuer.jwks))
    gw = start_gateway(jwt_config(backend, jwks), env=backend.gateway_env())
    with clients(gw, backend.connection_id_for_tag) as c:
        ann = "auth0|ann"  # `|` travels percent-encoded in the path (docs/groups.md)
        phone, phone_id = c.open(**issuer.bearer(sub=ann))
        laptop, laptop_id = c.open(**issuer.bearer(sub=ann))
        bob, bob_id = c.open(**issuer.bearer(sub="bob"))
        nobody, nobody_id = c.open(**issuer.bearer())  # a token without `sub`
        assert c.refused(**issuer.bearer(sub=ann, aud="someone-else")) == 401, "the JWT is checked"

        answer = c.api.user("POST", ann, '{"note":"for ann"}')
        assert answer.status == 200, answer
        assert answer.json["queued"] == 2 and answer.json["complete"] is True, answer
        assert received(phone) == '{"note":"for ann"}' and received(laptop) == '{"note":"for ann"}'
        got_nothing(c.api, bob, bob_id)
        got_nothing(c.api, nobody, nobody_id)

        listed = c.api.user("GET", ann)
        assert listed.status == 200, listed
        assert listed.json["count"] == 2
        assert sorted(e["connectionId"] for e in listed.json["connections"]) == sorted([phone_id, laptop_id])
        assert {e["user"] for e in listed.json["connections"]} == {ann}
        assert [e["connectionId"] for e in c.api.user("GET", "bob").json["connections"]] == [bob_id]

        assert c.api.get(phone_id).json["user"] == ann
        assert c.api.get(bob_id).json["user"] == "bob"
        described = c.api.get(nobody_id)
        assert described.status == 200 and "user" not in described.json, "no `sub`, no user"

        assert c.api.user("POST", "bob", "just bob").json["queued"] == 1
        assert received(bob) == "just bob"
        got_nothing(c.api, phone, phone_id)


# --- AWS_IAM: the user is the caller's ARN ----------------------------------------------------

ALICE = ("AKIDUSERSALICE", "alice/users/secret")
ALICE_ARN = "arn:aws:iam::123456789012:user/division/alice"
CAROL = ("AKIDUSERSCAROL", "carol/users/secret")  # a principal without a userArn


def iam_config(backend) -> str:
    allow = f'allow = ["arn:aws:execute-api:{REGION}:123456789012:compat/dev/$connect"]'
    return guarded_config(backend, 'authorizationType = "AWS_IAM"') + "\n".join([
        "[[iam.principals]]", f'accessKeyId = "{ALICE[0]}"', f'secretAccessKey = "{ALICE[1]}"', allow,
        f'userArn = "{ALICE_ARN}"',
        "[[iam.principals]]", f'accessKeyId = "{CAROL[0]}"', f'secretAccessKey = "{CAROL[1]}"', allow,
    ]) + "\n"


def signed_by(key):
    return lambda url: support.presigned(url, key, REGION)


def test_an_iam_connection_is_its_callers_arn_reached_listed_and_logged_out_by_it(start_gateway, backend):
    gw = start_gateway(iam_config(backend), env=backend.gateway_env())
    with clients(gw, backend.connection_id_for_tag) as c:
        assert c.refused() == 403, "the upgrade must be signed"
        phone, phone_id = c.open(sign=signed_by(ALICE))
        laptop, laptop_id = c.open(sign=signed_by(ALICE))
        carol, carol_id = c.open(sign=signed_by(CAROL))
        path = f"/@users/{q(ALICE_ARN)}"
        assert "%2F" in path and "%3A" in path

        answer = c.api.user("POST", ALICE_ARN, "for alice")
        assert answer.status == 200 and answer.json["queued"] == 2, answer
        assert received(phone) == "for alice" and received(laptop) == "for alice"
        got_nothing(c.api, carol, carol_id)

        listed = c.api.user("GET", ALICE_ARN)
        assert listed.status == 200 and listed.json["count"] == 2, listed
        assert sorted(e["connectionId"] for e in listed.json["connections"]) == sorted([phone_id, laptop_id])
        assert {e["user"] for e in listed.json["connections"]} == {ALICE_ARN}
        by_query = c.api.list(f"user={q(ALICE_ARN)}")
        assert by_query.status == 200 and by_query.json["count"] == 2, by_query
        assert c.api.get(phone_id).json["user"] == ALICE_ARN
        assert "user" not in c.api.get(carol_id).json, "a principal without a userArn has no user"

        out = c.api.user("DELETE", ALICE_ARN)
        assert out.status == 200 and out.json["disconnected"] == 2, out
        for ws in (phone, laptop):
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws.recv(timeout=support.WAIT)
            assert closed.value.rcvd.code == 1000
        assert c.api.get(phone_id).status == 410
        assert c.api.user("GET", ALICE_ARN).json["count"] == 0
        everyone = c.api.stage_broadcast("still here")
        assert everyone.json["queued"] == 1, everyone
        assert received(carol) == "still here"


# --- HTTP_PROXY `$connect`: groups from the backend's response header -------------------------


def joining_backend(request: dict):
    """`$connect` backend: one `X-Switchboard-Groups` header per `?join=` value (Latin-1 on the
    wire, as http.server writes headers)."""
    joins = request["query"].get("join", [])
    return 200, [("X-Switchboard-Groups", value) for value in joins], b""


@pytest.fixture
def http_connect(start_gateway):
    """A gateway whose `$connect` is an `HTTP_PROXY` to `joining_backend` (the connection id
    mapped into a header), and clients of it."""
    http = support.HttpBackend(joining_backend)
    gw = start_gateway(plain_config() + "\n".join([
        "[apis.compat.integrations.backend]", 'integrationType = "HTTP_PROXY"',
        f'integrationUri = "{http.url}/connect"',
        'requestParameters = { "integration.request.header.connectionId" = "context.connectionId" }',
        '[apis.compat.routes."$connect"]', 'target = "integrations/backend"',
    ]) + "\n")

    def id_for_tag(tag: str) -> str:
        return http.wait_for(lambda r: r["query"].get("tag") == [tag])["headers"]["connectionid"]

    try:
        with clients(gw, id_for_tag) as c:
            c.http = http
            yield c
    finally:
        http.close()


def test_an_http_proxy_connect_answer_joins_the_groups_it_names(http_connect):
    c = http_connect
    member, member_id = c.open("join=a,b")
    both, both_id = c.open("join=a&join=b")  # two headers, joined
    outsider, outsider_id = c.open()
    connect = c.http.wait_for(lambda r: r["headers"].get("connectionid") == member_id)
    assert connect["method"] == "POST" and connect["path"] == "/connect"

    assert c.api.get(member_id).json["groups"] == ["a", "b"]
    assert c.api.get(both_id).json["groups"] == ["a", "b"]
    assert "groups" not in c.api.get(outsider_id).json

    for group in ("a", "b"):
        answer = c.api.broadcast(group, f"to {group}")
        assert answer.status == 200 and answer.json["queued"] == 2, answer
        assert received(member) == f"to {group}" and received(both) == f"to {group}"
    got_nothing(c.api, outsider, outsider_id)
    listed = c.api.group("a")
    assert sorted(e["connectionId"] for e in listed.json["connections"]) == sorted([member_id, both_id])


@pytest.mark.parametrize("join", ["ok,bad%20name", "caf%C3%A9", "ok&join=x%2Fy"],
                         ids=["space", "non-ascii", "second-header"])
def test_an_http_proxy_connect_answer_naming_a_bad_group_refuses_the_connection(http_connect, join):
    c = http_connect
    _, member_id = c.open("join=ok")
    tag = uuid.uuid4().hex
    assert c.refused(f"join={join}", tag=tag) == 502
    # The backend was asked and answered 200: the refusal is the gateway's reading of the header.
    refused_id = c.id_for_tag(tag)
    assert c.api.get(refused_id).status == 410, "the refused connection does not exist"
    # The log says why, as the backend's failure, and never that the connection was made.
    line = eventually(lambda: next((l for l in c.gw.stderr().splitlines() if f"connection_id={refused_id}" in l), None),
                      what="a log line about the refused connection")
    assert "integration failed: the backend" in line and "x-switchboard-groups" in line, line
    assert f"connected connection_id={refused_id}" not in c.gw.stderr()
    ok = c.api.group("ok").json
    assert ok["count"] == 1 and [e["connectionId"] for e in ok["connections"]] == [member_id], ok
    assert c.api.list().json["count"] == 1
