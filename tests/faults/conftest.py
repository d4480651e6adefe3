"""Fault suite: black-box attacks on the built binary. Each test starts its own gateway (and
backends) on free ports, attacks it, and asserts that memory stays bounded and that other
clients are still served. Shares the compatibility suite's helpers (tests/compat/support.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compat"))

import support  # noqa: E402


@pytest.fixture
def start_gateway(tmp_path: Path):
    """`start_gateway(config_text)` → a running `support.Gateway`, stopped (exit 0 asserted)
    at teardown."""
    started: list[support.Gateway] = []

    def start(config: str, *args: str, env: dict | None = None) -> support.Gateway:
        workdir = tmp_path / f"gw{len(started)}"
        workdir.mkdir()
        path = workdir / "switchboard.toml"
        path.write_text(config)
        gw = support.Gateway(["--config", str(path), *args], workdir, env)
        started.append(gw)
        return gw

    yield start
    failures = []
    for gw in started:
        code = gw.stop()
        if code != 0:
            failures.append(f"exit code {code}\nstderr:\n{gw.stderr()}")
    assert not failures, "switchboard did not exit 0 on SIGTERM:\n" + "\n".join(failures)


@pytest.fixture
def backend():
    b = support.LambdaBackend()
    yield b
    b.close()
