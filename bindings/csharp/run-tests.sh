#!/usr/bin/env bash
# bindings/csharp/run-tests.sh: builds the C# binding (Ucwa.dll) and its tests (Ucwa.Tests.exe)
# with Mono's mcs into bindings/csharp/build/test/, then runs the tests on mono against ucwa-sim.
# The runner's last line is "N passed, M failed"; the exit code is non-zero on any failure or
# when no test ran. Arguments are passed to the runner as test-name filters.
#
# Environment: UCWA_LIBRARY (path to libucwa.so) and UCWA_SIM (path to ucwa-sim) override the
# workspace's target/debug artefacts; those are built with cargo only when missing.
# UCWA_ASSEMBLY: test this Ucwa.dll instead of building one from Ucwa/*.cs; UCWA_TEST_BUILD:
# the build directory (default bindings/csharp/build/test).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build="${UCWA_TEST_BUILD:-$here/build/test}"

if ! command -v mcs >/dev/null 2>&1 || ! command -v mono >/dev/null 2>&1; then
  echo "installing mono-mcs and mono-runtime (mcs or mono missing)"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y mono-mcs mono-runtime
fi

lib="${UCWA_LIBRARY:-$root/target/debug/libucwa.so}"
sim="${UCWA_SIM:-$root/target/debug/ucwa-sim}"
if [ ! -f "$lib" ] || [ ! -x "$sim" ]; then
  if [ -n "${UCWA_LIBRARY:-}" ] && [ ! -f "$lib" ]; then echo "UCWA_LIBRARY=$lib does not exist" >&2; exit 1; fi
  if [ -n "${UCWA_SIM:-}" ] && [ ! -x "$sim" ]; then echo "UCWA_SIM=$sim does not exist" >&2; exit 1; fi
  echo "building the native library and the simulator (cargo build -p ucwa -p ucwa-sim)"
  (cd "$root" && cargo build -p ucwa -p ucwa-sim)
fi

rm -rf "$build"
mkdir -p "$build/native"
# DllImport("ucwa") makes Mono dlopen "libucwa.so" through the loader path, so the library is
# linked into build/native under that name (UCWA_LIBRARY may be named otherwise) and that
# directory goes on LD_LIBRARY_PATH. No dllmap config: the library tests rely on steering the
# lookup with LD_LIBRARY_PATH in child processes.
ln -s "$lib" "$build/native/libucwa.so"

if [ -n "${UCWA_ASSEMBLY:-}" ]; then
  # The binding under test is a built one (scripts/test-release.sh: the .nupkg's
  # lib/netstandard2.0/Ucwa.dll); only the tests are compiled here, against it.
  [ -f "$UCWA_ASSEMBLY" ] || { echo "UCWA_ASSEMBLY=$UCWA_ASSEMBLY does not exist" >&2; exit 1; }
  cp "$UCWA_ASSEMBLY" "$build/Ucwa.dll"
else
  # -warnaserror with -doc turns a public member without an XML doc comment (CS1591) into an error.
  mcs -target:library -langversion:7 -warn:4 -warnaserror -optimize+ \
    -doc:"$build/Ucwa.xml" -out:"$build/Ucwa.dll" "$here"/Ucwa/*.cs
fi
mcs -target:exe -langversion:7 -warn:4 -warnaserror \
  -r:"$build/Ucwa.dll" -out:"$build/Ucwa.Tests.exe" "$here"/Ucwa.Tests/*.cs

cd "$build"
LD_LIBRARY_PATH="$build/native${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" UCWA_SIM="$sim" \
  UCWA_HEADER="${UCWA_HEADER:-$root/include/ucwa.h}" \
  exec mono --debug "$build/Ucwa.Tests.exe" "$@"
