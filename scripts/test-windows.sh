#!/usr/bin/env bash
# scripts/test-windows.sh: runs the Windows build's tests under Wine (owned by scripts).
#
#   scripts/test-windows.sh rust   the library's Rust suites (lib, tests/*.rs), cross-compiled
#                                  for Windows and run by wine; ends with cargo's result lines
#   scripts/test-windows.sh c      the C suite built as Windows executables, run by wine against
#                                  the Linux ucwa-sim (through bindings/c/tests/sim-broker.py),
#                                  then a sample of it and the demo against ucwa-sim.exe under
#                                  wine; the last line totals them: "N passed, N failed"
#   scripts/test-windows.sh prefix only creates the Wine prefix (scripts/test-release.sh runs
#                                  the release's Windows programs in it)
#
# Run scripts/build-windows.sh first (test-all.sh does). Installs wine64 when missing. Wine
# runs headless: console programs need no X server.
set -euo pipefail
win_root=$(cd "$(dirname "$0")/.." && pwd)
. "$win_root/scripts/windows/env.sh"
cd "$win_root"
what=${1:?usage: test-windows.sh rust|c|prefix}

if [ ! -x "$win_wine" ]; then
  echo "test-windows: installing wine64" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wine64 >/dev/null
fi

# The Wine prefix, created once, with the ProcessPrng stand-in that Wine 8.0 lacks (see
# scripts/windows/processprng.c: for tests only, never shipped). The prefix lives under
# target/windows, so a cargo clean removes it.
system32=$WINEPREFIX/drive_c/windows/system32
if [ ! -f "$system32/kernel32.dll" ]; then
  mkdir -p "$WINEPREFIX"
  "$win_wine" wineboot -i >/dev/null 2>&1 || true
  # wineboot returns before the prefix is written; wait for its wineserver to finish.
  /usr/lib/wine/wineserver -w || true
fi
stand_in=$system32/bcryptprimitives.dll
if [ ! -f "$stand_in" ] || [ "$stand_in" -ot scripts/windows/processprng.c ]; then
  x86_64-w64-mingw32-gcc -O2 -shared -o "$stand_in" scripts/windows/processprng.c -lbcrypt
fi

case "$what" in
  prefix) echo "test-windows: Wine prefix $WINEPREFIX ready" ;;
  rust)
    # The library's suites only: ucwa-sim's own tests start it as a Linux-style child process
    # and signal it, which is what its Linux suite is for.
    wincargo test -p ucwa
    ;;
  c)
    sim_linux=$win_root/target/debug/ucwa-sim
    [ -x "$sim_linux" ] || cargo build -p ucwa-sim
    make -s -C bindings/c windows-tests WINLIBDIR="$win_out" >/dev/null
    build=bindings/c/build-windows
    work=$(mktemp -d)
    python3 bindings/c/tests/sim-broker.py "$sim_linux" >"$work/broker" &
    broker=$!
    trap 'kill $broker 2>/dev/null; wait $broker 2>/dev/null; rm -rf "$work"' EXIT
    for _ in $(seq 100); do [ -s "$work/broker" ] && break; sleep 0.1; done
    port=$(head -n1 "$work/broker")
    [ -n "$port" ] || { echo "test-windows: the simulator broker did not start" >&2; exit 1; }

    set +e
    echo "--- the C suite (Windows executables under Wine) against the Linux ucwa-sim"
    UCWA_SIM_BROKER=$port "$win_wine" "$build/ucwa_tests.exe" | tr -d '\r' | tee "$work/linux"
    rc_linux=${PIPESTATUS[0]}
    # ucwa-sim.exe under Wine too, with a sample of the suite (the whole of it runs above):
    # the flow from cold start, an event from another device, sign-out, concurrent calls.
    echo "--- C tests against ucwa-sim.exe under Wine"
    UCWA_SIM_BROKER= UCWA_SIM="$win_out/ucwa-sim.exe" "$win_wine" "$build/ucwa_tests.exe" \
      full_flow cold_start presence_change_from_another_device sign_out_delivers \
      concurrent_calls_on_one_client | tr -d '\r' | tee "$work/exe"
    rc_exe=${PIPESTATUS[0]}
    echo "--- the demo (ucwa_demo.exe) against ucwa-sim.exe under Wine"
    start=$(date +%s%N)
    "$win_wine" "$build/ucwa_demo.exe" --sim "$win_out/ucwa-sim.exe" | tr -d '\r' | tee "$work/demo"
    rc_demo=${PIPESTATUS[0]}
    ms=$((($(date +%s%N) - start) / 1000000))
    set -e
    if [ "$rc_demo" = 0 ] && grep -q "all steps succeeded" "$work/demo"; then
      echo "PASS demo_runs_every_step_against_ucwa_sim_exe ($ms ms)"; demo_p=1; demo_f=0
    else
      echo "FAIL demo_runs_every_step_against_ucwa_sim_exe (exit $rc_demo)"; demo_p=0; demo_f=1
    fi
    # Totals of the runs; a run without its closing line counts as one failure.
    p=$demo_p; f=$demo_f
    for log in "$work/linux" "$work/exe"; do
      last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n1)
      if [ -z "$last" ]; then f=$((f + 1)); continue; fi
      p=$((p + ${last%% *})); last=${last#*, }; f=$((f + ${last%% *}))
    done
    echo "$p passed, $f failed"
    [ "$rc_linux" = 0 ] && [ "$rc_exe" = 0 ] && [ "$f" = 0 ] && [ "$p" -gt 0 ]
    ;;
  *) echo "usage: test-windows.sh rust|c|prefix" >&2; exit 2 ;;
esac
