# scripts/windows/env.sh: sourced by the Windows scripts (owned by scripts/windows). Defines
# `wincargo`, the cross-build's cargo, and the paths the Windows build and its tests share.
#
# The cross-build uses Debian's toolchain (rustc-web, cargo-web, rust-web-src) instead of
# rustup's: rustup cannot download the x86_64-pc-windows-gnu standard library here, while
# rust-web-src carries std's sources where -Zbuild-std looks for them (RUSTC_BOOTSTRAP=1 lets a
# stable rustc accept -Z). rustup's cargo stays first on PATH for everything else; the separate
# target directory keeps the two toolchains from invalidating each other's builds. `test` is in
# the build-std list of every command, not only of `cargo test` (which adds it by itself): with
# the same standard library, the test build reuses the library build's dependencies instead of
# compiling them all again.
win_root=${win_root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
win_target=x86_64-pc-windows-gnu
win_target_dir=$win_root/target/windows
win_out=$win_target_dir/$win_target/release
win_dist=$win_target_dir/dist
# The Wine prefix the Windows tests run in (holds the ProcessPrng stand-in; never shipped).
export WINEPREFIX=${UCWA_WINEPREFIX:-$win_target_dir/wine}
export WINEDEBUG=${WINEDEBUG:--all}
win_wine=/usr/lib/wine/wine64

wincargo() {
  env PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc \
    CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$win_wine" \
    CARGO_TARGET_DIR="$win_target_dir" \
    /usr/bin/cargo "$1" --release -Zbuild-std=std,panic_unwind,test --target "$win_target" "${@:2}"
}
