"""Pushes during `$connect` (docs/groups.md): with `pushesDuringConnect = true` a backend may
greet a client from inside its `$connect` — the pushes are accepted and delivered right after
the 101, in order, and dropped if `$connect` refuses. Off (the default), AWS's 410 stands."""

from __future__ import annotations

import uuid

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

import support
from groups_support import Signed, config, handler


def greeting_backend(statuses: list[int], where: dict):
    """`$connect` posts `?greet=N` messages to the connection before answering (403 with
    `?refuse=1`); each post's status is recorded."""

    def on_event(event: dict):
        context = event.get("requestContext", {})
        query = event.get("queryStringParameters") or {}
        if event.get("type") != "REQUEST" and context.get("eventType") == "CONNECT" and query.get("greet"):
            api = Signed(where["endpoint"])
            for n in range(int(query["greet"])):
                statuses.append(api.call("POST", f"/@connections/{context['connectionId']}", f"early {n}").status)
        return handler(event)

    return on_event


def start(start_gateway, on: bool):
    statuses: list[int] = []
    where: dict = {}
    backend = support.LambdaBackend(greeting_backend(statuses, where))
    settings = "pushesDuringConnect = true" if on else ""
    gw = start_gateway(config(backend, stage_settings=settings), env=backend.gateway_env())
    where["endpoint"] = gw.endpoint("dev")
    return gw, backend, statuses


def test_pushes_made_during_connect_arrive_after_the_101_in_order(start_gateway):
    gw, backend, statuses = start(start_gateway, on=True)
    try:
        tag = uuid.uuid4().hex
        with ws_connect(f"{gw.ws_url}?tag={tag}&user=u&greet=5", open_timeout=support.WAIT) as ws:
            cid = backend.connection_id_for_tag(tag)
            assert statuses == [200] * 5
            Signed(gw.endpoint("dev")).call("POST", f"/@connections/{cid}", "after")
            got = [ws.recv(timeout=support.WAIT) for _ in range(6)]
            assert got == [f"early {n}" for n in range(5)] + ["after"]
    finally:
        backend.close()


def test_pushes_made_during_a_refused_connect_are_dropped(start_gateway):
    gw, backend, statuses = start(start_gateway, on=True)
    try:
        with pytest.raises(InvalidStatus) as refused:
            ws_connect(f"{gw.ws_url}?tag=x&user=u&greet=2&refuse=1", open_timeout=support.WAIT)
        assert refused.value.response.status_code == 403
        assert statuses == [200, 200], "accepted while $connect ran"
        # Nothing of it survives: the id is gone.
        cid = backend.wait_for(lambda e: e.get("requestContext", {}).get("eventType") == "CONNECT")[
            "requestContext"]["connectionId"]
        assert Signed(gw.endpoint("dev")).call("POST", f"/@connections/{cid}", "late").status == 410
    finally:
        backend.close()


def test_off_by_default_a_push_during_connect_is_410_as_on_aws(start_gateway):
    gw, backend, statuses = start(start_gateway, on=False)
    try:
        tag = uuid.uuid4().hex
        with ws_connect(f"{gw.ws_url}?tag={tag}&user=u&greet=1", open_timeout=support.WAIT) as ws:
            assert statuses == [410]
            with pytest.raises(TimeoutError):
                ws.recv(timeout=0.3)
    finally:
        backend.close()
