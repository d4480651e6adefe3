"""The chat backend: three Lambda-style handlers served over plain HTTP.

Switchboard's AWS_PROXY integration with an http:// integrationUri POSTs the same Lambda proxy
event a real Lambda function would get, and reads the same {"statusCode": ...} reply. So each
`handler(event, context)` below is exactly what you would deploy as a Lambda function behind
Amazon API Gateway; only the management endpoint differs (here: Switchboard's).

Environment:
  CHAT_BACKEND_HOST      default 127.0.0.1
  CHAT_BACKEND_PORT      default 3000 (0 = any free port; the chosen one is printed)
  SWITCHBOARD_ENDPOINT   the @connections endpoint, default http://127.0.0.1:8081/dev
  AWS_REGION             default us-east-1 (credentials: dummy ones unless set in the environment)
"""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
from botocore.config import Config

ENDPOINT = os.environ.get("SWITCHBOARD_ENDPOINT", "http://127.0.0.1:8081/dev")

# In-memory connection store (a DynamoDB table in the AWS sample).
_connections: set[str] = set()
_lock = threading.Lock()
_client = None


def management_client():
    """The ApiGatewayManagementApi client, pointed at Switchboard."""
    global _client
    if _client is None:
        _client = boto3.session.Session().client(
            "apigatewaymanagementapi",
            endpoint_url=ENDPOINT,
            region_name=os.environ.get("AWS_REGION", "us-east-1"),
            aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "AKIDCHATEXAMPLE"),
            aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "chat-example-secret"),
            aws_session_token=os.environ.get("AWS_SESSION_TOKEN"),
            config=Config(retries={"total_max_attempts": 2, "mode": "standard"}),
        )
    return _client


def on_connect(event, context):
    with _lock:
        _connections.add(event["requestContext"]["connectionId"])
    return {"statusCode": 200}


def on_disconnect(event, context):
    with _lock:
        _connections.discard(event["requestContext"]["connectionId"])
    return {"statusCode": 200}


def send_message(event, context):
    data = json.loads(event.get("body") or "{}").get("data", "")
    client = management_client()
    with _lock:
        targets = list(_connections)
    for connection_id in targets:
        try:
            client.post_to_connection(ConnectionId=connection_id, Data=str(data).encode("utf-8"))
        except client.exceptions.GoneException:
            with _lock:
                _connections.discard(connection_id)
    return {"statusCode": 200}


HANDLERS = {"/connect": on_connect, "/disconnect": on_disconnect, "/sendmessage": send_message}


class _Http(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802
        handler = HANDLERS.get(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        event = json.loads(self.rfile.read(length) or b"{}")
        if handler is None:
            status, result = 404, {"message": f"no handler for {self.path}"}
        else:
            try:
                status, result = 200, handler(event, None)
            except Exception as e:  # a Lambda error: the gateway reports an integration failure
                print(f"handler {self.path} failed: {e!r}", file=sys.stderr, flush=True)
                status, result = 500, {"errorMessage": str(e)}
        body = json.dumps(result).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


def main():
    host = os.environ.get("CHAT_BACKEND_HOST", "127.0.0.1")
    port = int(os.environ.get("CHAT_BACKEND_PORT", "3000"))
    server = ThreadingHTTPServer((host, port), _Http)
    server.daemon_threads = True
    print(f"chat backend on http://{host}:{server.server_address[1]} (posting to {ENDPOINT})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
