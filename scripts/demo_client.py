"""Checks that a running Switchboard serves the built-in demo: connects to the URL given,
sends `hello`, and expects it back (the demo's `$default` route echoes). Exits 0 when it did,
1 with one line saying what happened otherwise. Needs the `websockets` package
(tests/compat/requirements.txt; scripts/test.sh installs it into .venv).

    python3 scripts/demo_client.py ws://127.0.0.1:8080/dev
"""

from __future__ import annotations

import sys

try:
    from websockets.sync.client import connect
except ImportError:
    sys.exit("error: the websockets package is missing: pip install -r tests/compat/requirements.txt")


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: demo_client.py WS_URL", file=sys.stderr)
        return 2
    url = sys.argv[1]
    try:
        with connect(url, open_timeout=30, close_timeout=5) as ws:
            ws.send("hello")
            answer = ws.recv(timeout=30)
    except Exception as e:  # any failure is reported in one line
        print(f"error: {url}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    if answer != "hello":
        print(f"error: {url} answered {answer!r} to 'hello' instead of echoing it", file=sys.stderr)
        return 1
    print(f"{url}: sent 'hello', got 'hello' back")
    return 0


if __name__ == "__main__":
    sys.exit(main())
