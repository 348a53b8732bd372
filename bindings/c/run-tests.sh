#!/bin/sh
# bindings/c/run-tests.sh: builds and runs the C test suite (owned by bindings/c).
#
#   bindings/c/run-tests.sh              ASan+UBSan build, leak detection on (the default)
#   bindings/c/run-tests.sh --valgrind   the plain build under valgrind (slower)
#   bindings/c/run-tests.sh -- FILTER    only tests whose name contains FILTER
#
# Installs what it needs when missing (gcc, g++, make, pkg-config, curl for the https control
# API of the --tls simulator tests; valgrind for --valgrind) with apt-get, builds the Rust library and ucwa-sim when their artefacts are missing
# (UCWA_CARGO_BUILD=1 forces `cargo build -p ucwa -p ucwa-sim`), and ends with the runner's
# line "N passed, M failed". Exits non-zero when a test failed or none ran.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mode=asan
filter=
while [ $# -gt 0 ]; do
    case $1 in
        --valgrind) mode=valgrind ;;
        --) shift; filter=${1:-}; break ;;
        *) filter=$1 ;;
    esac
    shift
done

need=
for tool in gcc g++ make pkg-config curl; do
    command -v "$tool" >/dev/null 2>&1 || need="$need $tool"
done
if [ "$mode" = valgrind ] && ! command -v valgrind >/dev/null 2>&1; then
    need="$need valgrind"
fi
if [ -n "$need" ]; then
    echo "run-tests.sh: installing$need"
    sudo=
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    # g++, pkg-config and curl are Debian package names too; gcc's package is gcc.
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi

lib=${UCWA_LIBRARY:-$root/target/debug/libucwa.so}
sim=${UCWA_SIM:-$root/target/debug/ucwa-sim}
if [ "${UCWA_CARGO_BUILD:-0}" = 1 ] || [ ! -f "$lib" ] || [ ! -x "$sim" ]; then
    (cd "$root" && cargo build -p ucwa -p ucwa-sim)
fi
export UCWA_SIM="$sim"

make -s -C "$here" LIBDIR="$(dirname "$lib")" tests >/dev/null

if [ "$mode" = valgrind ]; then
    export UCWA_TEST_TIMEOUT_S=300
    exec valgrind --quiet --num-callers=40 --leak-check=full --errors-for-leak-kinds=definite \
        --show-leak-kinds=definite --error-exitcode=99 \
        --suppressions="$here/tests/valgrind.supp" \
        "$here/build/ucwa_tests_plain" $filter
fi
export ASAN_OPTIONS="detect_leaks=1:exitcode=23:detect_stack_use_after_return=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$here/tests/lsan.supp:print_suppressions=0"
exec "$here/build/ucwa_tests" $filter
