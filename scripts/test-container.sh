#!/usr/bin/env bash
# The container image (Dockerfile): built with docker or podman, it runs as a non-root user,
# prints the revision it was built from, serves the built-in demo on port 8080 (a WebSocket
# client sends `hello` and gets it back through a published port), and stops with status 0
# on SIGTERM. Skips, saying so, when no container engine is running here.
#
# Needs Python 3 with the `websockets` package (.venv made by scripts/test.sh, or PYTHON=...)
# and, for the build, crates.io reachable from the engine. IMAGE_MAX_MB (default 60) bounds
# the image's size.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
die() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

engine=""
for candidate in docker podman; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" info >/dev/null 2>&1; then
    engine="$candidate"
    break
  fi
done
if [[ -z "$engine" ]]; then
  printf 'SKIPPED: container image test: no container engine is running here (docker info and podman info fail or are not installed); the image was neither built nor run.\n'
  exit 0
fi

python="${PYTHON:-}"
if [[ -z "$python" ]]; then
  if [[ -x .venv/bin/python ]]; then python=.venv/bin/python; else python=python3; fi
fi
"$python" -c 'import websockets' 2>/dev/null \
  || die "$python cannot import websockets: run scripts/test.sh once (it makes .venv) or pip install -r tests/compat/requirements.txt"

revision="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
tag="switchboard-image-test:$$"
container=""
errors="$(mktemp)"
cleanup() {
  if [[ -n "$container" ]]; then "$engine" rm -f "$container" >/dev/null 2>&1 || true; fi
  "$engine" rmi -f "$tag" >/dev/null 2>&1 || true
  rm -f "$errors"
}
trap cleanup EXIT

printf '==> %s build --build-arg GIT_REVISION=%s -t %s .\n' "$engine" "$revision" "$tag"
"$engine" build --build-arg "GIT_REVISION=$revision" -t "$tag" . || die "$engine build"

user="$("$engine" image inspect --format '{{.Config.User}}' "$tag")"
case "$user" in
  "" | root | 0 | 0:*) die "the image runs as '${user:-root}', not as a non-root user" ;;
esac
size="$("$engine" image inspect --format '{{.Size}}' "$tag")"
max_mb="${IMAGE_MAX_MB:-60}"
printf 'image: user %s, %s MB\n' "$user" "$((size / 1000000))"
((size <= max_mb * 1000000)) || die "the image is $((size / 1000000)) MB, more than $max_mb MB"

version="$("$engine" run --rm "$tag" --version)"
[[ "$version" == *"(git $revision)" ]] || die "--version in the image printed '$version', not revision $revision"

container="$("$engine" run -d -p 127.0.0.1::8080 "$tag")"
port="$("$engine" port "$container" 8080/tcp | head -n 1 | sed 's/.*://')"
[[ "$port" =~ ^[0-9]+$ ]] || die "no published port for 8080: '$port'"
# The container may still be starting: retry the whole client check until a deadline.
deadline=$((SECONDS + 60))
until "$python" scripts/demo_client.py "ws://127.0.0.1:$port/dev" 2>"$errors"; do
  if ((SECONDS >= deadline)); then
    "$engine" logs "$container" >&2 || true
    die "the container does not serve the demo on port $port: $(cat "$errors")"
  fi
  sleep 0.5
done

"$engine" stop --time 20 "$container" >/dev/null
status="$("$engine" inspect --format '{{.State.ExitCode}}' "$container")"
[[ "$status" == 0 ]] || die "the container exited with $status after SIGTERM, expected 0"
printf 'container image: ok\n'
