#!/usr/bin/env bash
# Runs the HTTP backend example: backend.py (Python standard library) on port 3000 and
# Switchboard in front of it on ports 8080 (clients) and 8081 (management). Ctrl-C stops both.
#
# Needs Python 3, and Rust to build the gateway unless SWITCHBOARD_BIN names a binary.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=examples/lib.sh
source "$here/../lib.sh"

need_python
need_free_port 3000 "the example backend"
need_free_port 8080 "Switchboard's clients"
need_free_port 8081 "Switchboard's management API"
switchboard_binary

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stopped"
}
trap cleanup EXIT INT TERM

python3 "$here/backend.py" &
pids+=($!)
"$switchboard" serve --config "$here/switchboard.toml" &
pids+=($!)
wait_for_port 8080 "Switchboard"

cat <<'MSG'

The HTTP backend example is running. Connect with your name in the URL:
  wscat -c 'ws://127.0.0.1:8080/dev?name=ann'      (npm i -g wscat)
  > hello
and the backend answers {"from": "backend", "to": "ann", "youSaid": "hello", …}.
Without ?name= the backend refuses the upgrade: wscat says "Unexpected server response: 400"
and a line here says why. Ctrl-C stops the backend and the gateway.
MSG

wait -n "${pids[@]}"
