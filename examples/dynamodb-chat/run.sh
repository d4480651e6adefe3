#!/usr/bin/env bash
# Runs the DynamoDB chat: moto_server on 127.0.0.1:8000 (unless something already listens
# there, e.g. DynamoDB Local), the ChatMessages table, and Switchboard on ports 8080 (clients)
# and 8081 (management). Ctrl-C stops all.
#
# Needs Python 3 with boto3, moto_server (pip install "moto[server]": found on PATH, in the
# repository's .venv, or at $MOTO_SERVER) unless port 8000 is served already, and Rust to
# build the gateway unless SWITCHBOARD_BIN names a binary. DYNAMODB_ENDPOINT=URL uses another
# DynamoDB (on 127.0.0.1, moto_server is started on its port when nothing listens there).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=examples/lib.sh
source "$here/../lib.sh"

export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"

# DynamoDB: moto_server started here on 127.0.0.1:8000, or what already listens there, or
# DYNAMODB_ENDPOINT (e.g. DynamoDB Local on another port).
endpoint="${DYNAMODB_ENDPOINT:-http://127.0.0.1:8000}"
local_port=""
if [[ "$endpoint" =~ ^http://(127\.0\.0\.1|localhost):([0-9]+)/?$ ]]; then
  local_port="${BASH_REMATCH[2]}"
fi

# The repository's .venv (made by scripts/test.sh) has boto3 and moto; use it when it is there.
python=python3
if [[ -x "$repo/.venv/bin/python" ]]; then python="$repo/.venv/bin/python"; fi
need_python
moto=""
if [[ -n "$local_port" ]] && ! listening "$local_port"; then
  moto="${MOTO_SERVER:-$(command -v moto_server || true)}"
  if [[ -z "$moto" && -x "$repo/.venv/bin/moto_server" ]]; then moto="$repo/.venv/bin/moto_server"; fi
  [[ -n "$moto" && -x "$moto" ]] \
    || fail "moto_server is not installed and nothing listens on 127.0.0.1:$local_port: pip install \"moto[server]\" (or start DynamoDB Local there, or set DYNAMODB_ENDPOINT)"
fi
need_python_module boto3 boto3
need_free_port 8080 "Switchboard's clients"
need_free_port 8081 "Switchboard's management API"
switchboard_binary

pids=()
work="$(mktemp -d)"
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
  echo "stopped"
}
trap cleanup EXIT INT TERM

if [[ -n "$moto" ]]; then
  echo "==> starting $moto on 127.0.0.1:$local_port"
  "$moto" -H 127.0.0.1 -p "$local_port" >/dev/null 2>&1 &
  pids+=($!)
  wait_for_port "$local_port" "moto_server"
fi
"$python" "$here/create_table.py" "$endpoint" \
  || fail "could not create the ChatMessages table at $endpoint (see above)"
config="$here/switchboard.toml"
if [[ "$endpoint" != "http://127.0.0.1:8000" ]]; then
  # The example's file with the endpoint in use.
  sed "s|http://127.0.0.1:8000|$endpoint|" "$config" >"$work/switchboard.toml"
  config="$work/switchboard.toml"
fi
"$switchboard" serve --config "$config" &
pids+=($!)
wait_for_port 8080 "Switchboard"

cat <<'MSG'

The DynamoDB chat is running. Connect with: wscat -c ws://127.0.0.1:8080/dev   (npm i -g wscat)
  then send: {"action":"sendmessage","room":"lobby","text":"hi"}
        and: {"action":"history","room":"lobby"}
Ctrl-C stops the gateway (and moto_server, if this script started it).
MSG

wait -n "${pids[@]}"
