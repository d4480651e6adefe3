#!/usr/bin/env bash
# Starts the example backend and Switchboard in front of it; Ctrl-C stops both.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
cargo build --release -q -p switchboard
python3 "$here/backend.py" &
backend=$!
trap 'kill $backend 2>/dev/null' EXIT
echo "connect with: wscat -c 'ws://127.0.0.1:8080/dev?name=ann'   (then type anything)"
target/release/switchboard serve --config "$here/switchboard.toml"
