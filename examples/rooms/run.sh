#!/usr/bin/env bash
# Runs the rooms example: the Python backend (backend.py, standard library only) on port 3000
# and Switchboard with switchboard.toml on ports 8080 (clients) and 8081 (management). Ctrl-C
# stops both. Needs Python 3, and Rust to build the gateway unless SWITCHBOARD_BIN names a binary.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=examples/lib.sh
source "$here/../lib.sh"

need_python
need_free_port 3000 "the rooms backend"
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

ROOMS_BACKEND_PORT=3000 SWITCHBOARD_ENDPOINT="http://127.0.0.1:8081/dev" python3 "$here/backend.py" &
pids+=($!)
"$switchboard" serve --config "$here/switchboard.toml" &
pids+=($!)
wait_for_port 8080 "Switchboard"

cat <<'MSG'

Rooms are running. In two or more terminals:
  wscat -c 'ws://127.0.0.1:8080/dev?room=lobby'          (npm i -g wscat)
  > {"action":"sendmessage","room":"lobby","data":"hi"}
  > {"action":"join","room":"games"}
  > {"action":"who","room":"lobby"}
Everyone else in the room receives {"room":"lobby","from":"…","data":"hi"}. Ctrl-C stops both.
MSG

wait -n "${pids[@]}"
