"""A real moto_server for the AWS service integration suites, with SigV4 checking on.

moto checks a request's signature (it re-signs the request with botocore and compares) and
the IAM policy of the signing key once `INITIAL_NO_AUTH_ACTION_COUNT` unsigned calls have
been served. Those first calls create two IAM users: `admin` (allowed everything; the test
uses it to create resources and read them back) and `gateway` (allowed only the actions the
gateway is configured to call; its key goes into the gateway's environment). moto takes the
service of the IAM action from the signature's credential scope, so a call the gateway signs
for the wrong service is refused as well.

Loopback only; one process per test module.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import boto3

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
# create_user, create_access_key and put_user_policy for each of the two users.
SETUP_CALLS = 6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _executable() -> str:
    # The venv's own moto_server first: pytest may run without the venv on PATH.
    beside = Path(sys.executable).with_name("moto_server")
    exe = str(beside) if beside.exists() else shutil.which("moto_server")
    if exe is None:
        raise RuntimeError("moto_server not found: pip install -r tests/compat/requirements.txt")
    return exe


@dataclass
class Key:
    access_key_id: str
    secret_access_key: str


class MotoServer:
    """`MotoServer(gateway_actions)`: a running moto_server; `gateway_actions` (e.g.
    `["sqs:SendMessage"]`) is all the gateway's key may do."""

    def __init__(self, gateway_actions: list[str], timeout: float = 30.0):
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(SETUP_CALLS))
        # A file, not a pipe: moto logs every request, and a full pipe would stall it.
        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [_executable(), "-H", "127.0.0.1", "-p", str(self.port)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_listening(timeout)
            self.admin = self._user("admin", ["*"])
            self.gateway = self._user("gateway", gateway_actions)
        except BaseException:
            self.close()
            raise

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.proc.returncode}: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"moto_server did not listen on {self.port} within {timeout}s")

    def _user(self, name: str, actions: list[str]) -> Key:
        """One of the unsigned setup calls' users, with an inline policy allowing `actions`."""
        iam = self._client("iam", Key("setup", "setup"))
        iam.create_user(UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        iam.put_user_policy(
            UserName=name,
            PolicyName=f"{name}-actions",
            PolicyDocument=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
            }),
        )
        return Key(key["AccessKeyId"], key["SecretAccessKey"])

    def _client(self, service: str, key: Key):
        return boto3.session.Session().client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=key.access_key_id,
            aws_secret_access_key=key.secret_access_key,
        )

    def client(self, service: str):
        """A boto3 client signing as `admin` (moto checks it)."""
        return self._client(service, self.admin)

    def gateway_env(self, secret: str | None = None) -> dict[str, str]:
        """The environment that gives the gateway the `gateway` user's key (or `secret`)."""
        return {
            "AWS_ACCESS_KEY_ID": self.gateway.access_key_id,
            "AWS_SECRET_ACCESS_KEY": secret or self.gateway.secret_access_key,
            "AWS_SESSION_TOKEN": "",
        }

    def log(self) -> str:
        """The end of moto_server's output (for failure messages)."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
