"""Spec §7.6: a push to the connecting client from its own `$connect` integration gets 410,
because the connection exists only once `$connect` has answered 2xx."""

from __future__ import annotations

import threading

import support


def test_post_during_connect_is_gone_then_connection_opens(start_gateway, backend, compat_connect):
    outcomes: dict[str, str] = {}
    done = threading.Event()
    holder: dict = {}

    def handler(event):
        ctx = event["requestContext"]
        if ctx["eventType"] != "CONNECT":
            return {"statusCode": 200}
        client = support.mgmt_client(holder["endpoint"])
        for name, call in (
            ("post", lambda: client.post_to_connection(ConnectionId=ctx["connectionId"], Data=b"too early")),
            ("get", lambda: client.get_connection(ConnectionId=ctx["connectionId"])),
        ):
            try:
                call()
                outcomes[name] = "succeeded"
            except client.exceptions.GoneException:
                outcomes[name] = "GoneException"
            except Exception as e:  # recorded, asserted below
                outcomes[name] = f"{type(e).__name__}: {e}"
        done.set()
        return {"statusCode": 200}

    backend.handler = handler
    gw = start_gateway(support.api_config(backend), env=backend.gateway_env())
    holder["endpoint"] = gw.endpoint("dev")
    ws, cid = compat_connect(gw, backend)
    assert done.wait(support.WAIT), "the $connect handler never finished"
    assert outcomes == {"post": "GoneException", "get": "GoneException"}
    # The connection did open, and the message pushed during $connect was never delivered:
    # the first message the client gets is the one posted after the upgrade.
    client = support.mgmt_client(gw.endpoint("dev"))
    client.post_to_connection(ConnectionId=cid, Data=b"now it works")
    assert ws.recv(timeout=support.WAIT) == "now it works"
