"""A client that stops reading: once its outbound queue (outboundQueueDepth = 8) is full, posts
get 429 LimitExceededException, nothing is queued for them, and every post that got 200 is
delivered exactly once, in order, when the client reads again."""

from __future__ import annotations

import time
import uuid

import support

MAX_POSTS = 200_000
MAX_SECONDS = 240
SIZE = 4096
AFTER_FIRST_429 = 20  # keep posting a little after the first 429; none refused may arrive later


def payload(n: int) -> bytes:
    head = f"msg-{n:08d}|".encode()
    return head + b"." * (SIZE - len(head))


def test_flooded_slow_client_gets_429_and_loses_nothing(start_gateway, backend):
    gw = start_gateway(
        support.api_config(backend, server_limits="outboundQueueDepth = 8"), env=backend.gateway_env()
    )
    tag = uuid.uuid4().hex
    raw = support.RawWebSocket(f"{gw.ws_url}?tag={tag}", rcvbuf=4096)
    try:
        cid = backend.connection_id_for_tag(tag)
        client = support.mgmt_client(gw.endpoint("dev"))
        accepted: list[int] = []
        refused: list[int] = []
        deadline = time.monotonic() + MAX_SECONDS
        n = 0
        while n < MAX_POSTS and time.monotonic() < deadline:
            try:
                client.post_to_connection(ConnectionId=cid, Data=payload(n))
                accepted.append(n)
            except client.exceptions.LimitExceededException as e:
                assert support.http_status(e) == 429
                refused.append(n)
            n += 1
            if refused and n > refused[0] + AFTER_FIRST_429:
                break
        assert refused, f"no 429 after {n} posts of {SIZE} bytes"
        assert accepted[: refused[0]] == list(range(refused[0]))
        assert set(accepted).isdisjoint(refused)

        # The client reads again: every accepted message exactly once and in order.
        received = []
        for _ in accepted:
            opcode, data = raw.recv_message(timeout=support.WAIT)
            assert opcode == 0x1, f"expected a text message, got opcode {opcode}"
            received.append(int(data[4:12]))
            assert len(data) == SIZE
        assert received == accepted, "accepted posts must arrive exactly once, in order; refused ones never"
        # Nothing else is pending: the next message is a fresh sentinel, not a refused post.
        client.post_to_connection(ConnectionId=cid, Data=b"sentinel")
        assert raw.recv_message(timeout=support.WAIT) == (0x1, b"sentinel")
    finally:
        raw.close()
