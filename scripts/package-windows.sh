#!/usr/bin/env bash
# scripts/package-windows.sh: puts the Windows build into the packages and checks them (owned by
# scripts). Run scripts/build-windows.sh first (test-all.sh does).
#
#   NuGet layout  bindings/csharp/build/nuget/Ucwa/: runtimes/win-x64/native/ucwa.dll beside
#                 runtimes/linux-x64/native/libucwa.so (bindings/csharp/pack-layout.sh)
#   Python wheel  target/windows/dist/ucwa_presence-VERSION-py3-none-win_amd64.whl with
#                 ucwa/_native/ucwa.dll (bindings/python/build_wheel.sh)
#   C zip         target/windows/dist/ucwa-VERSION-win-x64.zip (made by build-windows.sh)
#
# None of them can be installed on Windows here; what is checked is what each contains.
set -euo pipefail
win_root=$(cd "$(dirname "$0")/.." && pwd)
. "$win_root/scripts/windows/env.sh"
cd "$win_root"
dll=$win_dist/ucwa.dll
[ -f "$dll" ] || { echo "package-windows: no $dll; run scripts/build-windows.sh" >&2; exit 1; }
version=$(sed -n 's/^#define UCWA_VERSION_STRING "\(.*\)"$/\1/p' include/ucwa.h)
[ -f target/debug/libucwa.so ] || cargo build -p ucwa

echo "--- NuGet layout"
UCWA_WINDOWS_LIBRARY=$dll bash bindings/csharp/pack-layout.sh
nuget=bindings/csharp/build/nuget/Ucwa
cmp "$dll" "$nuget/runtimes/win-x64/native/ucwa.dll"
[ -f "$nuget/runtimes/linux-x64/native/libucwa.so" ]
grep -q 'src="runtimes/win-x64/native/ucwa.dll" target="runtimes/win-x64/native"' "$nuget/Ucwa.nuspec"

echo "--- Python wheel (win_amd64)"
rm -f "$win_dist"/ucwa_presence-*.whl
wheel=$(UCWA_LIBRARY=$dll UCWA_WHEEL_PLATFORM=win_amd64 bash bindings/python/build_wheel.sh "$win_dist" | tail -n1)
python3 - "$wheel" "$dll" "$version" <<'PY'
import sys, zipfile
from pathlib import Path
wheel, dll, version = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
want = f"ucwa_presence-{version}-py3-none-win_amd64.whl"
assert wheel.name == want, f"{wheel.name} is not {want}"
with zipfile.ZipFile(wheel) as z:
    names = set(z.namelist())
    meta = z.read(f"ucwa_presence-{version}.dist-info/WHEEL").decode()
    shipped = z.read("ucwa/_native/ucwa.dll")
natives = sorted(n for n in names if n.startswith("ucwa/_native/"))
assert natives == ["ucwa/_native/ucwa.dll"], natives
assert shipped == dll.read_bytes(), "the wheel's ucwa.dll is not the build's"
assert {"ucwa/__init__.py", "ucwa/_ffi.py", "ucwa/py.typed"} <= names, names
assert "Root-Is-Purelib: false" in meta and "Tag: py3-none-win_amd64" in meta, meta
print(f"{wheel.name}: {len(names)} files, ucwa/_native/ucwa.dll only, tagged py3-none-win_amd64")
PY

echo "--- C zip"
python3 - "$win_dist/ucwa-$version-win-x64.zip" <<'PY'
import sys, zipfile
names = sorted(zipfile.ZipFile(sys.argv[1]).namelist())
want = ["ucwa/README.md", "ucwa/libucwa.dll.a", "ucwa/ucwa.dll", "ucwa/ucwa.h"]
assert names == want, names
print(f"{sys.argv[1].rsplit('/', 1)[-1]}: {' '.join(names)}")
PY
echo "package-windows: ok"
