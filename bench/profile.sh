#!/usr/bin/env bash
# Counts the gateway's own user-space instructions per message with callgrind: a number that,
# unlike messages/s on a shared 2-core machine, is the same run after run, so a change on a hot
# path can be judged by it (kernel time, mostly loopback TCP, is not counted).
#
#   bench/profile.sh echo-http [SWITCHBOARD_BINARY]   HTTP_PROXY two-way echo (64 B, 20 conns)
#   bench/profile.sh echo-mock [SWITCHBOARD_BINARY]   MOCK two-way echo
#   bench/profile.sh push      [SWITCHBOARD_BINARY]   POST @connections to 100 clients
#
# Environment: PROFILE_SECONDS (default 10), PROFILE_KEEP=FILE keeps the callgrind profile
# (read it with `callgrind_annotate --inclusive=yes FILE`). The binary defaults to the
# `profiling` build in $CARGO_TARGET_DIR: the release code with debug info, so callgrind can
# name functions and lines (the release profile strips debug info); built here if missing,
# with the bench tools. Instruction counts are those of the release build.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
# PROFILE_BIN_DIR: where the binaries are (default: the `profiling` build).
BIN="${PROFILE_BIN_DIR:-$CARGO_TARGET_DIR/profiling}"
MODE=${1:?usage: bench/profile.sh echo-http|echo-mock|push [SWITCHBOARD_BINARY]}
SB=${2:-$BIN/switchboard}
SECONDS_=${PROFILE_SECONDS:-10}
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

command -v valgrind >/dev/null || { echo "error: valgrind is not installed" >&2; exit 2; }
if [[ ! -x $BIN/loadgen || ! -x $SB ]]; then
  (cd "$ROOT" && cargo build --profile profiling -p switchboard -p switchboard-bench)
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

case $MODE in
  echo-http)
    "$BIN/echo-backend" --listen 127.0.0.1:0 >"$WORK/eb.out" 2>&1 &
    PIDS+=($!)
    backend=$(wait_line "$WORK/eb.out" 'http://127\.0\.0\.1:[0-9]+') || exit 1
    sed "s|@BACKEND@|$backend|g" "$HERE/configs/gateway-http.toml" >"$WORK/gateway.toml"
    ;;
  echo-mock | push) cp "$HERE/configs/gateway-mock.toml" "$WORK/gateway.toml" ;;
  *) echo "error: unknown mode $MODE" >&2; exit 2 ;;
esac

valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" --dump-instr=no \
  "$SB" serve --config "$WORK/gateway.toml" >"$WORK/sb.out" 2>"$WORK/sb.err" &
GW=$!
PIDS+=("$GW")
# Under valgrind the gateway starts slowly.
url=$(wait_line "$WORK/sb.out" 'ws://127\.0\.0\.1:[0-9]+/dev' 30) || exit 1
mgmt=$(wait_line "$WORK/sb.out" 'management API on http://127\.0\.0\.1:[0-9]+' 30) || exit 1
mgmt="${mgmt#management API on }/dev"

if [[ $MODE == push ]]; then
  callgrind_control -z "$GW" >/dev/null
  out=$("$BIN/loadgen" push --url "$url" --mgmt "$mgmt" --connections 100 --senders 8 \
    --duration "$SECONDS_")
  count_key=delivered unit=push
else
  # Warm up (connections, pools, caches), then count only the measured run.
  "$BIN/loadgen" echo --url "$url" --connections 20 --duration 2 --warmup 0 >/dev/null
  callgrind_control -z "$GW" >/dev/null
  out=$("$BIN/loadgen" echo --url "$url" --connections 20 --size 64 --duration "$SECONDS_" \
    --warmup 0 --reply-timeout-ms 60000)
  count_key=messages unit=message
fi
callgrind_control -d "$GW" >/dev/null
sleep 1
count=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['$count_key'])" "$out")
profile=$(ls -S "$WORK"/cg.out* | head -n1)
instructions=$(grep -h '^summary:\|^totals:' "$profile" | head -n1 | awk '{print $2}')
if [[ -n ${PROFILE_KEEP:-} ]]; then cp "$profile" "$PROFILE_KEEP"; fi
printf '{"mode":"%s","%s":%s,"instructions":%s,"instructions_per_%s":%s}\n' \
  "$MODE" "$count_key" "$count" "$instructions" "$unit" $((instructions / count))
