#!/usr/bin/env bash
# Runs the Python binding's pytest suite against libucwa and ucwa-sim.
#
# Uses UCWA_LIBRARY / UCWA_SIM when set, else the workspace's debug builds, building them with
# `cargo build -p ucwa -p ucwa-sim` only when they are missing. Installs pytest (pip, user site
# or the active venv) when it is not importable. Extra arguments go to pytest.
# Exits non-zero when any test fails, errors, or when no test ran at all.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
py=${PYTHON:-python3}

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

if ! "$py" -c "import pytest" 2>/dev/null; then
  echo "run-tests: installing pytest" >&2
  "$py" -m pip install --disable-pip-version-check -q pytest \
    || "$py" -m pip install --disable-pip-version-check -q --user pytest
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
