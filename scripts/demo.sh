#!/usr/bin/env bash
# The main job, from a clean clone: builds the library, the bundled simulator and the C demo
# host, then runs the demo, which starts ucwa-sim, signs in, makes itself available, sets and
# reads presence, note and location, signs out, and prints each step.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash bindings/c/run-demo.sh "$@"
