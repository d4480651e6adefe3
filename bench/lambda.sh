#!/usr/bin/env bash
# Local Lambda runtime benchmark (switchboard-lambda), all on this machine over loopback:
#   1. cold start and warm latency of a Node.js and a Python handler through the Invoke API
#      (lambda-invoke: BENCH_LAMBDA_COLD fresh functions for cold starts, then BENCH_LAMBDA_WARM
#      sequential calls of one of them);
#   2. messages per second through the gateway (AWS_PROXY two-way $default, loadgen echo with
#      BENCH_LAMBDA_CONNS connections) to the warm local handler, next to the same echo handler
#      behind the testkit's Lambda Invoke API stand-in (lambda-standin, an in-process Rust handler).
#
#   bench/lambda.sh
#
# Environment: BENCH_LAMBDA_COLD=10, BENCH_LAMBDA_WARM=200, BENCH_LAMBDA_CONNS=50,
# BENCH_SECONDS=10, BENCH_WARMUP=3, BENCH_LAMBDA_CONCURRENCY=10 (workers per function),
# CARGO_TARGET_DIR. Needs what crates/switchboard-lambda/ric/install.sh needs (it is run first).
# Prints the results as Markdown and writes them to bench/results/lambda.md.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
COLD=${BENCH_LAMBDA_COLD:-10}
WARM=${BENCH_LAMBDA_WARM:-200}
CONNS=${BENCH_LAMBDA_CONNS:-50}
SECONDS_=${BENCH_SECONDS:-10}
WARMUP=${BENCH_WARMUP:-3}
CONCURRENCY=${BENCH_LAMBDA_CONCURRENCY:-10}

