#!/bin/sh
# bindings/c/install.sh: installs the ucwa C library into PREFIX (owned by bindings/c).
#
#   bindings/c/install.sh PREFIX [LIBDIR_OF_BUILD]
#
# Copies include/ucwa.h to PREFIX/include, installs the shared library from target/debug (or
# the second argument) as PREFIX/lib/libucwa.so.MAJOR.MINOR.PATCH with the soname
# libucwa.so.MAJOR and the symlinks libucwa.so.MAJOR and libucwa.so, the static library as
# PREFIX/lib/libucwa.a, and PREFIX/lib/pkgconfig/ucwa.pc from ucwa.pc.in.
#
# Why patchelf: cargo links the cdylib without a soname, so a program linked against it would
# record a bare "libucwa.so" and break on the next incompatible version. patchelf --set-soname
# stamps the soname onto a copy (the build in target/ is not touched). cargo-c
# (`cargo cinstall`) is the ecosystem's tool for all of this; patchelf keeps the recipe to one
# small package (Debian: apt-get install patchelf), which this script installs when missing.
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 PREFIX [DIR_WITH_libucwa.so]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
prefix=$1
build=${2:-$root/target/debug}

# The version comes from the header the library was built with (cbindgen writes it).
version=$(sed -n 's/^#define UCWA_VERSION_STRING "\(.*\)"$/\1/p' "$root/include/ucwa.h")
case $version in
    [0-9]*.[0-9]*.[0-9]*) ;;
    *) echo "install.sh: no UCWA_VERSION_STRING in include/ucwa.h" >&2; exit 1 ;;
esac
major=${version%%.*}

for f in "$build/libucwa.so" "$build/libucwa.a"; do
    if [ ! -f "$f" ]; then
        echo "install.sh: $f is missing; run: cargo build -p ucwa" >&2
        exit 1
    fi
done

if ! command -v patchelf >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "install.sh: installing patchelf (apt-get)"
        apt-get update -qq >/dev/null && apt-get install -y -qq patchelf >/dev/null
    fi
fi
if ! command -v patchelf >/dev/null 2>&1; then
    echo "install.sh: patchelf is required to set the soname (apt-get install patchelf)," >&2
    echo "            or use cargo-c: cargo cinstall --prefix $prefix" >&2
    exit 1
fi

mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
prefix=$(cd "$prefix" && pwd)
libdir=$prefix/lib
includedir=$prefix/include

install -m 0644 "$root/include/ucwa.h" "$includedir/ucwa.h"

real=libucwa.so.$version
soname=libucwa.so.$major
tmp=$libdir/.$real.tmp
cp "$build/libucwa.so" "$tmp"
patchelf --set-soname "$soname" "$tmp"
chmod 0755 "$tmp"
mv -f "$tmp" "$libdir/$real"
ln -sfn "$real" "$libdir/$soname"
ln -sfn "$soname" "$libdir/libucwa.so"
install -m 0644 "$build/libucwa.a" "$libdir/libucwa.a"

sed -e "s|@PREFIX@|$prefix|g" -e "s|@LIBDIR@|$libdir|g" \
    -e "s|@INCLUDEDIR@|$includedir|g" -e "s|@VERSION@|$version|g" \
    "$here/ucwa.pc.in" > "$libdir/pkgconfig/ucwa.pc"

echo "installed ucwa $version into $prefix"
echo "  $includedir/ucwa.h"
echo "  $libdir/$real (soname $soname), $soname, libucwa.so, libucwa.a"
echo "  $libdir/pkgconfig/ucwa.pc"
echo "use: PKG_CONFIG_PATH=$libdir/pkgconfig cc app.c \$(pkg-config --cflags --libs ucwa) -Wl,-rpath,$libdir"
