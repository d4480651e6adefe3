#!/usr/bin/env bash
# Starts moto_server on :8000 (unless DynamoDB is already there, e.g. DynamoDB Local),
# creates the table, and serves the chat on ws://127.0.0.1:8080/dev. Ctrl-C stops all.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
cargo build --release -q -p switchboard
if ! (exec 3<>/dev/tcp/127.0.0.1/8000) 2>/dev/null; then
  moto_server -H 127.0.0.1 -p 8000 >/dev/null 2>&1 &
  moto=$!
  trap 'kill $moto 2>/dev/null' EXIT
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/8000) 2>/dev/null && break; sleep 0.1; done
fi
python3 "$here/create_table.py" http://127.0.0.1:8000
echo "connect with: wscat -c ws://127.0.0.1:8080/dev"
echo '  then send: {"action":"sendmessage","room":"lobby","text":"hi"}'
echo '        and: {"action":"history","room":"lobby"}'
target/release/switchboard serve --config "$here/switchboard.toml"
