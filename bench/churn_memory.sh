#!/usr/bin/env bash
# Does memory follow the work done or the connections held? A release gateway
# (configs/gateway-mock.toml) gets rounds of connect churn (loadgen connect, 10 s each) and
# then rounds of pushes to 200 clients (loadgen push); its RSS is printed after each round.
# A leak per connection or per push shows as RSS that keeps rising round after round.
#
#   bench/churn_memory.sh [ROUNDS]      (default 4 connect rounds, 3 push rounds)
#
# Uses target/release/{switchboard,loadgen} (CARGO_TARGET_DIR), built if missing.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
source "$HERE/lib.sh"
ROUNDS=${1:-4}
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
[[ -x $BIN/switchboard && -x $BIN/loadgen ]] \
  || (cd "$ROOT" && cargo build --release -p switchboard -p switchboard-bench) || exit 1
WORK=$(mktemp -d)
sed "s|@BACKEND@|http://127.0.0.1:9|g" "$HERE/configs/gateway-mock.toml" >"$WORK/gateway.toml"
"$BIN/switchboard" serve --config "$WORK/gateway.toml" >"$WORK/out" 2>"$WORK/err" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$WORK"' EXIT
URL=$(wait_line "$WORK/out" 'ws://127\.0\.0\.1:[0-9]+/dev') || exit 1
M=$(wait_line "$WORK/out" 'management API on http://127\.0\.0\.1:[0-9]+') || exit 1
MGMT="${M#management API on }/dev"
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$PID/status"; }
echo "start: rss_kb=$(rss_kb)"
for i in $(seq "$ROUNDS"); do
  n=$("$BIN/loadgen" connect --url "$URL" --duration 10 --concurrency 32 | sed -n 's/.*"connections":\([0-9]*\).*/\1/p')
  echo "connect round $i: $n connections opened and closed, rss_kb=$(rss_kb)"
done
for i in $(seq $((ROUNDS > 1 ? ROUNDS - 1 : 1))); do
  n=$("$BIN/loadgen" push --url "$URL" --mgmt "$MGMT" --connections 200 --senders 16 --duration 10 | sed -n 's/.*"accepted":\([0-9]*\).*/\1/p')
  echo "push round $i: $n pushes accepted, rss_kb=$(rss_kb)"
done
