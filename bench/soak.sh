#!/usr/bin/env bash
# Soak: a release gateway (configs/gateway-mock.toml) under SOAK_CONNECTIONS connections doing
# echo, pushes and churn for SOAK_MINUTES, sampled every 5 s into bench/results/soak.csv and
# plotted into bench/results/soak.png (gnuplot, installed from Debian if missing).
#
#   SOAK_MINUTES=30 bench/soak.sh
#
# SOAK_CONNECTIONS (10000), SOAK_SENDERS (8), SOAK_PUSH_RATE (100 per sender per second),
# SOAK_CHURN (20 per second), SOAK_ECHO_MS (5000), SOAK_BIN_DIR (a directory holding switchboard
# and soak already built; default: build them). Not part of the test command.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
source "$HERE/lib.sh"
MINUTES=${SOAK_MINUTES:-30}
RESULTS="$HERE/results"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
if [[ -n "${SOAK_BIN_DIR:-}" ]]; then
  BIN="$SOAK_BIN_DIR"   # switchboard and soak already built (a copy, so builds meanwhile do not touch them)
else
  (cd "$ROOT" && cargo build --release -p switchboard -p switchboard-bench) || exit 1
  BIN="$CARGO_TARGET_DIR/release"
fi
WORK="$(mktemp -d -t switchboard-soak.XXXXXX)"
trap 'kill -TERM ${SB_PID:-} 2>/dev/null; wait ${SB_PID:-} 2>/dev/null; rm -rf "$WORK"' EXIT

sed "s|@BACKEND@|http://127.0.0.1:9|g" "$HERE/configs/gateway-mock.toml" >"$WORK/gateway.toml"
"$BIN/switchboard" serve --config "$WORK/gateway.toml" >"$WORK/sb.out" 2>"$WORK/sb.err" &
SB_PID=$!
URL=$(wait_line "$WORK/sb.out" 'ws://127\.0\.0\.1:[0-9]+/dev') || exit 1
M=$(wait_line "$WORK/sb.out" 'management API on http://127\.0\.0\.1:[0-9]+') || exit 1
MGMT="${M#management API on }/dev"

mkdir -p "$RESULTS"
"$BIN/soak" --url "$URL" --mgmt "$MGMT" --pid "$SB_PID" \
  --connections "${SOAK_CONNECTIONS:-10000}" --senders "${SOAK_SENDERS:-8}" \
  --push-rate "${SOAK_PUSH_RATE:-100}" --churn "${SOAK_CHURN:-20}" \
  --echo-interval-ms "${SOAK_ECHO_MS:-5000}" --duration $((MINUTES * 60)) \
  --csv "$RESULTS/soak.csv" | tee "$RESULTS/soak-summary.json"
status=${PIPESTATUS[0]}

if ! command -v gnuplot >/dev/null; then
  { [[ $EUID -eq 0 ]] && apt-get install -y -q gnuplot-nox >/dev/null 2>&1; } || echo "no gnuplot: soak.csv written, no plot"
fi
if command -v gnuplot >/dev/null; then
  gnuplot <<GP
set datafile separator ","
set terminal pngcairo size 1200,900
set output "$RESULTS/soak.png"
set multiplot layout 3,1 title "Switchboard soak: ${SOAK_CONNECTIONS:-10000} connections, ${MINUTES} min"
set xlabel "seconds"
set ylabel "MiB"
plot "$RESULTS/soak.csv" using 1:(\$2/1048576) every ::1 with lines title "gateway RSS"
set ylabel "count"
plot "$RESULTS/soak.csv" using 1:3 every ::1 with lines title "open files", "" using 1:4 every ::1 with lines title "connections"
set ylabel "µs"
plot "$RESULTS/soak.csv" using 1:5 every ::1 with lines title "echo p50", "" using 1:6 every ::1 with lines title "echo p99"
unset multiplot
GP
  echo "plot: $RESULTS/soak.png"
fi
exit "$status"
