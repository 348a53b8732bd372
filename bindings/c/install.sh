#!/bin/sh
# bindings/c/install.sh: installs the ucwa C library from the build tree into PREFIX (owned by
# bindings/c). Users of a release run the archive's own install.sh / `make install` instead.
#
#   bindings/c/install.sh PREFIX [LIBDIR_OF_BUILD]
#
# Installs the RELEASE build (target/release, or the second argument; `cargo build --release -p
# ucwa` runs when it is missing): PREFIX/include/ucwa.h, PREFIX/lib/libucwa.so.VERSION with the
# soname libucwa.so.MAJOR and the links libucwa.so.MAJOR and libucwa.so, PREFIX/lib/libucwa.a,
# and PREFIX/lib/pkgconfig/ucwa.pc (from sdk/ucwa.pc.in, the release archives' template).
#
# Why patchelf: cargo links the cdylib without a soname, so a program linked against it would
# record a bare "libucwa.so" and break on the next incompatible version. patchelf --set-soname
# stamps the soname onto the installed copy (the build in target/ is not touched), as
# scripts/release.sh does for the archives. cargo-c (`cargo cinstall`) is the ecosystem's tool
# for all of this; patchelf keeps the recipe to one small package (Debian: apt-get install
# patchelf), which this script installs when missing.
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 PREFIX [DIR_WITH_libucwa.so]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
prefix=$1
build=${2:-${CARGO_TARGET_DIR:-$root/target}/release}

# The version comes from the header the library was built with (cbindgen writes it).
version=$(sed -n 's/^#define UCWA_VERSION_STRING "\(.*\)"$/\1/p' "$root/include/ucwa.h")
case $version in
    [0-9]*.[0-9]*.[0-9]*) ;;
    *) echo "install.sh: no UCWA_VERSION_STRING in include/ucwa.h" >&2; exit 1 ;;
esac
major=${version%%.*}

if [ $# -eq 1 ] && { [ ! -f "$build/libucwa.so" ] || [ ! -f "$build/libucwa.a" ]; }; then
    echo "install.sh: building the release library (cargo build --release -p ucwa)"
    (cd "$root" && cargo build --release -p ucwa)
fi
for f in "$build/libucwa.so" "$build/libucwa.a"; do
    if [ ! -f "$f" ]; then
        echo "install.sh: $f is missing; run: cargo build --release -p ucwa" >&2
        exit 1
    fi
done

patchelf=$(command -v patchelf || true)
[ -n "$patchelf" ] || [ ! -x "$root/target/release-tools/bin/patchelf" ] || patchelf=$root/target/release-tools/bin/patchelf
if [ -z "$patchelf" ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "install.sh: installing patchelf (apt-get)"
    apt-get update -qq >/dev/null && apt-get install -y -qq patchelf >/dev/null
    patchelf=$(command -v patchelf || true)
fi
if [ -z "$patchelf" ]; then
    echo "install.sh: patchelf is required to set the soname (apt-get install patchelf)," >&2
    echo "            or use cargo-c: cargo cinstall --release --prefix $prefix" >&2
    exit 1
fi

mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
prefix=$(cd "$prefix" && pwd)
libdir=$prefix/lib

install -m 0644 "$root/include/ucwa.h" "$prefix/include/ucwa.h"

real=libucwa.so.$version
soname=libucwa.so.$major
tmp=$libdir/.$real.tmp
cp "$build/libucwa.so" "$tmp"
strip --strip-debug "$tmp" 2>/dev/null || true
"$patchelf" --set-soname "$soname" "$tmp"
chmod 0755 "$tmp"
mv -f "$tmp" "$libdir/$real"
ln -sfn "$real" "$libdir/$soname"
ln -sfn "$soname" "$libdir/libucwa.so"
install -m 0644 "$build/libucwa.a" "$libdir/libucwa.a"

sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" "$here/sdk/ucwa.pc.in" |
    grep -v '^#' > "$libdir/pkgconfig/ucwa.pc"

echo "installed ucwa $version (from $build) into $prefix"
echo "  $prefix/include/ucwa.h"
echo "  $libdir/$real (soname $soname), $soname, libucwa.so, libucwa.a"
echo "  $libdir/pkgconfig/ucwa.pc"
echo "use: export PKG_CONFIG_PATH=$libdir/pkgconfig"
echo "     cc app.c \$(pkg-config --cflags --libs ucwa) -Wl,-rpath,$libdir"
