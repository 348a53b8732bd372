#!/usr/bin/env bash
# scripts/build-windows.sh: cross-builds ucwa for Windows x64 (x86_64-pc-windows-gnu) on
# Debian and checks what it built. This is how CI proves Windows works; Windows users build
# natively with rustup (`cargo build --release`, MSVC or GNU toolchain).
#
#   scripts/build-windows.sh          release build, checks, then target/windows/dist/:
#     ucwa.dll  libucwa.dll.a (its import library)  libucwa.a  ucwa-sim.exe  ucwa.h
#     ucwa-VERSION-win-x64.zip (for C users: ucwa.dll, libucwa.dll.a, ucwa.h, README.md)
#
# Checks: ucwa.dll exports exactly the functions include/ucwa.h declares, and ucwa.dll and
# ucwa-sim.exe import only DLLs every Windows has (no MinGW runtime DLL such as libgcc_s_seh,
# libwinpthread or libstdc++ that a user would have to ship). Installs its toolchain when
# missing (apt: rustc-web cargo-web rust-web-src gcc-mingw-w64-x86-64; see
# scripts/windows/env.sh for why Debian's and not rustup's). A cold build takes a few minutes
# on 2 cores; the std dependencies come from crates.io.
set -euo pipefail
win_root=$(cd "$(dirname "$0")/.." && pwd)
. "$win_root/scripts/windows/env.sh"
cd "$win_root"

missing=()
[ -x /usr/bin/rustc ] || missing+=(rustc-web)
[ -x /usr/bin/cargo ] || missing+=(cargo-web)
[ -d /usr/lib/rustlib/src/rust/library/std ] || missing+=(rust-web-src)
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || missing+=(gcc-mingw-w64-x86-64)
if [ ${#missing[@]} -gt 0 ]; then
  echo "build-windows: installing ${missing[*]}" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

wincargo build -p ucwa -p ucwa-sim

fail=0
objdump=x86_64-w64-mingw32-objdump

# Exports: the names in the DLL's export table against the functions the header declares.
exports=$($objdump -p "$win_out/ucwa.dll" |
  sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' | awk '/\[ *[0-9]+\]/ {print $NF}' | sort)
declared=$(grep -Eo '\bucwa_[a-z0-9_]+ *\(' include/ucwa.h | tr -d ' (' | sort -u)
if [ -z "$exports" ] || [ "$exports" != "$declared" ]; then
  echo "build-windows: ucwa.dll exports differ from include/ucwa.h (< DLL, > header):" >&2
  diff <(echo "$exports") <(echo "$declared") >&2 || true
  fail=1
else
  echo "build-windows: ucwa.dll exports the $(echo "$exports" | wc -l) functions of include/ucwa.h"
fi

# Imports: only system DLLs. The api-ms-win-* API sets are Windows 8+ system names; dnsapi and
# ktmw32 (System32 since Vista) come with sspi, which reads Kerberos settings from the registry.
system_dll='^(kernel32|ntdll|msvcrt|ws2_32|userenv|advapi32|bcrypt|bcryptprimitives|crypt32|secur32|ncrypt|ole32|oleaut32|shell32|user32|dnsapi|ktmw32|api-ms-win-[a-z0-9-]+)\.dll$'
for f in "$win_out/ucwa.dll" "$win_out/ucwa-sim.exe"; do
  imports=$($objdump -p "$f" | awk '/DLL Name:/ {print tolower($3)}' | sort -u)
  odd=$(echo "$imports" | grep -Ev "$system_dll" || true)
  if [ -n "$odd" ]; then
    echo "build-windows: $(basename "$f") imports non-system DLLs: $odd" >&2
    fail=1
  else
    echo "build-windows: $(basename "$f") imports only system DLLs: $(echo $imports)"
  fi
done
[ "$fail" = 0 ] || exit 1

version=$(sed -n 's/^#define UCWA_VERSION_STRING "\(.*\)"$/\1/p' include/ucwa.h)
rm -rf "$win_dist"
mkdir -p "$win_dist"
cp "$win_out/ucwa.dll" "$win_out/libucwa.dll.a" "$win_out/libucwa.a" "$win_out/ucwa-sim.exe" \
  include/ucwa.h "$win_dist/"
zip="$win_dist/ucwa-$version-win-x64.zip"
python3 - "$zip" "$win_dist/ucwa.dll" "$win_dist/libucwa.dll.a" "$win_dist/ucwa.h" README.md <<'PY'
import sys, zipfile
out, *files = sys.argv[1:]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for f in files:
        z.write(f, "ucwa/" + f.rsplit("/", 1)[-1])
PY
echo "build-windows: $win_dist: $(cd "$win_dist" && echo *)"
