#!/usr/bin/env bash
# Runs the chat example: the Python backend (backend.py) and Switchboard with switchboard.toml.
# Ctrl-C stops both.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${VENV:-$repo/.venv}"

if [[ ! -x "$venv/bin/python" ]]; then
  echo "==> creating $venv"
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import boto3' 2>/dev/null; then
  echo "==> installing the backend's requirements into $venv"
  "$venv/bin/pip" install -q -r "$here/requirements.txt"
fi

bin="${SWITCHBOARD_BIN:-}"
if [[ -z "$bin" ]]; then
  echo "==> building switchboard"
  (cd "$repo" && cargo build -q -p switchboard)
  bin="${CARGO_TARGET_DIR:-$repo/target}/debug/switchboard"
fi

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stopped"
}
trap cleanup EXIT INT TERM

CHAT_BACKEND_PORT=3000 SWITCHBOARD_ENDPOINT="http://127.0.0.1:8081/dev" \
  "$venv/bin/python" "$here/backend.py" &
pids+=($!)
"$bin" serve --config "$here/switchboard.toml" &
pids+=($!)

sleep 1
cat <<'MSG'

Chat is running. In two or more terminals:
  wscat -c ws://127.0.0.1:8080/dev          (npm i -g wscat)
  > {"action":"sendmessage","data":"hi"}
Every connected client receives "hi". Ctrl-C here stops the backend and the gateway.
MSG

# Exit (and clean up) as soon as either process stops.
wait -n "${pids[@]}"
