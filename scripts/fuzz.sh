#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets) for SECONDS_PER_TARGET seconds each (default 60),
# one after the other, one process each (docs/fuzzing.md). Needs a nightly toolchain and
# cargo-fuzz (`rustup toolchain install nightly && cargo install cargo-fuzz`); the normal build
# and CI need neither. Seeds come from fuzz/corpus/<target>/ (read only); inputs found while
# fuzzing go to fuzz/work/corpus/<target>/ and crashes to fuzz/artifacts/<target>/.
#
# Environment: FUZZ_TARGETS="a b" runs only those; FUZZ_SANITIZER=address builds with ASan
# (default none: the crates forbid unsafe code, and without ASan a run does about twice the
# executions); FUZZ_ARGS adds libFuzzer flags. Exits non-zero if any target found a crash.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo/fuzz"

seconds="${1:-60}"
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2; exit 2; }
sanitizer="${FUZZ_SANITIZER:-none}"
toolchain="${FUZZ_TOOLCHAIN:-nightly}"

command -v cargo-fuzz >/dev/null 2>&1 \
  || { echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2; exit 2; }
rustup run "$toolchain" rustc --version >/dev/null 2>&1 \
  || { echo "no $toolchain toolchain: rustup toolchain install $toolchain" >&2; exit 2; }

targets="${FUZZ_TARGETS:-$(cargo +"$toolchain" fuzz list)}"
# Debug assertions on: integer overflow panics instead of wrapping.
for target in $targets; do
  cargo +"$toolchain" fuzz build --sanitizer "$sanitizer" --debug-assertions "$target"
done

failed=()
for target in $targets; do
  work="work/corpus/$target"
  mkdir -p "$work" "artifacts/$target"
  log="work/$target.log"
  echo "==> $target: ${seconds}s"
  # One process in the foreground (what `-jobs=1` would fork, without its shared fuzz-0.log);
  # the final stats give executions and exec/s.
  if cargo +"$toolchain" fuzz run --sanitizer "$sanitizer" --debug-assertions "$target" \
      "$work" "corpus/$target" -- \
      -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="artifacts/$target/" ${FUZZ_ARGS:-} >"$log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$target")
  fi
  runs="$(grep -o '^stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
  rate="$(grep -o '^stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
  echo "    $status: ${runs:-?} executions, ${rate:-?} exec/s, log fuzz/$log"
done

if ((${#failed[@]})); then
  echo "crashes in: ${failed[*]} (inputs in fuzz/artifacts/; replay: cargo +$toolchain fuzz run TARGET FILE)" >&2
  exit 1
fi
