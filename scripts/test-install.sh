#!/usr/bin/env bash
# The install path, as README.md and docs/operations.md give it: `cargo install --path
# crates/switchboard --locked` into a temporary root, then the installed binary
#   - prints its version with the git revision of this checkout (`switchboard --version`),
#   - serves the built-in demo from an empty directory: a WebSocket client sends `hello` and
#     gets it back,
#   - and exits 0 on SIGTERM.
#
# The build reuses the workspace's target directory (CARGO_TARGET_DIR, default ./target), so
# after `cargo build --release -p switchboard` (or a previous run) it only re-links; from
# nothing it is one release build of the gateway. Needs Rust, Python 3 with the `websockets`
# package (.venv made by scripts/test.sh, or PYTHON=...), and crates.io unless the crates are
# already downloaded (CARGO_NET_OFFLINE=true forbids the network).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
die() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

python="${PYTHON:-}"
if [[ -z "$python" ]]; then
  if [[ -x .venv/bin/python ]]; then python=.venv/bin/python; else python=python3; fi
fi
"$python" -c 'import websockets' 2>/dev/null \
  || die "$python cannot import websockets: run scripts/test.sh once (it makes .venv) or pip install -r tests/compat/requirements.txt"

work="$(mktemp -d)"
server=""
cleanup() {
  if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
printf '==> cargo install --path crates/switchboard --locked --root %s\n' "$work/root"
cargo install --path crates/switchboard --locked --root "$work/root" \
  || die "cargo install --path crates/switchboard --locked"
bin="$work/root/bin/switchboard"
[[ -x "$bin" ]] || die "cargo install put no binary at $bin"
printf 'installed: %s (%s bytes)\n' "$bin" "$(stat -c %s "$bin")"

version="$("$bin" --version)"
printf '%s\n' "$version"
revision="unknown"
if git -C "$repo" rev-parse --short HEAD >/dev/null 2>&1; then
  revision="$(git -C "$repo" rev-parse --short HEAD)"
fi
[[ "$version" =~ ^switchboard\ [0-9]+\.[0-9]+\.[0-9]+\ \(git\ ${revision}\)$ ]] \
  || die "--version printed '$version'; expected 'switchboard X.Y.Z (git $revision)'"

# From an empty directory (no ./switchboard.toml): the built-in demo, on free ports.
mkdir "$work/run"
(cd "$work/run" && exec "$bin" serve --listen 127.0.0.1:0 --management-listen 127.0.0.1:0) \
  >"$work/stdout" 2>"$work/stderr" &
server=$!
url=""
deadline=$((SECONDS + 30))
while [[ -z "$url" ]]; do
  url="$(sed -n 's/^listening on \(ws:\/\/.*\/dev\)$/\1/p' "$work/stdout" | head -n 1)"
  if [[ -z "$url" ]]; then
    kill -0 "$server" 2>/dev/null || die "the installed binary exited: $(cat "$work/stderr")"
    ((SECONDS < deadline)) || die "no 'listening on' line within 30 s: $(cat "$work/stderr")"
    sleep 0.1
  fi
done
"$python" scripts/demo_client.py "$url" || die "the installed binary does not serve the demo"

kill -TERM "$server"
status=0
wait "$server" || status=$?
server=""
[[ "$status" == 0 ]] || die "SIGTERM: exit status $status, expected 0: $(cat "$work/stderr")"
printf 'install path: ok\n'
