#!/bin/sh
# install.sh: installs this ucwa C SDK (the unpacked release archive it sits in) into PREFIX.
# Owned by bindings/c/sdk; scripts/release.sh puts it into the linux-x64 and win-x64 archives.
#
#   ./install.sh PREFIX            header, shared and static library, pkg-config file, commands
#   ./install.sh --static PREFIX   the same without the shared library, so that
#                                  `pkg-config --static --cflags --libs ucwa` links the static
#                                  one (a linker takes libucwa.so over libucwa.a when both are
#                                  in one directory, whatever pkg-config says)
#   make install PREFIX=/usr/local [LIBRARY_TYPE=static]   runs this
#
# Layout (cargo-c's): PREFIX/include/ucwa.h, PREFIX/lib/libucwa.so.VERSION with its soname
# link libucwa.so.MAJOR and the development link libucwa.so (Windows: PREFIX/bin/ucwa.dll and
# PREFIX/lib/libucwa.dll.a), PREFIX/lib/libucwa.a, PREFIX/lib/pkgconfig/ucwa.pc (its prefix
# set to PREFIX), PREFIX/bin/ucwa-sim and the other commands of the archive.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
static=0
if [ "${1:-}" = --static ]; then static=1; shift; fi
if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 [--static] PREFIX" >&2
    exit 2
fi
mkdir -p "$1/include" "$1/lib/pkgconfig" "$1/bin"
prefix=$(cd "$1" && pwd)

install -m 0644 "$here/include/ucwa.h" "$prefix/include/ucwa.h"
install -m 0644 "$here/lib/libucwa.a" "$prefix/lib/libucwa.a"
if [ "$static" = 0 ]; then
    # cp -P keeps libucwa.so.MAJOR and libucwa.so the symbolic links they are.
    for f in "$here"/lib/libucwa.so*; do
        [ -e "$f" ] && cp -P "$f" "$prefix/lib/"
    done
    [ -f "$here/lib/libucwa.dll.a" ] && install -m 0644 "$here/lib/libucwa.dll.a" "$prefix/lib/"
fi
for f in "$here"/bin/*; do
    [ -f "$f" ] || continue
    case "$f" in
        *.dll) [ "$static" = 0 ] || continue; install -m 0755 "$f" "$prefix/bin/" ;;
        *) install -m 0755 "$f" "$prefix/bin/" ;;
    esac
done
sed "s|^prefix=.*|prefix=$prefix|" "$here/lib/pkgconfig/ucwa.pc" > "$prefix/lib/pkgconfig/ucwa.pc"

echo "installed ucwa $(sed -n 's/^Version: //p' "$prefix/lib/pkgconfig/ucwa.pc") into $prefix"
echo "compile with: PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs ucwa"
