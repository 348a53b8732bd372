#!/usr/bin/env bash
# Runs every test of ucwa from a clean clone on Debian with Rust: formatting and lints, the Rust
# suites (library, C ABI, keep-alive, simulator), the C suite under AddressSanitizer, the Python
# suite (pytest), the C# suite (Mono), the shell's suite (the `ucwa` command and its service,
# bindings/cli/run-tests.sh), the short chaos soak (40 clients for a minute against
# the simulator's fault injection, asserting only invariants that do not depend on machine
# speed; see examples/chaos_soak/main.rs), and the Windows build (scripts/build-windows.sh: ucwa.dll,
# ucwa-sim.exe and the packages) with its Rust and C suites under Wine (scripts/test-windows.sh),
# and the release (scripts/release.sh into dist/) installed and tested as users install it
# (scripts/test-release.sh).
# Installs what it needs (you are root). Every suite runs even when an earlier one fails; the
# last line totals them, and the exit code is non-zero if any suite failed or ran no test.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

apt_updated=0
need() { # need COMMAND-OR-PATH PACKAGE...   (a path: present when that file or directory exists)
  case "$1" in
    */*) [ -e "$1" ] && return 0 ;;
    *) command -v "$1" >/dev/null 2>&1 && return 0 ;;
  esac
  if [ "$apt_updated" = 0 ]; then apt-get update -qq >/dev/null; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${@:2}" >/dev/null
}
need cc gcc
need c++ g++
need make make
need python3 python3
need mcs mono-mcs
need mono mono-runtime
# The Windows cross-build and Wine (see scripts/windows/env.sh for why Debian's Rust).
need /usr/bin/rustc rustc-web
need /usr/bin/cargo cargo-web
need /usr/lib/rustlib/src/rust/library/std rust-web-src
need x86_64-w64-mingw32-gcc gcc-mingw-w64-x86-64
need x86_64-w64-mingw32-g++ g++-mingw-w64-x86-64
need /usr/lib/wine/wine64 wine64

failed_suites=()
passed=0
failed=0
timings=()

# run NAME COMMAND...: runs a suite, keeps its output, and adds its counts to the totals.
run() {
  local name=$1; shift
  echo "===== $name"
  local start=$SECONDS
  "$@" 2>&1 | tee "$logs/$name.log"
  local rc=${PIPESTATUS[0]}
  timings+=("$name $((SECONDS - start)) s")
  local p f
  case "$name" in
    rust|windows-rust)
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
  # A suite that ran nothing failed, whatever its exit status says.
  if [ "$rc" != 0 ] || [ "$p" = 0 ]; then
    failed_suites+=("$name (exit $rc, $p passed)")
  fi
}

# step NAME COMMAND...: a step without test counts (lint, a build); it fails or it does not.
step() {
  local name=$1; shift
  echo "===== $name"
  local start=$SECONDS rc=0
  "$@" || rc=$?
  [ "$rc" = 0 ] || failed_suites+=("$name")
  timings+=("$name $((SECONDS - start)) s")
  return "$rc"
}

lint() { cargo fmt --all -- --check && cargo clippy --workspace --all-targets -- -D warnings; }
step "lint (cargo fmt --check, cargo clippy -D warnings)" lint || true
# The shell's suite runs on its own below, with the other hosts', and its counts are its own.
run rust cargo test --workspace --exclude ucwa-cli
# The Windows cross-build (CPU for about five minutes, its own target directory) runs beside
# the suites that follow, which mostly wait on the simulator; its step below waits for it and
# shows its output. Their assertions do not depend on machine speed.
bash scripts/build-windows.sh > "$logs/windows-build.log" 2>&1 &
windows_build=$!
windows_build_done() { local rc=0; wait "$windows_build" || rc=$?; cat "$logs/windows-build.log"; return "$rc"; }
run c bash bindings/c/run-tests.sh
run python bash bindings/python/run-tests.sh
run csharp bash bindings/csharp/run-tests.sh
run cli bash bindings/cli/run-tests.sh
# About 70 s of wall time (40 clients, 1 minute of faults, a settle that ends when all are true);
# its dependencies are already built by the suites above.
run soak cargo run --quiet --example chaos_soak -- --clients 40 --minutes 1
if step "windows-build (the rest of its time)" windows_build_done; then
  run windows-rust bash scripts/test-windows.sh rust
  run windows-c bash scripts/test-windows.sh c
  step windows-packages bash scripts/package-windows.sh || true
  # The release (README: "Build from source"): every artifact into dist/, reusing the Windows
  # build above, then each one installed the way its users install it and tested from there.
  if step release-build bash scripts/release.sh; then
    run release bash scripts/test-release.sh
  else
    failed_suites+=("release tests (not run)")
  fi
else
  # Without a fresh build the Windows suites would test stale or missing artifacts.
  failed_suites+=("windows-rust (not run)" "windows-c (not run)" "windows-packages (not run)" "release (not run)")
fi

echo "===== summary"
printf 'time: %s\n' "${timings[@]}"
if [ ${#failed_suites[@]} -gt 0 ]; then
  printf 'failed suite: %s\n' "${failed_suites[@]}"
  [ "$failed" = 0 ] && failed=${#failed_suites[@]}
fi
echo "total: $passed passed, $failed failed"
[ ${#failed_suites[@]} -eq 0 ]
