#!/usr/bin/env bash
# Runs the ucwa command's tests (bindings/cli: unit tests of the binary, and tests/ driving the
# built `ucwa` against ucwa-sim in-process) and ends with `N passed, N failed`, the line the
# project's runners total. Extra arguments go to `cargo test` (e.g. a test name filter).
# Honours CARGO_TARGET_DIR and any --config flags in UCWA_CARGO_FLAGS (the codegen-units trick).
set -uo pipefail
cd "$(dirname "$0")/../.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# shellcheck disable=SC2086
cargo test -p ucwa-cli ${UCWA_CARGO_FLAGS:-} "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
passed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed;' "$log" | awk '{s+=$1} END {print s+0}')
# A build failure runs no test: count it as a failure, never as a pass.
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ "$rc" = 0 ]
