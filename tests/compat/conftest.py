"""Fixtures: a gateway process per test (config in a tmp dir, ports read from stdout, SIGTERM
at teardown with exit code 0 asserted) and Lambda handlers behind a stand-in of the Lambda
Invoke API (lambda_backend.py)."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from websockets.sync.client import connect as ws_connect

import support


@pytest.fixture(scope="session", autouse=True)
def _binary_exists():
    try:
        support.switchboard_bin()
    except RuntimeError as e:
        pytest.exit(str(e), returncode=2)


@pytest.fixture
def start_gateway(tmp_path: Path):
    """`start_gateway(config_text_or_None, *args, cwd=None)` → a running `support.Gateway`.
    With config text it is written to the tmp dir and passed with --config; with None the
    gateway runs in `cwd` (default: an empty tmp dir) without --config."""
    started: list[support.Gateway] = []

    def start(config: str | None, *args: str, cwd: Path | None = None, env: dict | None = None):
        workdir = Path(cwd or tmp_path / f"gw{len(started)}")
        workdir.mkdir(parents=True, exist_ok=True)
        argv = list(args)
        if config is not None:
            path = workdir / "switchboard.toml"
            path.write_text(config)
            argv = ["--config", str(path), *argv]
        gw = support.Gateway(argv, workdir, env)
        started.append(gw)
        return gw

    yield start
    failures = []
    for gw in started:
        code = gw.stop()
        if code != 0:
            failures.append(f"exit code {code} (None = killed after timeout)\nstderr:\n{gw.stderr()}")
    assert not failures, "switchboard did not exit 0 on SIGTERM:\n" + "\n".join(failures)


@pytest.fixture
def backend():
    b = support.LambdaBackend()
    yield b
    b.close()


@dataclass
class Compat:
    """A gateway whose $connect/$disconnect/$default go to `backend`."""

    gw: support.Gateway
    backend: support.LambdaBackend
    sockets: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    @property
    def endpoint(self) -> str:
        return self.gw.endpoint("dev")

    def client(self, **kw):
        return support.mgmt_client(self.endpoint, **kw)

    def connect(self, user_agent: str = "compat-test/1.0", **kw):
        """(websocket, connectionId) of a new client."""
        tag = uuid.uuid4().hex
        ws = self.sockets.enter_context(ws_connect(
            f"{self.gw.ws_url}?tag={tag}",
            user_agent_header=user_agent,
            open_timeout=support.WAIT,
            close_timeout=support.WAIT,
            **kw,
        ))
        return ws, self.backend.connection_id_for_tag(tag)


@pytest.fixture
def compat(start_gateway, backend):
    gw = start_gateway(support.api_config(backend), env=backend.gateway_env())
    c = Compat(gw, backend)
    with c.sockets:
        yield c


@pytest.fixture
def compat_connect():
    """`compat_connect(gw, backend, **kw)` → (websocket, connectionId) on any gateway built
    from `support.api_config`; sockets are closed at teardown."""
    stack = contextlib.ExitStack()

    def connect(gw, backend, **kw):
        c = Compat(gw, backend, stack)
        return c.connect(**kw)

    with stack:
        yield connect
