#!/usr/bin/env bash
# The project's test command: builds the gateway, runs the Rust tests, then the compatibility
# suites against the built binary (Python: pytest + boto3 + websockets; Node: AWS SDK v3 + ws),
# and compares the mapping-template engine with Apache Velocity 1.7 on a JDK.
# Needs Rust, Python 3.11+, Node 20+, a JDK and Debian's velocity and libjsonpath-java packages
# (installed with apt-get when missing and running as root); the network only for crates.io,
# PyPI, npm and the Debian archive. A suite that runs zero tests fails.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

step() { printf '\n==> %s\n' "$*"; }
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

for tool in cargo python3 node npm openssl; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (needs Rust, Python 3.11+, Node 20+, openssl)"
done
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || die "Python 3.11+ is required (found $(python3 --version 2>&1))"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
  || die "Node 20+ is required (found $(node --version))"

# The Velocity 1.7 comparison (tests/vtl/compare.mjs) needs javac and these Debian jars.
vtl_jars=(velocity commons-collections3 commons-lang json-path json-smart asm slf4j-api slf4j-nop)
vtl_ready() {
  command -v javac >/dev/null 2>&1 || return 1
  local jar
  for jar in "${vtl_jars[@]}"; do [[ -f "/usr/share/java/$jar.jar" ]] || return 1; done
}
if ! vtl_ready; then
  vtl_packages=(default-jdk-headless velocity libjsonpath-java libslf4j-java)
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    step "Debian packages for the Velocity 1.7 comparison (apt-get install ${vtl_packages[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || die "apt-get update"
    apt-get install -y -qq --no-install-recommends "${vtl_packages[@]}" >/dev/null \
      || die "apt-get install ${vtl_packages[*]}"
    vtl_ready || die "javac or a jar in /usr/share/java is still missing after apt-get install"
  else
    die "the Velocity 1.7 comparison needs javac and /usr/share/java/{$(IFS=,; echo "${vtl_jars[*]}")}.jar: run as root 'apt-get install ${vtl_packages[*]}'"
  fi
fi

# Fails unless the JUnit XML report $1 (of suite $2) records at least one test that ran.
require_tests_ran() {
  python3 - "$1" "$2" <<'PY' || die "$2 ran no tests"
import sys, xml.etree.ElementTree as ET
suites = ET.parse(sys.argv[1]).getroot().iter("testsuite")
ran = sum(int(s.get("tests", 0)) - int(s.get("skipped", 0)) for s in suites)
print(f"{sys.argv[2]}: {ran} tests ran")
sys.exit(0 if ran > 0 else 1)
PY
}
# Fails unless the TAP report $1 (of suite $2) records at least one passing test.
require_tap_passes() {
  local passed
  passed="$(sed -n 's/^# pass \([0-9][0-9]*\)$/\1/p' "$1" | tail -n 1)"
  printf '%s: %s tests passed\n' "$2" "${passed:-0}"
  [[ "${passed:-0}" -gt 0 ]] || die "$2 ran no tests"
}

step "Python environment (.venv, tests/compat/requirements.txt)"
if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
fi
.venv/bin/pip install -q --disable-pip-version-check -r tests/compat/requirements.txt \
  || die "pip install -r tests/compat/requirements.txt"

step "Node packages (npm ci --prefix tests/js)"
npm ci --prefix tests/js --no-audit --no-fund --loglevel=error || die "npm ci --prefix tests/js"

target_dir="${CARGO_TARGET_DIR:-$repo/target}"
reports="$target_dir/test-reports"
mkdir -p "$reports"
step "cargo build -p switchboard"
cargo build -p switchboard || die "cargo build -p switchboard"
bin="$target_dir/debug/switchboard"
[[ -x "$bin" ]] || die "built binary not found at $bin"

step "Lambda runtime interface clients (crates/switchboard-lambda/ric/install.sh; needs cmake, autoconf, automake, libtool)"
bash crates/switchboard-lambda/ric/install.sh "$target_dir/lambda-ric" || die "crates/switchboard-lambda/ric/install.sh"

step "cargo test --workspace"
cargo test --workspace || die "cargo test --workspace"

step "pytest tests/compat (SWITCHBOARD_BIN=$bin)"
rm -f "$reports/pytest.xml"
SWITCHBOARD_BIN="$bin" .venv/bin/pytest -q tests/compat --junitxml="$reports/pytest.xml" \
  || die "pytest tests/compat"
require_tests_ran "$reports/pytest.xml" "pytest tests/compat"

step "fault suite: pytest tests/faults (SWITCHBOARD_BIN=$bin)"
rm -f "$reports/faults.xml"
SWITCHBOARD_BIN="$bin" .venv/bin/pytest -q tests/faults --junitxml="$reports/faults.xml" \
  || die "pytest tests/faults"
require_tests_ran "$reports/faults.xml" "pytest tests/faults"

step "cluster suite: pytest tests/cluster (real nats-server processes)"
rm -f "$reports/cluster.xml"
SWITCHBOARD_BIN="$bin" .venv/bin/pytest -q tests/cluster --junitxml="$reports/cluster.xml" \
  || die "pytest tests/cluster"
require_tests_ran "$reports/cluster.xml" "pytest tests/cluster"

step "mapping templates against Apache Velocity 1.7 (node tests/vtl/compare.mjs)"
node tests/vtl/compare.mjs || die "node tests/vtl/compare.mjs"

step "node --test tests/js/"
rm -f "$reports/node-test.tap"
SWITCHBOARD_BIN="$bin" node --test --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$reports/node-test.tap" tests/js/ \
  || die "node --test tests/js/"
require_tap_passes "$reports/node-test.tap" "node --test tests/js/"

printf '\nAll test suites passed.\n'
