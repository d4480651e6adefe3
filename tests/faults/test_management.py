"""Callers that attack the management listener: unauthenticated bodies, bodies that never
finish, and more connections than the listener takes."""

from __future__ import annotations

import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import attack
import support
from attack import MB

SIGV4 = """auth = "sigv4"
[[management.credentials]]
accessKeyId = "AKIDFAULTS"
secretAccessKey = "secret"
"""


def chunked_post_head(host: str) -> bytes:
    return (
        f"POST /dev/@connections/AAAAAAAAAAAAAAA= HTTP/1.1\r\nHost: {host}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()


def unsigned_chunked_bodies(url: str, host: str, socks: list) -> list[int]:
    """200 unsigned chunked `POST @connections` to `url`, each sending up to 1 MB as far as
    the gateway takes it; the sockets go into `socks` (closed by the caller); their statuses
    (0: closed without one)."""
    chunk = b"%x\r\n%s\r\n" % (65536, b"z" * 65536)
    for _ in range(200):
        s = attack.http_connection(url)
        s.sendall(chunked_post_head(host))
        socks.append(s)
    statuses = []
    for s in socks:
        s.settimeout(0.5)
        try:
            for _ in range(16):
                s.sendall(chunk)
        except OSError:
            pass
        statuses.append(attack.read_status(s))
    return statuses


def test_unsigned_bodies_are_refused_before_they_are_read(start_gateway):
    gw = start_gateway(attack.config(management=SIGV4))
    host = gw.mgmt_url.split("//", 1)[1]
    before = attack.rss(gw.proc.pid)
    socks = []
    try:
        statuses = unsigned_chunked_bodies(gw.mgmt_url, host, socks)
        assert set(statuses) <= {403, 0}, statuses
        assert 403 in statuses
        grown = attack.rss(gw.proc.pid) - before
        assert grown < 32 * MB, f"gateway memory grew {grown / MB:.1f} MB"
        attack.assert_serves_others(gw.ws_url)
    finally:
        for s in socks:
            s.close()


def test_a_body_that_never_finishes_gets_408(start_gateway):
    gw = start_gateway(attack.config(management_limits="requestTimeoutSeconds = 1"))
    host = gw.mgmt_url.split("//", 1)[1]
    s = attack.http_connection(gw.mgmt_url)
    try:
        s.sendall(
            f"POST /dev/@connections/AAAAAAAAAAAAAAA= HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Length: 1000\r\n\r\nonly ten b".encode()
        )
        assert attack.read_status(s) == 408
    finally:
        s.close()


def test_connections_over_the_cap_get_503_and_idle_ones_are_dropped(start_gateway):
    gw = start_gateway(
        attack.config(management_limits="maxConnections = 20\nrequestTimeoutSeconds = 1")
    )
    idle = [attack.http_connection(gw.mgmt_url) for _ in range(20)]
    try:
        over = attack.http_connection(gw.mgmt_url)
        assert attack.read_status(over) == 503
        over.close()
        attack.assert_serves_others(gw.ws_url)
        # Idle callers lose their place after requestTimeoutSeconds; /health answers again.
        deadline = time.monotonic() + support.WAIT
        while True:
            s = attack.http_connection(gw.mgmt_url)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            status = attack.read_status(s)
            s.close()
            if status == 200:
                break
            assert time.monotonic() < deadline, f"/health still {status}"
            time.sleep(0.1)
    finally:
        for s in idle:
            s.close()


def test_connections_calls_on_the_websocket_listener_have_the_same_bounds(start_gateway):
    """`onServerListener`: unsigned bodies refused unread, a body that never finishes cut off
    with 408, and ordinary clients of the same listener served meanwhile."""
    gw = start_gateway(
        attack.config(
            management="onServerListener = true\n" + SIGV4,
            management_limits="requestTimeoutSeconds = 1",
        )
    )
    host = gw.ws_url.split("//", 1)[1].split("/", 1)[0]
    before = attack.rss(gw.proc.pid)
    socks = []
    try:
        statuses = unsigned_chunked_bodies(gw.ws_url, host, socks)
        assert set(statuses) <= {403, 0}, statuses
        assert 403 in statuses
        grown = attack.rss(gw.proc.pid) - before
        assert grown < 32 * MB, f"gateway memory grew {grown / MB:.1f} MB"
        attack.assert_serves_others(gw.ws_url)
    finally:
        for s in socks:
            s.close()

    # A signed head passes; its body never finishes: 408 after requestTimeoutSeconds.
    path = "/dev/@connections/AAAAAAAAAAAAAAA="
    signed = AWSRequest(method="POST", url=f"http://{host}{path}", data=b"x" * 1000)
    SigV4Auth(Credentials("AKIDFAULTS", "secret"), "execute-api", "us-east-1").add_auth(signed)
    headers = "".join(f"{k}: {v}\r\n" for k, v in signed.headers.items())
    slow = attack.http_connection(gw.ws_url)
    try:
        slow.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{headers}"
            "Content-Length: 1000\r\n\r\nonly ten b".encode()
        )
        assert attack.read_status(slow) == 408
    finally:
        slow.close()
