#!/usr/bin/env bash
# Runs the chat example: the Python backend (backend.py) on port 3000 and Switchboard with
# switchboard.toml on ports 8080 (clients) and 8081 (management). Ctrl-C stops both.
#
# Needs Python 3 with venv (boto3 is installed into the repository's .venv, or $VENV), and
# Rust to build the gateway unless SWITCHBOARD_BIN names a binary.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=examples/lib.sh
source "$here/../lib.sh"

venv="${VENV:-$repo/.venv}"
need_python
need_free_port 3000 "the chat backend"
need_free_port 8080 "Switchboard's clients"
need_free_port 8081 "Switchboard's management API"

if [[ ! -x "$venv/bin/python" ]]; then
  python3 -c 'import ensurepip, venv' 2>/dev/null \
    || fail "python3 cannot create a virtual environment: apt-get install python3-venv"
  echo "==> creating $venv"
  python3 -m venv "$venv" || fail "python3 -m venv $venv failed"
fi
if ! "$venv/bin/python" -c 'import boto3' 2>/dev/null; then
  echo "==> pip install -r examples/chat/requirements.txt (into $venv)"
  "$venv/bin/pip" install --disable-pip-version-check -r "$here/requirements.txt" \
    || fail "pip could not install boto3 into $venv (is PyPI reachable?)"
fi
switchboard_binary

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
"$switchboard" serve --config "$here/switchboard.toml" &
pids+=($!)
wait_for_port 8080 "Switchboard"

cat <<'MSG'

Chat is running. In two or more terminals:
  wscat -c ws://127.0.0.1:8080/dev          (npm i -g wscat)
  > {"action":"sendmessage","data":"hi"}
Every connected client receives "hi". Ctrl-C here stops the backend and the gateway.
MSG

# Exit (and clean up) as soon as either process stops.
wait -n "${pids[@]}"
