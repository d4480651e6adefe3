#!/usr/bin/env bash
# The project's test command: builds the gateway, runs the Rust tests, then the compatibility
# suites against the built binary (Python: pytest + boto3 + websockets; Node: AWS SDK v3 + ws).
# Needs Rust, Python 3.11+ and Node 20+; the network only for crates.io, PyPI and npm.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

step() { printf '\n==> %s\n' "$*"; }
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

for tool in cargo python3 node npm; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (needs Rust, Python 3.11+, Node 20+)"
done
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || die "Python 3.11+ is required (found $(python3 --version 2>&1))"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
  || die "Node 20+ is required (found $(node --version))"

step "Python environment (.venv, tests/compat/requirements.txt)"
if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
fi
.venv/bin/pip install -q --disable-pip-version-check -r tests/compat/requirements.txt \
  || die "pip install -r tests/compat/requirements.txt"

step "Node packages (npm ci --prefix tests/js, tests/vtl)"
npm ci --prefix tests/js --no-audit --no-fund --loglevel=error || die "npm ci --prefix tests/js"
npm ci --prefix tests/vtl --no-audit --no-fund --loglevel=error || die "npm ci --prefix tests/vtl"

target_dir="${CARGO_TARGET_DIR:-$repo/target}"
step "cargo build -p switchboard"
cargo build -p switchboard || die "cargo build -p switchboard"
bin="$target_dir/debug/switchboard"
[[ -x "$bin" ]] || die "built binary not found at $bin"

step "cargo test --workspace"
cargo test --workspace || die "cargo test --workspace"

step "pytest tests/compat (SWITCHBOARD_BIN=$bin)"
SWITCHBOARD_BIN="$bin" .venv/bin/pytest -q tests/compat || die "pytest tests/compat"

step "fault suite: pytest tests/faults (SWITCHBOARD_BIN=$bin)"
SWITCHBOARD_BIN="$bin" .venv/bin/pytest -q tests/faults || die "pytest tests/faults"

step "mapping templates against velocityjs (node tests/vtl/compare.mjs)"
node tests/vtl/compare.mjs || die "node tests/vtl/compare.mjs"

step "node --test tests/js/"
SWITCHBOARD_BIN="$bin" node --test tests/js/ || die "node --test tests/js/"

printf '\nAll test suites passed.\n'
