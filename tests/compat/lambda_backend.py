"""Lambda handlers for the compatibility suite, served the two ways the gateway invokes them.

- The Lambda Invoke API (`integrationUri = "arn:aws:lambda:REGION:ACCOUNT:function:NAME"`,
  `[aws.endpoints] lambda = URL`): `POST /2015-03-31/functions/{name}/invocations`, SigV4 for
  service `lambda`. Each call's signature is recomputed with botocore's own signer over what
  was received and compared; a wrong one is answered as Lambda does (403
  `InvalidSignatureException`), an unknown function 404 `ResourceNotFoundException`, and a
  handler that raises 200 with `X-Amz-Function-Error: Unhandled` and Lambda's error payload.
- The plain-URL extension (`integrationUri = "http://…"`): any other POST path gets the event
  JSON; a handler that raises answers 500.

Every event a handler sees is recorded with `_via` ("invoke" or "url") and `_path`.
Loopback only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import traceback
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, quote, unquote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

WAIT = 15.0
REGION = "us-east-1"
ACCOUNT = "123456789012"
FUNCTION = "compat-handler"
INVOKE_PATH = "/2015-03-31/functions/"
MAX_EVENT_BYTES = 6 * 1024 * 1024  # Lambda's own request payload limit
CLOCK_SKEW = timedelta(minutes=15)  # how far X-Amz-Date may be from now, as AWS allows

# The key the gateway signs Invoke calls with (temporary credentials, so the session token
# header is exercised as well).
KEY = "ASIACOMPATLAMBDA"
SECRET = "lambda/Secret+Key/0123456789abcdefEXAMPLE"
TOKEN = "FwoGZXIvYXdzEXAMPLE//lambda+session=token"


class Refused(Exception):
    """An Invoke call answered with an error before the handler ran."""

    def __init__(self, status: int, error_type: str, message: str):
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message


def _authorization(header: str) -> dict[str, str]:
    """`AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` as a dict."""
    algorithm, _, rest = header.partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        raise Refused(403, "IncompleteSignatureException", f"unsupported algorithm {algorithm!r}")
    fields = {}
    for part in rest.split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    if not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
        raise Refused(403, "IncompleteSignatureException", f"incomplete Authorization: {header!r}")
    return fields


class LambdaBackend:
    """Lambda-proxy handlers: `handler(event) -> reply dict or None` (default: statusCode 200).
    `functions` are the names the Invoke API knows; the gateway must sign with `key`,
    `secret` and `token` (see `gateway_env`)."""

    def __init__(
        self,
        handler: Callable[[dict], dict | None] | None = None,
        *,
        functions: tuple[str, ...] = (FUNCTION,),
        key: str = KEY,
        secret: str = SECRET,
        token: str | None = TOKEN,
    ):
        self.handler = handler
        self.functions = set(functions)
        self.credentials = Credentials(key, secret, token)
        self.events: list[dict] = []
        self.refusals: list[Refused] = []
        self._cond = threading.Condition()
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (http.server naming)
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_EVENT_BYTES:
                    self._send(413, {"message": "Request must be smaller than 6291456 bytes"})
                    self.close_connection = True
                    return
                body = self.rfile.read(length)
                if self.path.startswith(INVOKE_PATH):
                    backend._invoke(self, body)
                else:
                    backend._plain(self, body)

            def _send(self, status: int, payload, headers: dict | None = None):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    # --- what the gateway is configured with -------------------------------------------

    def function_arn(self, name: str = FUNCTION, qualifier: str | None = None) -> str:
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        return f"{arn}:{qualifier}" if qualifier else arn

    def gateway_env(self, secret: str | None = None) -> dict[str, str]:
        """The gateway's environment: the key it signs Invoke calls with (or a wrong `secret`)."""
        return {
            "AWS_ACCESS_KEY_ID": self.credentials.access_key,
            "AWS_SECRET_ACCESS_KEY": secret or self.credentials.secret_key,
            "AWS_SESSION_TOKEN": self.credentials.token or "",
        }

    # --- the two wire protocols --------------------------------------------------------

    def _invoke(self, http: BaseHTTPRequestHandler, body: bytes) -> None:
        try:
            name, qualifier = self._check_invoke(http, body)
            event = json.loads(body)
        except Refused as e:
            with self._cond:
                self.refusals.append(e)
                self._cond.notify_all()
            http._send(e.status, {"Type": "User", "message": e.message}, {"x-amzn-ErrorType": e.error_type})
            return
        except ValueError as e:
            http._send(400, {"Type": "User", "message": f"Could not parse request body into json: {e}"},
                       {"x-amzn-ErrorType": "InvalidRequestContentException"})
            return
        event["_via"], event["_path"], event["_function"], event["_qualifier"] = "invoke", http.path, name, qualifier
        try:
            reply = self._call(event)
        except Exception as e:  # the function failed: Lambda still answers 200
            http._send(200, {"errorMessage": str(e), "errorType": type(e).__name__,
                             "stackTrace": traceback.format_exception(e)[1:]},
                       {"X-Amz-Function-Error": "Unhandled", "X-Amz-Executed-Version": "$LATEST"})
            return
        http._send(200, reply, {"X-Amz-Executed-Version": "$LATEST"})

    def _plain(self, http: BaseHTTPRequestHandler, body: bytes) -> None:
        try:
            event = json.loads(body or b"{}")
        except ValueError as e:
            http._send(400, {"message": f"the event is not JSON: {e}"})
            return
        event["_via"], event["_path"] = "url", http.path
        try:
            reply = self._call(event)
        except Exception as e:
            http._send(500, {"errorMessage": str(e), "errorType": type(e).__name__})
            return
        http._send(200, reply)

    def _call(self, event: dict):
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()
        reply = self.handler(event) if self.handler is not None else None
        return reply or {"statusCode": 200}

    def _check_invoke(self, http: BaseHTTPRequestHandler, body: bytes) -> tuple[str, str | None]:
        """The function name and qualifier of a correctly signed Invoke call; else `Refused`."""
        parts = urlsplit(http.path)
        segment = parts.path[len(INVOKE_PATH):].removesuffix("/invocations")
        if "/" in segment or not parts.path.endswith("/invocations"):
            raise Refused(404, "UnknownOperationException", f"no operation at {parts.path}")
        name = unquote(segment)
        # The path as botocore's Lambda client writes it (unreserved characters unescaped).
        if segment != quote(name, safe=""):
            raise Refused(400, "InvalidRequestContentException",
                          f"function name encoded as {segment!r}, the AWS SDKs send {quote(name, safe='')!r}")
        query = parse_qs(parts.query, keep_blank_values=True)
        if set(query) - {"Qualifier"}:
            raise Refused(400, "InvalidParameterValueException", f"unexpected query {parts.query!r}")
        qualifier = query.get("Qualifier", [None])[0]
        if http.headers.get("X-Amz-Invocation-Type", "RequestResponse") != "RequestResponse":
            raise Refused(400, "InvalidParameterValueException", "expected a RequestResponse invocation")
        self._check_signature(http, body)
        if name not in self.functions:
            raise Refused(404, "ResourceNotFoundException",
                          f"Function not found: arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
        return name, qualifier

    def _check_signature(self, http: BaseHTTPRequestHandler, body: bytes) -> None:
        header = http.headers.get("Authorization")
        if header is None:
            raise Refused(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        auth = _authorization(header)
        key, date, region, service, terminator = (auth["Credential"].split("/") + [""] * 5)[:5]
        amz_date = http.headers.get("X-Amz-Date", "")
        signed = auth["SignedHeaders"].split(";")
        problems = []
        if key != self.credentials.access_key:
            problems.append(f"unknown access key {key!r}")
        if (region, service, terminator) != (REGION, "lambda", "aws4_request"):
            problems.append(f"credential scope {region}/{service}/{terminator}, expected {REGION}/lambda/aws4_request")
        if date != amz_date[:8]:
            problems.append(f"scope date {date!r} is not the X-Amz-Date {amz_date!r}")
        for required in ("host", "x-amz-date") + (("x-amz-security-token",) if self.credentials.token else ()):
            if required not in signed:
                problems.append(f"{required} is not signed ({signed})")
        content_sha256 = http.headers.get("X-Amz-Content-SHA256")
        if content_sha256 is not None and content_sha256 != hashlib.sha256(body).hexdigest():
            problems.append("X-Amz-Content-SHA256 is not the hash of the body")
        if self.credentials.token and http.headers.get("X-Amz-Security-Token") != self.credentials.token:
            problems.append("wrong or missing X-Amz-Security-Token")
        try:
            when = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
            if abs(datetime.now(timezone.utc) - when) > CLOCK_SKEW:
                problems.append(f"X-Amz-Date {amz_date} is more than 15 minutes from now")
        except ValueError:
            problems.append(f"bad X-Amz-Date {amz_date!r}")
        if problems:
            raise Refused(403, "InvalidSignatureException", "; ".join(problems))
        # botocore re-signs what arrived: the same method, path, query, signed headers and body.
        request = AWSRequest(
            method=http.command,
            url=f"http://{http.headers.get('Host', '')}{http.path}",
            data=body,
            headers={name: value for name, value in http.headers.items() if name.lower() in signed},
        )
        request.context["timestamp"] = amz_date
        signer = SigV4Auth(self.credentials, "lambda", REGION)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if signer.signed_headers(signer.headers_to_sign(request)) != auth["SignedHeaders"]:
            raise Refused(403, "InvalidSignatureException", f"SignedHeaders {auth['SignedHeaders']} do not match the headers sent")
        if not hmac.compare_digest(expected, auth["Signature"]):
            raise Refused(403, "InvalidSignatureException",
                          "The request signature we calculated does not match the signature you provided. "
                          "Check your AWS Secret Access Key and signing method.")

    # --- what tests wait for -------------------------------------------------------------

    def wait_for(self, predicate: Callable[[dict], bool], timeout: float = WAIT) -> dict:
        """The first recorded event matching `predicate`, waiting up to `timeout`."""
        with self._cond:
            found: list[dict] = []

            def check() -> bool:
                found[:] = [e for e in self.events if predicate(e)]
                return bool(found)

            if not self._cond.wait_for(check, timeout):
                kinds = [(e.get("requestContext", {}).get("eventType"), e.get("requestContext", {}).get("connectionId")) for e in self.events]
                raise AssertionError(
                    f"no matching event within {timeout}s; got {kinds}; refused calls: "
                    f"{[(r.status, r.error_type, r.message) for r in self.refusals]}"
                )
            return found[0]

    def wait_refusal(self, timeout: float = WAIT) -> Refused:
        """The first Invoke call refused before its handler ran, waiting up to `timeout`."""
        with self._cond:
            assert self._cond.wait_for(lambda: self.refusals, timeout), f"no call was refused within {timeout}s"
            return self.refusals[0]

    def wait_event(self, event_type: str, connection_id: str, timeout: float = WAIT) -> dict:
        return self.wait_for(
            lambda e: e.get("requestContext", {}).get("eventType") == event_type
            and e["requestContext"].get("connectionId") == connection_id,
            timeout,
        )

    def connection_id_for_tag(self, tag: str, timeout: float = WAIT) -> str:
        """The connectionId of the CONNECT event whose query string carried `tag=<tag>`."""
        event = self.wait_for(
            lambda e: e.get("requestContext", {}).get("eventType") == "CONNECT"
            and (e.get("queryStringParameters") or {}).get("tag") == tag,
            timeout,
        )
        return event["requestContext"]["connectionId"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
