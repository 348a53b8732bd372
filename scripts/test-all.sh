#!/usr/bin/env bash
# Runs every test of ucwa from a clean clone on Debian with Rust: formatting and lints, the Rust
# suites (library, C ABI, keep-alive, simulator), the C suite under AddressSanitizer, the Python
# suite (pytest), the C# suite (Mono) and the short chaos soak (40 clients for a minute against
# the simulator's fault injection, asserting only invariants that do not depend on machine
# speed; see examples/chaos_soak.rs). Installs what it needs (you are root). Every suite runs
# even when an earlier one fails; the last line totals them, and the exit code is non-zero if any
# suite failed or ran no test.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

apt_updated=0
need() { # need COMMAND PACKAGE...
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$apt_updated" = 0 ]; then apt-get update -qq >/dev/null; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${@:2}" >/dev/null
}
need cc gcc
need c++ g++
need make make
need python3 python3
need mcs mono-mcs
need mono mono-runtime

failed_suites=()
passed=0
failed=0

# run NAME COMMAND...: runs a suite, keeps its output, and adds its counts to the totals.
run() {
  local name=$1; shift
  echo "===== $name"
  "$@" 2>&1 | tee "$logs/$name.log"
  local rc=${PIPESTATUS[0]}
  local p f
  case "$name" in
    rust)
      p=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$logs/$name.log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
      f=$(grep -Eo '[0-9]+ failed;' "$logs/$name.log" | awk '{s+=$1} END {print s+0}') ;;
    python)
      p=$(tail -n 5 "$logs/$name.log" | grep -Eo '[0-9]+ passed' | tail -n1 | grep -Eo '[0-9]+' || echo 0)
      f=$(tail -n 5 "$logs/$name.log" | grep -Eo '[0-9]+ failed' | tail -n1 | grep -Eo '[0-9]+' || echo 0) ;;
    *)
      local last
      last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$logs/$name.log" | tail -n1)
      p=$(echo "$last" | grep -Eo '^[0-9]+' || echo 0)
      f=$(echo "$last" | grep -Eo '[0-9]+ failed' | grep -Eo '[0-9]+' || echo 0) ;;
  esac
  p=${p:-0}; f=${f:-0}
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$rc" != 0 ] || [ "$p" = 0 ]; then
    failed_suites+=("$name (exit $rc, $p passed)")
  fi
}

echo "===== lint (cargo fmt --check, cargo clippy -D warnings)"
if ! { cargo fmt --all -- --check && cargo clippy --workspace --all-targets -- -D warnings; }; then
  failed_suites+=("lint")
fi
run rust cargo test --workspace
run c bash bindings/c/run-tests.sh
run python bash bindings/python/run-tests.sh
run csharp bash bindings/csharp/run-tests.sh
# About 70 s of wall time (40 clients, 1 minute of faults, a settle that ends when all are true);
# its dependencies are already built by the suites above.
run soak cargo run --quiet --example chaos_soak -- --clients 40 --minutes 1

echo "===== summary"
if [ ${#failed_suites[@]} -gt 0 ]; then
  printf 'failed suite: %s\n' "${failed_suites[@]}"
  [ "$failed" = 0 ] && failed=${#failed_suites[@]}
fi
echo "total: $passed passed, $failed failed"
[ ${#failed_suites[@]} -eq 0 ]
