#!/usr/bin/env bash
# bindings/csharp/pack-layout.sh: assembles the Ucwa NuGet package's folder layout without the
# .NET SDK, so the layout can be checked on a machine with only Mono:
#   build/nuget/Ucwa/Ucwa.nuspec
#   build/nuget/Ucwa/README.md
#   build/nuget/Ucwa/lib/netstandard2.0/Ucwa.dll (+ Ucwa.xml)   built here with mcs
#   build/nuget/Ucwa/runtimes/linux-x64/native/libucwa.so       the Cargo build's library
#   build/nuget/Ucwa/runtimes/win-x64/native/ucwa.dll           the Windows cross-build's, when
#                                                               there is one (scripts/build-windows.sh)
# It also stages the native library in Ucwa/runtimes/linux-x64/native/ (git-ignored), where
# `dotnet pack Ucwa/Ucwa.csproj` picks it up, and finally loads the laid-out Ucwa.dll on mono
# with only runtimes/linux-x64/native on the loader path to prove the two belong together.
#
# The real package comes from `dotnet pack`, which compiles against netstandard2.0. The mcs
# build here references mscorlib 4.x; it runs on Mono and .NET Framework, and on .NET Core and
# later through their mscorlib facade, but the layout check is what this script is for.
#
# Environment: UCWA_LIBRARY overrides target/debug/libucwa.so (use a release build for a
# package you publish; built with cargo only when missing). UCWA_WINDOWS_LIBRARY overrides
# target/windows/dist/ucwa.dll; without either, the package is Linux-only. The Windows DLL
# cannot be loaded here (no .NET on Windows): the check is that it exports every entry point
# NativeMethods.cs imports, under the P/Invoke name "ucwa" that Windows resolves to ucwa.dll.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$here/build/nuget/Ucwa"
rid=linux-x64

lib="${UCWA_LIBRARY:-$root/target/debug/libucwa.so}"
if [ ! -f "$lib" ]; then
  if [ -n "${UCWA_LIBRARY:-}" ]; then echo "UCWA_LIBRARY=$lib does not exist" >&2; exit 1; fi
  (cd "$root" && cargo build -p ucwa)
fi
# The package version is the library's: one number for the C library and its bindings.
version=$(sed -n 's/^#define UCWA_VERSION_STRING "\(.*\)"$/\1/p' "$root/include/ucwa.h")
[ -n "$version" ] || { echo "no UCWA_VERSION_STRING in include/ucwa.h" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/lib/netstandard2.0" "$out/runtimes/$rid/native" "$here/Ucwa/runtimes/$rid/native"
mcs -target:library -langversion:7 -warn:4 -warnaserror -optimize+ \
  -doc:"$out/lib/netstandard2.0/Ucwa.xml" -out:"$out/lib/netstandard2.0/Ucwa.dll" "$here"/Ucwa/*.cs
cp "$lib" "$out/runtimes/$rid/native/libucwa.so"
cp "$lib" "$here/Ucwa/runtimes/$rid/native/libucwa.so"
cp "$here/README.md" "$out/README.md"

win_lib="${UCWA_WINDOWS_LIBRARY:-$root/target/windows/dist/ucwa.dll}"
win_file=
if [ -f "$win_lib" ]; then
  mkdir -p "$out/runtimes/win-x64/native" "$here/Ucwa/runtimes/win-x64/native"
  cp "$win_lib" "$out/runtimes/win-x64/native/ucwa.dll"
  cp "$win_lib" "$here/Ucwa/runtimes/win-x64/native/ucwa.dll"
  win_file='    <file src="runtimes/win-x64/native/ucwa.dll" target="runtimes/win-x64/native" />'
  imported=$(grep -Eo 'static extern [^(]+ (ucwa_[a-z0-9_]+)\(' "$here"/Ucwa/NativeMethods.cs |
    grep -Eo 'ucwa_[a-z0-9_]+' | sort -u)
  exported=$(x86_64-w64-mingw32-objdump -p "$win_lib" |
    sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' | awk '/\[ *[0-9]+\]/ {print $NF}' | sort -u)
  missing=$(comm -23 <(echo "$imported") <(echo "$exported"))
  if [ -z "$imported" ] || [ -n "$missing" ]; then
    echo "win-x64/native/ucwa.dll lacks entry points NativeMethods.cs imports: ${missing:-(none found)}" >&2
    exit 1
  fi
  echo "win-x64: ucwa.dll exports all $(echo "$imported" | wc -l) entry points NativeMethods.cs imports"
fi

cat > "$out/Ucwa.nuspec" <<NUSPEC
<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>Ucwa</id>
    <version>$version</version>
    <authors>ucwa contributors</authors>
    <license type="expression">MIT OR Apache-2.0</license>
    <readme>README.md</readme>
    <description>Sign a user in to an on-premises Skype for Business Server / Lync 2013 pool over UCWA 2.0, set and read presence, note and location, and keep that presence true. .NET binding of the ucwa C library.</description>
    <tags>ucwa skype-for-business lync presence</tags>
    <dependencies>
      <group targetFramework=".NETStandard2.0" />
    </dependencies>
  </metadata>
  <files>
    <file src="README.md" target="" />
    <file src="lib/netstandard2.0/Ucwa.dll" target="lib/netstandard2.0" />
    <file src="lib/netstandard2.0/Ucwa.xml" target="lib/netstandard2.0" />
    <file src="runtimes/$rid/native/libucwa.so" target="runtimes/$rid/native" />
$win_file
  </files>
</package>
NUSPEC

# Check: the laid-out managed assembly finds the laid-out native library and accepts its ABI.
check="$here/build/nuget-check"
rm -rf "$check" && mkdir -p "$check"
cat > "$check/Check.cs" <<'CS'
// Loads Ucwa.dll from the layout and checks the native library beside it.
public static class Check
{
    public static int Main()
    {
        Ucwa.UcwaLibrary.EnsureCompatible();
        System.Console.WriteLine("layout ok: Ucwa " + Ucwa.UcwaLibrary.Version + ", ABI " + Ucwa.UcwaLibrary.AbiVersion);
        return 0;
    }
}
CS
mcs -target:exe -r:"$out/lib/netstandard2.0/Ucwa.dll" -out:"$check/Check.exe" "$check/Check.cs"
cp "$out/lib/netstandard2.0/Ucwa.dll" "$check/"
(cd "$check" && LD_LIBRARY_PATH="$out/runtimes/$rid/native" mono Check.exe)

echo "NuGet layout in ${out#$root/}:"
(cd "$out" && find . -type f | sort | sed 's|^\./|  |')
