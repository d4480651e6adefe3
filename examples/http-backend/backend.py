#!/usr/bin/env python3
"""A plain HTTP backend for Switchboard's HTTP_PROXY integrations (standard library only).

Routes (see switchboard.toml):
  POST /connect      $connect: the client's handshake headers and query string arrive here;
                     answer 2xx to accept, anything else refuses the upgrade with that status.
  POST /message      every message (raw text body); the reply body goes back to the client.
  POST /disconnect   $disconnect (empty body); the answer is ignored.

The gateway maps the connection id into a `connectionId` header (requestParameters).
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

CONNECTED = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the gateway pools connections

    def do_POST(self):
        url = urlparse(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        cid = self.headers.get("connectionId", "?")
        if url.path == "/connect":
            name = parse_qs(url.query).get("name", [""])[0]
            if not name:
                # The gateway answers the upgrade with this status and its own generic body
                # (as API Gateway does): the client sees only "400". Say why here.
                sys.stderr.write(
                    "backend: refused a connection without ?name= in its URL (the client gets "
                    "HTTP 400); connect to ws://127.0.0.1:8080/dev?name=you\n"
                )
                return self.reply(400, b'{"message":"add ?name=you to the URL"}')
            CONNECTED[cid] = name
            return self.reply(200, b"")
        if url.path == "/disconnect":
            CONNECTED.pop(cid, None)
            return self.reply(200, b"")
        if url.path == "/message":
            name = CONNECTED.get(cid, "stranger")
            text = body.decode("utf-8", "replace")
            answer = {"from": "backend", "to": name, "youSaid": text, "online": len(CONNECTED)}
            return self.reply(200, json.dumps(answer).encode())
        self.reply(404, b"")

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("backend: " + fmt % args + "\n")


if __name__ == "__main__":
    port = int(os.environ.get("BACKEND_PORT", "3000"))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"backend listening on http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()
