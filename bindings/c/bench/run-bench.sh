#!/usr/bin/env bash
# run-bench.sh: builds and runs the warm-path benchmark (owned by bindings/c/bench; not part of the
# test suite). Installs libcurl's headers if missing, builds the release library and simulator,
# runs presence_bench (wall-clock timings, interleaved), then, when valgrind is installed, a
# noise-free second figure: instructions per warm call counted by callgrind in the client
# process (all its threads, the library's runtime threads included).
#
#   bindings/c/bench/run-bench.sh [presence_bench args, e.g. --iterations 5000]
#   CALLGRIND=0 bindings/c/bench/run-bench.sh      # wall-clock part only
#
# The callgrind figure is a difference of two runs (N=200 and N=400 timed calls, each counted
# between CALLGRIND_ZERO_STATS and CALLGRIND_DUMP_STATS_AT): whatever cost the zeroing does not
# reach (e.g. a runtime thread's earlier work) is the same in both and cancels out.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
BUILD="$(cd "$HERE/.." && pwd)/build"

if ! { [ -e /usr/include/x86_64-linux-gnu/curl/curl.h ] || [ -e /usr/include/curl/curl.h ] ||
       pkg-config --exists libcurl 2>/dev/null; }; then
    echo "installing libcurl4-openssl-dev (libcurl headers)" >&2
    apt-get install -y libcurl4-openssl-dev >/dev/null || {
        apt-get update >/dev/null && apt-get install -y libcurl4-openssl-dev >/dev/null; }
fi

# Release: this measures the product, not a debug build.
(cd "$ROOT" && cargo build --release -p ucwa -p ucwa-sim)
make -s -C "$HERE/.." "$BUILD/presence_bench"

"$BUILD/presence_bench" "$@"

if [ "${CALLGRIND:-1}" = 0 ] || ! command -v valgrind >/dev/null; then
    exit 0
fi

echo
echo "callgrind: instructions per warm call in the client process (all threads), N=400 minus N=200"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
declare -A per_call
for path in ucwa ucwa-noevents curl; do
    declare -A total=()
    for n in 200 400; do
        rm -f "$tmp"/cg.out*
        if ! valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" \
                "$BUILD/presence_bench" --callgrind --only "$path" --iterations "$n" \
                >"$tmp/log" 2>&1; then
            cat "$tmp/log" >&2
            echo "callgrind run of $path failed" >&2
            exit 1
        fi
        dump="$(grep -l "^desc: Trigger: Client Request: bench-$path-x$n\$" "$tmp"/cg.out.* | head -1)"
        total[$n]="$(sed -n 's/^summary: //p' "$dump")"
    done
    per_call[$path]=$(( (total[400] - total[200]) / 200 ))
    printf '%-14s %10d instructions per call  (N=200: %d, N=400: %d)\n' \
        "$path" "${per_call[$path]}" "${total[200]}" "${total[400]}"
done
for path in ucwa ucwa-noevents; do
    awk -v a="${per_call[$path]}" -v c="${per_call[curl]}" -v p="$path" 'BEGIN {
        r = a / c; printf "instruction ratio %s/curl: %.3f; target: ratio <= 1.15: %s\n",
        p, r, (r <= 1.15 ? "MET" : "MISSED") }'
done
