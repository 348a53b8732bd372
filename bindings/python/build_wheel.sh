#!/usr/bin/env bash
# Builds a platform wheel of the `ucwa` Python package that carries libucwa inside
# (ucwa/_native/), so `pip install dist/ucwa-*.whl` works without UCWA_LIBRARY or a workspace.
#
# Usage: bindings/python/build_wheel.sh [OUT_DIR]      (default OUT_DIR: bindings/python/dist)
#   UCWA_LIBRARY=/path/libucwa.so   use this library (default: the newer of target/release and
#                                   target/debug; `cargo build -p ucwa` runs when neither exists)
#   UCWA_WHEEL_STRIP=0              keep debug info in the shipped copy (default: strip it; a
#                                   debug build is ~60 MB with it, a few MB without)
#   UCWA_WHEEL_PLATFORM=win_amd64   tag the wheel for another platform than this one; with
#                                   UCWA_LIBRARY=target/windows/dist/ucwa.dll this is the
#                                   Windows wheel (scripts/package-windows.sh builds it so)
#
# The package is staged in a temporary directory so the source tree never holds a copy of the
# library that could shadow a fresher workspace build. The wheel is tagged py3-none-<platform>
# (see setup.py), e.g. py3-none-linux_x86_64; for PyPI, run `auditwheel repair` on it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$here/dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)

case "${UCWA_LIBRARY:-}" in
  *.dll) libname=ucwa.dll ;;
  *.dylib) libname=libucwa.dylib ;;
  *.so) libname=libucwa.so ;;
  *)
    case "$(uname -s)" in
      Darwin) libname=libucwa.dylib ;;
      MINGW*|MSYS*|CYGWIN*) libname=ucwa.dll ;;
      *) libname=libucwa.so ;;
    esac ;;
esac

lib=${UCWA_LIBRARY:-}
if [ -z "$lib" ]; then
  candidates=()
  for p in "$root/target/release/$libname" "$root/target/debug/$libname"; do
    [ -f "$p" ] && candidates+=("$p")
  done
  if [ ${#candidates[@]} -eq 0 ]; then
    echo "build_wheel: no libucwa built yet; running cargo build -p ucwa" >&2
    (cd "$root" && cargo build -p ucwa)
    candidates=("$root/target/debug/$libname")
  fi
  lib=$(ls -t "${candidates[@]}" | head -n 1)
fi
[ -f "$lib" ] || { echo "build_wheel: no library at $lib" >&2; exit 1; }
echo "build_wheel: shipping $lib" >&2

stage=$(mktemp -d "${TMPDIR:-/tmp}/ucwa-wheel.XXXXXX")
trap 'rm -rf "$stage"' EXIT
cp "$here/pyproject.toml" "$here/setup.py" "$here/README.md" "$stage/"
mkdir -p "$stage/ucwa/_native"
cp "$here"/ucwa/*.py "$here/ucwa/py.typed" "$stage/ucwa/"
cp -L "$lib" "$stage/ucwa/_native/$libname"
if [ "${UCWA_WHEEL_STRIP:-1}" != 0 ] && command -v strip >/dev/null 2>&1 && [ "$libname" = libucwa.so ]; then
  strip --strip-debug "$stage/ucwa/_native/$libname"
fi

if [ -n "${UCWA_WHEEL_PLATFORM:-}" ]; then
  # bdist_wheel reads its platform from setup.cfg; the tag then names that platform, not ours.
  printf '[bdist_wheel]\nplat_name = %s\n' "$UCWA_WHEEL_PLATFORM" > "$stage/setup.cfg"
fi

python3 -m pip wheel --no-deps --disable-pip-version-check -w "$out" "$stage" >&2
# The distribution is ucwa-presence (the name ucwa on PyPI is another project); its wheels are
# named ucwa_presence-*.whl. The import name stays ucwa.
wheel=$(ls -t "$out"/ucwa_presence-*.whl | head -n 1)
case "$wheel" in
  *-none-any.whl) echo "build_wheel: $wheel is not platform-tagged" >&2; exit 1 ;;
esac
echo "$wheel"
