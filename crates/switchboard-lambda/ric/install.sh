#!/usr/bin/env bash
# Installs the official Lambda runtime interface clients (RICs) that switchboard-lambda starts
# functions with, into DEST (default: $CARGO_TARGET_DIR/lambda-ric, else target/lambda-ric):
#   DEST/python/bin/python                  a virtualenv with awslambdaric (requirements.txt)
#   DEST/node/node_modules/aws-lambda-ric   from npm, as pinned by package-lock.json
# aws-lambda-ric compiles a native addon (aws-lambda-cpp and curl, from source) when it installs:
# that needs make, a C++ compiler, cmake, autoconf, automake and libtool. Missing ones are
# installed with apt-get when running as root on Debian/Ubuntu; otherwise this says which.
# Idempotent: a part whose manifest is unchanged since it was installed is skipped.
# Usage: install.sh [DEST]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
dest="${1:-${CARGO_TARGET_DIR:-$repo/target}/lambda-ric}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"

die() { printf 'lambda-ric: %s\n' "$*" >&2; exit 1; }
say() { printf 'lambda-ric: %s\n' "$*"; }
# True when part $1 was installed from exactly the manifest $2.
current() { [[ -f "$dest/$1/.installed-$(basename "$2")" ]] && cmp -s "$2" "$dest/$1/.installed-$(basename "$2")"; }

for tool in python3 node npm; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed"
done

# --- Python: awslambdaric (a manylinux wheel: nothing to compile on x86_64/aarch64 Linux) ---
if current python "$here/requirements.txt"; then
  say "awslambdaric already in $dest/python"
else
  say "installing awslambdaric into $dest/python"
  rm -rf "$dest/python"
  python3 -m venv "$dest/python" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  "$dest/python/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt" \
    || die "pip install -r $here/requirements.txt"
  cp "$here/requirements.txt" "$dest/python/.installed-requirements.txt"
fi

# --- Node.js: aws-lambda-ric (compiles its native client) ---
if current node "$here/package-lock.json"; then
  say "aws-lambda-ric already in $dest/node"
else
  build_tools=(make g++ cmake autoconf automake libtoolize)
  missing=()
  for tool in "${build_tools[@]}"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  if (( ${#missing[@]} )); then
    packages=(make g++ cmake autoconf automake libtool)
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
      say "apt-get install ${packages[*]} (aws-lambda-ric compiles a native client; missing: ${missing[*]})"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq || die "apt-get update"
      apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null \
        || die "apt-get install ${packages[*]}"
    else
      die "aws-lambda-ric compiles a native client and needs ${missing[*]}: install ${packages[*]} (Debian/Ubuntu: apt-get install ${packages[*]})"
    fi
  fi
  say "installing aws-lambda-ric into $dest/node (compiles its native client: a few minutes)"
  rm -rf "$dest/node"
  mkdir -p "$dest/node"
  cp "$here/package.json" "$here/package-lock.json" "$dest/node/"
  npm ci --prefix "$dest/node" --no-audit --no-fund --loglevel=error || die "npm ci (aws-lambda-ric)"
  [[ -f "$dest/node/node_modules/aws-lambda-ric/dist/rapid-client.node" ]] \
    || die "aws-lambda-ric installed without its native client (dist/rapid-client.node)"
  cp "$here/package-lock.json" "$dest/node/.installed-package-lock.json"
fi
say "ready: python=$dest/python/bin/python node-ric=$dest/node/node_modules/aws-lambda-ric"