log() { printf '[lambda-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
log "building (release) into $CARGO_TARGET_DIR"
(cd "$ROOT" && cargo build --release -p switchboard -p switchboard-bench \
  && cargo build --release -p switchboard-lambda --example serve-functions) || { echo "error: build failed" >&2; exit 1; }
BIN="$CARGO_TARGET_DIR/release"
RIC="$CARGO_TARGET_DIR/lambda-ric"
bash "$ROOT/crates/switchboard-lambda/ric/install.sh" "$RIC" >&2 || exit 1

WORK="$(mktemp -d -t switchboard-lambda-bench.XXXXXX)"
PIDS=()
stop_pid() { # TERM, then KILL after 5 s
  local p=$1 i
  kill -TERM "$p" 2>/dev/null || return 0
  for i in $(seq 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
}
cleanup() {
  local p
  for p in "${PIDS[@]}"; do stop_pid "$p"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start() { # start NAME CMD...: background, output in $WORK/NAME.{out,err}; sets STARTED_PID
  local name=$1; shift
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
}
stop() { # stop PID (one started with `start`)
  local p=$1 keep=() q
  stop_pid "$p"
  for q in "${PIDS[@]}"; do [[ $q != "$p" ]] && keep+=("$q"); done
  PIDS=("${keep[@]+"${keep[@]}"}")
}

# The local runtime with COLD copies of each echo handler (each copy's first call is a cold start).
fns=()
for i in $(seq "$COLD"); do
  fns+=("node$i=nodejs20.x:echo.handler:$HERE/lambda/node" "python$i=python3.11:echo.handler:$HERE/lambda/python")
done
start functions "$BIN/examples/serve-functions" --listen 127.0.0.1:0 --ric "$RIC" \
  --concurrency "$CONCURRENCY" --timeout 30 "${fns[@]}"
FUNCTIONS_PID=$STARTED_PID
LOCAL=$(wait_line "$WORK/functions.out" 'http://127\.0\.0\.1:[0-9]+') || exit 1
log "local Lambda runtime on $LOCAL"

latency() { # latency PREFIX: JSON of lambda-invoke over PREFIX1..PREFIX$COLD
  local list
  list=$(seq -s, -f "$1%g" 1 "$COLD")
  "$BIN/lambda-invoke" --endpoint "$LOCAL" --functions "$list" --warm "$WARM"
}
log "latency: Node.js"
NODE_LAT=$(latency node) || exit 1
log "latency: Python"
PY_LAT=$(latency python) || exit 1

gateway() { # gateway NAME ENDPOINT FUNCTION [ENV...]: starts the gateway, sets URL and GW_PID
  local cfg="$WORK/$1.toml"
  sed -e "s|@LAMBDA@|$2|g" -e "s|@FUNCTION@|$3|g" "$HERE/configs/gateway-lambda.toml" >"$cfg"
  start "gw-$1" env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN "${@:4}" \
    "$BIN/switchboard" serve --config "$cfg"
  GW_PID=$STARTED_PID
  URL=$(wait_line "$WORK/gw-$1.out" 'ws://127\.0\.0\.1:[0-9]+/dev') || return 1
}
echo_run() { # echo_run: loadgen echo JSON against $URL
  "$BIN/loadgen" echo --url "$URL" --connections "$CONNS" --size 64 \
    --duration "$SECONDS_" --warmup "$WARMUP" --message-template '{"action":"x","p":"PAYLOAD"}'
}

log "throughput: gateway → local Node.js handler"
gateway local-node "$LOCAL" node1 || exit 1
NODE_TP=$(echo_run); stop "$GW_PID"
log "throughput: gateway → local Python handler"
gateway local-python "$LOCAL" python1 || exit 1
PY_TP=$(echo_run); stop "$GW_PID"
# Workers of node1 / python1: all workers of the language less one per other (cold-start) copy.
WORKERS_NODE=$(( $(pgrep -P "$FUNCTIONS_PID" -f 'aws-lambda-ric' | wc -l) - (COLD - 1) ))
WORKERS_PY=$(( $(pgrep -P "$FUNCTIONS_PID" -f 'awslambdaric' | wc -l) - (COLD - 1) ))
stop "$FUNCTIONS_PID"

log "throughput: gateway → testkit Lambda stand-in (in-process Rust echo handler)"
KEY=AKIDBENCHLAMBDA SECRET=bench/lambda/secret
start standin "$BIN/lambda-standin" --access-key-id "$KEY" --secret-access-key "$SECRET"
STANDIN=$(wait_line "$WORK/standin.out" 'http://127\.0\.0\.1:[0-9]+') || exit 1
gateway standin "$STANDIN" echo AWS_ACCESS_KEY_ID="$KEY" AWS_SECRET_ACCESS_KEY="$SECRET" || exit 1
SI_TP=$(echo_run); stop "$GW_PID"

field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]); [v:=v[k] for k in sys.argv[2].split(".")]; print(v)' "$1" "$2"; }
ms() { python3 -c 'import sys; print(f"{int(sys.argv[1])/1000:.1f}")' "$(field "$1" "$2")"; }
report=$(cat <<MD
# Local Lambda runtime (switchboard-lambda) — $(date -u +%Y-%m-%d)

Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; node $(node --version), $("$RIC/python/bin/python" --version 2>&1);
aws-lambda-ric 3.3.0, awslambdaric 4.2.2. Command: \`bench/lambda.sh\` (BENCH_LAMBDA_COLD=$COLD, BENCH_LAMBDA_WARM=$WARM,
BENCH_LAMBDA_CONNS=$CONNS, BENCH_SECONDS=$SECONDS_, BENCH_LAMBDA_CONCURRENCY=$CONCURRENCY).

## Invoke API latency (one call at a time, keep-alive connection)

| handler | cold start p50 | cold start max ($COLD) | warm p50 | warm p99 ($WARM) |
|---|---|---|---|---|
| Node.js (nodejs20.x, aws-lambda-ric) | $(ms "$NODE_LAT" cold.p50_us) ms | $(ms "$NODE_LAT" cold.max_us) ms | $(ms "$NODE_LAT" warm.p50_us) ms | $(ms "$NODE_LAT" warm.p99_us) ms |
| Python (awslambdaric) | $(ms "$PY_LAT" cold.p50_us) ms | $(ms "$PY_LAT" cold.max_us) ms | $(ms "$PY_LAT" warm.p50_us) ms | $(ms "$PY_LAT" warm.p99_us) ms |

## Through the gateway: $CONNS WebSocket connections, closed loop, 64 B, AWS_PROXY two-way \$default

| Lambda behind the Invoke API | messages/s | p50 | p99 | errors |
|---|---|---|---|---|
| local Node.js echo handler ($WORKERS_NODE workers) | $(field "$NODE_TP" messages_per_sec) | $(ms "$NODE_TP" p50_us) ms | $(ms "$NODE_TP" p99_us) ms | $(field "$NODE_TP" errors) |
| local Python echo handler ($WORKERS_PY workers) | $(field "$PY_TP" messages_per_sec) | $(ms "$PY_TP" p50_us) ms | $(ms "$PY_TP" p99_us) ms | $(field "$PY_TP" errors) |
| testkit stand-in, in-process Rust echo (SigV4-checked) | $(field "$SI_TP" messages_per_sec) | $(ms "$SI_TP" p50_us) ms | $(ms "$SI_TP" p99_us) ms | $(field "$SI_TP" errors) |
MD
)
mkdir -p "$HERE/results"
printf '%s\n' "$report" | tee "$HERE/results/lambda.md"
printf '\nraw: node=%s\npython=%s\nnode-ws=%s\npython-ws=%s\nstandin-ws=%s\n' "$NODE_LAT" "$PY_LAT" "$NODE_TP" "$PY_TP" "$SI_TP" >&2
