#!/usr/bin/env bash
# Runs the Python binding's pytest suite against libucwa and ucwa-sim.
#
# Uses UCWA_LIBRARY / UCWA_SIM when set, else the workspace's debug builds, building them with
# `cargo build -p ucwa -p ucwa-sim` only when they are missing. Runs in a virtual environment
# kept at target/py-venv (Debian's system Python refuses `pip install` outside one), creating it
# and installing pytest into it when needed; PYTHON=... uses that interpreter as it is instead.
# Extra arguments go to pytest.
# Exits non-zero when any test fails, errors, or when no test ran at all.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
py=${PYTHON:-}

lib=${UCWA_LIBRARY:-$root/target/debug/libucwa.so}
sim=${UCWA_SIM:-$root/target/debug/ucwa-sim}
if [ ! -f "$lib" ] || [ ! -x "$sim" ]; then
  if [ -n "${UCWA_LIBRARY:-}${UCWA_SIM:-}" ]; then
    echo "run-tests: UCWA_LIBRARY ($lib) or UCWA_SIM ($sim) does not exist" >&2
    exit 1
  fi
  echo "run-tests: building libucwa and ucwa-sim (cargo build -p ucwa -p ucwa-sim)" >&2
  (cd "$root" && cargo build -p ucwa -p ucwa-sim)
fi
export UCWA_LIBRARY=$lib UCWA_SIM=$sim

if [ -z "$py" ]; then
  venv=$root/target/py-venv
  if [ ! -x "$venv/bin/python" ]; then
    echo "run-tests: creating $venv" >&2
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
      rm -rf "$venv"
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv "$venv"
    fi
  fi
  py=$venv/bin/python
  # build_wheel.sh (used by test_wheel.py) calls `python3`: the venv's.
  export PATH="$venv/bin:$PATH"
fi
if ! "$py" -c "import pytest" 2>/dev/null; then
  echo "run-tests: installing pytest" >&2
  "$py" -m pip install --disable-pip-version-check -q pytest
fi

cd "$here"
# -p no:cacheprovider: no .pytest_cache written into the source tree.
set +e
"$py" -m pytest -q -p no:cacheprovider "$@" tests
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "run-tests: no tests were collected" >&2
fi
exit "$rc"
