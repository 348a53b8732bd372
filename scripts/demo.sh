#!/usr/bin/env bash
# The main job, from a clean clone: installs a C compiler and make when missing, builds the
# library, the bundled simulator and the C demo host, then runs the demo, which starts
# ucwa-sim, signs in, makes itself available, sets and reads presence, note and location,
# signs out, and prints each step.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v make >/dev/null 2>&1 || missing+=(make)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
exec bash bindings/c/run-demo.sh "$@"
