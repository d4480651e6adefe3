"""The rooms backend: Lambda-style handlers over plain HTTP, with no state and no database.

Switchboard keeps the rooms (groups, docs/groups.md): `$connect` joins the room of `?room=` by
answering with the `X-Switchboard-Groups` header, `join`/`leave` call
`PUT`/`DELETE @connections/{id}/groups/{room}`, `sendmessage` is one
`POST @groups/{room}?exclude={sender}` however many are in the room, and `who` reads
`GET @groups/{room}`. Compare examples/chat, which keeps a connection table and loops over
`PostToConnection`.

Environment:
  ROOMS_BACKEND_PORT     default 3000 (0 = any free port; the chosen one is printed)
  SWITCHBOARD_ENDPOINT   the management endpoint of the stage, default http://127.0.0.1:8081/dev
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

ENDPOINT = os.environ.get("SWITCHBOARD_ENDPOINT", "http://127.0.0.1:8081/dev")
ROOM = re.compile(r"^[A-Za-z0-9._:~-]{1,128}$")


def management(method: str, path: str, body: bytes | None = None) -> tuple[int, dict | None]:
    """One management call (auth = "none" on loopback; sign it with SigV4 otherwise)."""
    request = urllib.request.Request(ENDPOINT + path, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        return e.code, None


def room_of(value) -> str | None:
    return value if isinstance(value, str) and ROOM.match(value) else None


def reply(connection_id: str, message: dict) -> None:
    management("POST", f"/@connections/{quote(connection_id, safe='')}", json.dumps(message).encode())


def handler(event, context):
    ctx = event["requestContext"]
    me = ctx["connectionId"]
    if ctx["eventType"] == "CONNECT":
        room = room_of((event.get("queryStringParameters") or {}).get("room", "lobby"))
        if room is None:
            return {"statusCode": 400}
        return {"statusCode": 200, "headers": {"X-Switchboard-Groups": room}}
    body = json.loads(event.get("body") or "{}")
    room = room_of(body.get("room"))
    if room is None:
        reply(me, {"error": "name a room: letters, digits, - _ . : ~"})
        return {"statusCode": 200}
    action = ctx["routeKey"]
    group = f"/@groups/{quote(room, safe='')}"
    membership = f"/@connections/{quote(me, safe='')}/groups/{quote(room, safe='')}"
    if action == "join":
        status, _ = management("PUT", membership)
        reply(me, {"joined": room} if status == 204 else {"error": f"join answered {status}"})
    elif action == "leave":
        management("DELETE", membership)
        reply(me, {"left": room})
    elif action == "who":
        _, page = management("GET", group + "?limit=100")
        members = [c["connectionId"] for c in (page or {}).get("connections", [])]
        reply(me, {"room": room, "count": (page or {}).get("count", 0), "members": members})
    elif action == "sendmessage":
        message = json.dumps({"room": room, "from": me, "data": body.get("data", "")}).encode()
        management("POST", f"{group}?exclude={quote(me, safe='')}", message)
    return {"statusCode": 200}


class _Http(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        try:
            status, result = 200, handler(json.loads(self.rfile.read(length) or b"{}"), None)
        except Exception as e:  # a Lambda error: the gateway reports an integration failure
            print(f"handler failed: {e!r}", file=sys.stderr, flush=True)
            status, result = 500, {"errorMessage": str(e)}
        data = json.dumps(result).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        pass


def main():
    port = int(os.environ.get("ROOMS_BACKEND_PORT", "3000"))
    server = ThreadingHTTPServer(("127.0.0.1", port), _Http)
    server.daemon_threads = True
    print(f"rooms backend on http://127.0.0.1:{server.server_address[1]} (calling {ENDPOINT})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
