#!/bin/sh
# bindings/c/run-demo.sh: builds the library, ucwa-sim and the demo host, then runs the demo
# with no arguments, i.e. against a bundled simulator it starts and stops itself
# (owned by bindings/c). Extra arguments are passed to the demo (see README.md).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
(cd "$root" && cargo build -q -p ucwa -p ucwa-sim)
make -s -C "$here" demo >/dev/null
exec "$here/build/ucwa_demo" "$@"
