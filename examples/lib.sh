# shellcheck shell=bash
# Shared by the examples' run.sh scripts (sourced, not run): prerequisite checks that fail
# with one line saying what to install, and one build of the gateway (release, with cargo's
# progress shown) that every example reuses.
#
# Environment: SWITCHBOARD_BIN=PATH uses that binary instead of building one;
# CARGO_TARGET_DIR as for cargo.

examples_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$examples_dir/.." && pwd)"

# Prints "error: ..." and exits 1.
fail() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# need COMMAND HOW-TO-GET-IT: fails unless COMMAND is on PATH.
need() {
  command -v "$1" >/dev/null 2>&1 || fail "'$1' is not installed: $2"
}

# need_python: fails unless $python (default python3) is Python 3.8 or newer.
need_python() {
  local python="${python:-python3}"
  need "$python" "install Python 3 (e.g. apt-get install python3)"
  "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)' 2>/dev/null \
    || fail "$python is $("$python" --version 2>&1); Python 3.8 or newer is needed"
}

# need_python_module MODULE PACKAGE: fails unless $python (default python3) imports MODULE.
need_python_module() {
  local python="${python:-python3}"
  "$python" -c "import $1" 2>/dev/null \
    || fail "$python cannot import $1: pip install $2 (or run scripts/test.sh once, which creates .venv)"
}

# listening PORT: true when something accepts connections on 127.0.0.1:PORT.
listening() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# need_free_port PORT WHAT: fails when PORT is taken (e.g. by another example still running).
need_free_port() {
  if listening "$1"; then
    fail "port $1 ($2) is already in use: stop what listens there (another example or Switchboard?)"
  fi
}

# wait_for_port PORT WHAT [SECONDS]: waits until PORT accepts connections; fails after SECONDS.
wait_for_port() {
  local deadline=$((SECONDS + ${3:-60}))
  until listening "$1"; do
    ((SECONDS < deadline)) || fail "$2 did not start listening on 127.0.0.1:$1"
    sleep 0.2
  done
}

# switchboard_binary: sets $switchboard (for the caller) to $SWITCHBOARD_BIN, or to a release build made now
# (the first one takes a few minutes; later ones only what changed).
switchboard_binary() {
  if [[ -n "${SWITCHBOARD_BIN:-}" ]]; then
    [[ -x "$SWITCHBOARD_BIN" ]] || fail "SWITCHBOARD_BIN=$SWITCHBOARD_BIN is not an executable"
    # shellcheck disable=SC2034 # read by the script that sources this file
    switchboard="$SWITCHBOARD_BIN"
    return
  fi
  need cargo "install Rust (https://rustup.rs), or set SWITCHBOARD_BIN to a switchboard binary"
  printf '==> cargo build --release -p switchboard (a few minutes the first time)\n'
  (cd "$repo" && cargo build --release -p switchboard) || fail "cargo build --release -p switchboard failed (see above)"
  local target="${CARGO_TARGET_DIR:-target}"
  [[ "$target" == /* ]] || target="$repo/$target"
  # shellcheck disable=SC2034 # read by the script that sources this file
  switchboard="$target/release/switchboard"
}
