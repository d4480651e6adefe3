# Shell helpers shared by bench/run.sh and bench/profile.sh (sourced, not run).

# wait_line FILE REGEX [SECONDS]: waits (10 s unless told) for a line matching REGEX in FILE and
# prints the match; on time-out prints FILE (and its .err twin) to stderr and returns 1.
wait_line() {
  local i m
  for i in $(seq $((${3:-10} * 10))); do
    m=$(grep -Eo "$2" "$1" 2>/dev/null | head -n1)
    [[ -n $m ]] && { echo "$m"; return 0; }
    sleep 0.1
  done
  echo "error: no line matching '$2' in $1:" >&2
  cat "$1" "${1%.out}.err" >&2 2>/dev/null
  return 1
}
