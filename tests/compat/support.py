"""Helpers of the compatibility suite: run the built `switchboard` binary, a one-API config
whose routes invoke Lambda handlers (lambda_backend.py), a plain HTTP backend for `HTTP_PROXY`,
upgrade URLs presigned for `AWS_IAM`, and a raw WebSocket client that can stop reading.

Nothing here talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, quote, urlsplit

import boto3
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from lambda_backend import LambdaBackend  # noqa: F401 (re-exported for the tests)

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
WAIT = 15.0  # generous timeout for anything the tests wait on

DUMMY_KEY = "AKIDDUMMYCOMPAT"
DUMMY_SECRET = "dummy-secret"


def switchboard_bin() -> Path:
    """The binary under test: $SWITCHBOARD_BIN, else the cargo target dir's debug build."""
    env = os.environ.get("SWITCHBOARD_BIN")
    if env:
        path = Path(env)
    else:
        target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
        path = target / "debug" / "switchboard"
    if not path.is_file() or not os.access(path, os.X_OK):
        raise RuntimeError(
            f"switchboard binary not found at {path}: run `cargo build -p switchboard` "
            "or set SWITCHBOARD_BIN (scripts/test.sh does both)"
        )
    return path


class Gateway:
    """One `switchboard serve` process; ports are read from what it prints."""

    def __init__(self, args: list[str], cwd: Path, env: dict | None = None):
        self.cwd = Path(cwd)
        self.stderr_path = self.cwd / f"switchboard-{uuid.uuid4().hex[:8]}.stderr"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [str(switchboard_bin()), "serve", *args],
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: list[str] = []
        self.ws_urls: list[str] = []
        self.mgmt_url: str | None = None
        self._ready = threading.Event()
        self._line_cond = threading.Condition()
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()
        if not self._ready.wait(START_TIMEOUT) or self.mgmt_url is None:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(
                f"switchboard did not report its addresses within {START_TIMEOUT}s "
                f"(exit code {self.proc.returncode}).\nstdout: {self.lines}\n"
                f"stderr: {self.stderr()}"
            )

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # drain until EOF so the pipe never fills
            line = line.rstrip("\n")
            with self._line_cond:
                self.lines.append(line)
                self._line_cond.notify_all()
            if line.startswith("listening on "):
                self.ws_urls.append(line.split()[-1])
            elif line.startswith("management API on "):
                self.mgmt_url = line.split()[-1]
                self._ready.set()
        self._ready.set()

    def wait_for_line(self, text: str, timeout: float = WAIT) -> str:
        """The first stdout line containing `text`, waiting up to `timeout`."""
        with self._line_cond:
            ok = self._line_cond.wait_for(lambda: any(text in l for l in self.lines), timeout)
            assert ok, f"no stdout line containing {text!r} within {timeout}s: {self.lines}"
            return next(l for l in self.lines if text in l)

    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")[-4000:]

    @property
    def ws_url(self) -> str:
        assert self.ws_urls, f"no 'listening on' line in {self.lines}"
        return self.ws_urls[0]

    def endpoint(self, stage: str = "dev") -> str:
        """The SDK endpoint_url of a one-API gateway: http://127.0.0.1:PORT/{stage}."""
        return f"{self.mgmt_url}/{stage}"

    def stop(self) -> int | None:
        """SIGTERM; the exit code, or None if it had to be killed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._stderr.close()
                return None
        self._reader.join(5)
        self._stderr.close()
        return self.proc.returncode


def api_config(
    backend: LambdaBackend,
    *,
    auth: str = "none",
    credentials: list[dict] | None = None,
    region: str | None = None,
    server_limits: str = "",
    plain_url: bool = False,
) -> str:
    """A one-API config: $connect, $disconnect and $default invoke the backend's function
    through the Lambda Invoke API (start the gateway with `backend.gateway_env()`), or with
    `plain_url` POST to its plain URL (the `http://` integrationUri extension)."""
    lines = [
        "[server]",
        'listen = "127.0.0.1:0"',
    ]
    if server_limits:
        lines += ["[server.limits]", server_limits]
    lines += ["[management]", 'listen = "127.0.0.1:0"', f'auth = "{auth}"']
    for cred in credentials or []:
        lines.append("[[management.credentials]]")
        lines.append(f'accessKeyId = "{cred["accessKeyId"]}"')
        lines.append(f'secretAccessKey = "{cred["secretAccessKey"]}"')
        if cred.get("sessionToken"):
            lines.append(f'sessionToken = "{cred["sessionToken"]}"')
    if region:
        lines += ["[aws]", f'region = "{region}"']
    lines += ["[aws.endpoints]", f'lambda = "{backend.url}"']
    uri = f"{backend.url}/lambda" if plain_url else backend.function_arn()
    lines += [
        "[apis.compat]",
        'routeSelectionExpression = "$request.body.action"',
        "[apis.compat.stages.dev]",
        "[apis.compat.integrations.lambda]",
        'integrationType = "AWS_PROXY"',
        f'integrationUri = "{uri}"',
        '[apis.compat.routes."$connect"]',
        'target = "integrations/lambda"',
        '[apis.compat.routes."$disconnect"]',
        'target = "integrations/lambda"',
        '[apis.compat.routes."$default"]',
        'target = "integrations/lambda"',
    ]
    return "\n".join(lines) + "\n"


def mgmt_client(
    endpoint: str,
    key: str = DUMMY_KEY,
    secret: str = DUMMY_SECRET,
    token: str | None = None,
    region: str = "us-east-1",
):
    """A boto3 ApiGatewayManagementApi client on the gateway, with retries off so each call
    is exactly one HTTP request."""
    return boto3.session.Session().client(
        "apigatewaymanagementapi",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
        ),
    )


def presigned(ws_url: str, key: tuple[str, str], region: str) -> str:
    """`ws://…` presigned by botocore for execute-api (the `AWS_IAM` upgrade), as browser
    clients do it."""
    http_url = "http" + ws_url[len("ws"):]
    request = AWSRequest(method="GET", url=http_url)
    SigV4QueryAuth(Credentials(*key), "execute-api", region, expires=300).add_auth(request)
    return "ws" + request.prepare().url[len("http"):]


class HttpBackend:
    """A plain HTTP backend (for `HTTP_PROXY` integrations) on 127.0.0.1: every request is
    recorded as a dict (`method`, `path`, `query` as parse_qs gives it, `headers` with lowercase
    names, `body`) and answered by `reply(request) -> (status, [(header, value), …], body)`;
    header values are sent as Latin-1, as http.server does."""

    def __init__(self, reply: Callable[[dict], tuple[int, list[tuple[str, str]], bytes]]):
        self.requests: list[dict] = []
        self._cond = threading.Condition()
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = urlsplit(self.path)
                request = {
                    "method": self.command,
                    "path": parts.path,
                    "query": parse_qs(parts.query),
                    "headers": {name.lower(): value for name, value in self.headers.items()},
                    "body": body,
                }
                with backend._cond:
                    backend.requests.append(request)
                    backend._cond.notify_all()
                status, headers, data = reply(request)
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _any  # noqa: N815 (http.server naming)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, predicate: Callable[[dict], bool], timeout: float = WAIT) -> dict:
        """The first recorded request matching `predicate`, waiting up to `timeout`."""
        with self._cond:
            found = self._cond.wait_for(lambda: next((r for r in self.requests if predicate(r)), None), timeout)
            assert found, f"no matching request within {timeout}s; got {[(r['method'], r['path'], r['query']) for r in self.requests]}"
            return found

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def conn_path(endpoint: str, connection_id: str) -> str:
    return f"{endpoint}/@connections/{quote(connection_id, safe='')}"


def error_code(exc) -> str:
    return exc.response["Error"]["Code"]


def http_status(exc) -> int:
    return exc.response["ResponseMetadata"]["HTTPStatusCode"]


class RawWebSocket:
    """A minimal client on a plain socket with a tiny receive buffer. It only reads when asked,
    so a test can leave the gateway's writes blocked (a slow client)."""

    def __init__(self, url: str, rcvbuf: int = 4096, timeout: float = WAIT):
        parts = urlsplit(url)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((parts.hostname, parts.port))
        key = base64.b64encode(os.urandom(16)).decode()
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "User-Agent: compat-raw-client\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError(f"closed during handshake: {self.buf!r}")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status, *header_lines = head.decode("latin-1").split("\r\n")
        self.response_headers = [tuple(h.split(":", 1)) for h in header_lines]
        status = status.encode("latin-1")
        if b" 101 " not in status + b" ":
            raise ConnectionError(f"upgrade refused: {status!r}")

    def _read_exact(self, n: int, deadline: float) -> bytes:
        while len(self.buf) < n:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("socket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_message(self, timeout: float = WAIT) -> tuple[int, bytes]:
        """(opcode, payload) of the next whole message; control frames other than close are
        skipped. Raises socket.timeout after `timeout`."""
        deadline = time.monotonic() + timeout
        opcode, payload = None, b""
        while True:
            b0, b1 = self._read_exact(2, deadline)
            fin, op = b0 & 0x80, b0 & 0x0F
            length = b1 & 0x7F
            if length == 126:
                length = int.from_bytes(self._read_exact(2, deadline), "big")
            elif length == 127:
                length = int.from_bytes(self._read_exact(8, deadline), "big")
            if b1 & 0x80:
                mask = self._read_exact(4, deadline)
                data = bytes(c ^ mask[i % 4] for i, c in enumerate(self._read_exact(length, deadline)))
            else:
                data = self._read_exact(length, deadline)
            if op == 0x8:
                return op, data
            if op in (0x9, 0xA):
                continue
            if op != 0x0:
                opcode = op
            payload += data
            if fin:
                return opcode, payload

    def close(self) -> None:
        try:
            payload = (1000).to_bytes(2, "big")
            mask = os.urandom(4)
            masked = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
            self.sock.sendall(bytes([0x88, 0x80 | len(payload)]) + mask + masked)
        except OSError:
            pass
        self.sock.close()


def reserve_port() -> int:
    """A port that was free a moment ago (only where the listener cannot report its own)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for `localhost` and 127.0.0.1 (cert.pem, key.pem) made with the
    openssl command; clients trust it by naming cert.pem (REQUESTS_CA_BUNDLE,
    NODE_EXTRA_CA_CERTS, an ssl context)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key
