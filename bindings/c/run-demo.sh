#!/bin/sh
# bindings/c/run-demo.sh: builds the library, ucwa-sim and the demo host, then runs the demo
# with no arguments, i.e. against a bundled simulator it starts and stops itself
# (owned by bindings/c). Extra arguments are passed to the demo (see README.md).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# cargo's own progress (a line per crate, or its progress bar on a terminal) goes to stderr: a
# first build compiles a few hundred crates in 2-3 minutes and must not look hung.
echo "run-demo: building the library and ucwa-sim (cargo build -p ucwa -p ucwa-sim; the first build takes a few minutes)" >&2
(cd "$root" && cargo build -p ucwa -p ucwa-sim)
echo "run-demo: building the demo host (make -C bindings/c demo)" >&2
make -s -C "$here" demo >/dev/null
exec "$here/build/ucwa_demo" "$@"
