#!/usr/bin/env bash
# scripts/test-release.sh: tests the release in dist/ the way users install it (owned by scripts).
# Run scripts/release.sh first (scripts/test-all.sh does, after the Windows build).
#
# Each test works in a fresh directory outside the repository, from the artifact only:
# - the C archive unpacked and installed with `make install PREFIX=…` (both libraries, and
#   LIBRARY_TYPE=static), a program compiled with `pkg-config --cflags --libs ucwa` only (and
#   `--static`) and run against the archive's ucwa-sim; ldd / readelf prove nothing resolves
#   into the build tree;
# - the manylinux wheel installed into a fresh virtual environment and the Python suite (copied
#   out of the repository) run against the installed package;
# - the .nupkg unpacked and the C# suite run on Mono against its Ucwa.dll and native library;
# - the Windows zip's and wheel's DLL: a program compiled with MinGW and pkg-config against the
#   unpacked zip, run under Wine against the zip's ucwa-sim.exe, then with the wheel's DLL;
# - the crates' contents; one version in every artifact;
# - the README's snippets, extracted by their `<!-- snippet: NAME -->` markers and run exactly as
#   written (ports come from the simulator's first output line).
# The last line is "N passed, N failed" (the Python and C# suites' counts included).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dist=${UCWA_DIST:-$root/dist}
filter=${1:-}
version=$(awk '/^\[workspace.package\]/ {s=1; next} /^\[/ {s=0} s && /^version = / {gsub(/"/, "", $3); print $3}' Cargo.toml)
major=${version%%.*}
work=$(mktemp -d "${TMPDIR:-/tmp}/ucwa-release-test.XXXXXX")
trap '[ -n "${UCWA_KEEP:-}" ] || rm -rf "$work"' EXIT

passed=0
failed=0
# check NAME: runs the function NAME in a directory of its own, in a subshell with errexit that
# stops what it started; PASS or FAIL with the tail of its output.
check() {
  local name=$1
  [ -z "$filter" ] || [[ "$name" == *"$filter"* ]] || return 0
  local start=$SECONDS dir=$work/t/$name
  mkdir -p "$dir"
  if (set -euo pipefail; work=$dir; trap stop_started EXIT; cd "$dir" && "$name") \
      >"$dir.log" 2>&1; then
    passed=$((passed + 1)); echo "PASS $name ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1)); echo "FAIL $name ($((SECONDS - start)) s)"; sed 's/^/    /' "$dir.log" | tail -n 40
  fi
}
# The process groups a test started (start_sim runs inside $(…), so a file, not a variable).
started() { echo "$1" >> "$work/started"; }
stop_started() {
  [ -f "$work/started" ] || return 0
  while read -r p; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done < "$work/started"
}
fail() { echo "$*" >&2; exit 1; }
# has PATTERN: grep that reads all its input (grep -q exits at the first match, and the writer
# of a pipeline would then die of SIGPIPE, which pipefail reports as a failure).
has() { grep "$@" >/dev/null; }
# add_counts LOG: a suite's own "N passed, N failed" (or pytest's) joins the totals.
add_counts() {
  local p f
  p=$(grep -Eo '[0-9]+ passed' "$1" | tail -n1 | grep -Eo '[0-9]+' || echo 0)
  f=$(grep -Eo '[0-9]+ failed' "$1" | tail -n1 | grep -Eo '[0-9]+' || echo 0)
  passed=$((passed + p)); failed=$((failed + f))
}

# start_sim COMMAND... : starts a simulator in a process group of its own, prints its URL.
start_sim() {
  local out
  out=$(mktemp "$work/sim.XXXXXX")
  setsid "$@" >"$out" 2>&1 &
  started $!
  for _ in $(seq 300); do
    if head -n1 "$out" | has '^http'; then head -n1 "$out" | tr -d '\r'; return 0; fi
    sleep 0.1
  done
  cat "$out" >&2
  return 1
}

# sim_get URL: a GET of the simulator's control API (python3's urllib; curl may be absent).
sim_get() { python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' "$1"; }

# no_build_tree FILE...: no dynamic dependency, rpath or runpath of FILE points into the repo.
no_build_tree() {
  for f in "$@"; do
    if readelf -d "$f" | grep -E 'RPATH|RUNPATH' | grep -F "$root"; then fail "$f: rpath into $root"; fi
    if ldd "$f" | grep -F "$root"; then fail "$f: a library resolves into $root"; fi
    if ldd "$f" | grep 'not found'; then fail "$f: a library is not found"; fi
  done
}

linux_tar=$dist/ucwa-$version-linux-x64.tar.gz
win_zip=$dist/ucwa-$version-win-x64.zip
nupkg=$dist/Ucwa.$version.nupkg
win_wheel=$dist/ucwa_presence-$version-py3-none-win_amd64.whl
linux_wheel() { ls "$dist"/ucwa_presence-"$version"-py3-none-manylinux_*_x86_64.whl; }

# The example every C test compiles: the README's quick-start program, as written there.
snippet() { # snippet NAME: the fenced block after `<!-- snippet: NAME -->` in README.md
  awk -v want="<!-- snippet: $1 -->" '
    $0 == want {armed=1; next}
    armed && /^```/ && !inside {inside=1; next}
    inside && /^```/ {exit}
    inside {print}' "$root/README.md"
}

# ----- artifacts ------------------------------------------------------------------------------
every_artifact_is_there_with_its_checksum() {
  for f in "$linux_tar" "$win_zip" "$nupkg" "$win_wheel" "$(linux_wheel)" \
           "$dist/ucwa-$version.crate" "$dist/ucwa-sim-$version.crate" "$dist/SHA256SUMS"; do
    [ -f "$f" ] || fail "missing: $f"
  done
  (cd "$dist" && sha256sum --quiet -c SHA256SUMS)
  [ "$(wc -l <"$dist/SHA256SUMS")" = "$(($(ls "$dist" | wc -l) - 1))" ] || fail "SHA256SUMS does not list every file"
}

# The commands the C archives carry.
commands=(ucwa-sim ucwa ucwa-doctor)

linux_archive_has_the_sdk_layout_soname_and_one_version() {
  tar -xzf "$linux_tar"
  local d=ucwa-$version-linux-x64
  for f in include/ucwa.h lib/libucwa.so.$version lib/libucwa.so.$major lib/libucwa.so lib/libucwa.a \
           lib/pkgconfig/ucwa.pc install.sh Makefile README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE \
           share/ucwa/ucwa.service share/ucwa/ucwa-command.md share/ucwa/examples/mqtt.sh; do
    [ -e "$d/$f" ] || fail "the archive lacks $f"
  done
  for c in "${commands[@]}"; do [ -x "$d/bin/$c" ] || fail "the archive lacks bin/$c"; done
  [ "$(readlink "$d/lib/libucwa.so.$major")" = "libucwa.so.$version" ] || fail "libucwa.so.$major is not a link"
  [ "$(readlink "$d/lib/libucwa.so")" = "libucwa.so.$major" ] || fail "libucwa.so is not a link"
  readelf -d "$d/lib/libucwa.so.$version" | has "Library soname: \[libucwa.so.$major\]" ||
    fail "soname is not libucwa.so.$major"
  no_build_tree "$d/lib/libucwa.so.$version" "$d"/bin/*
  grep -qx "Version: $version" "$d/lib/pkgconfig/ucwa.pc" || fail "ucwa.pc's version is not $version"
  grep -q "#define UCWA_VERSION_STRING \"$version\"" "$d/include/ucwa.h" || fail "header version"
  grep -q "^## \[$version\]" "$d/CHANGELOG.md" || fail "CHANGELOG has no $version entry"
  for c in "${commands[@]}"; do
    "$d/bin/$c" --version | has -F "$version" || fail "$c --version does not say $version"
  done
}

# install_sdk PREFIX [static]: unpacks the archive in a directory of its own, runs make install,
# and removes the unpacked copy, so only PREFIX is left to resolve against.
install_sdk() {
  local unpack
  unpack=$(mktemp -d "$work/unpack.XXXXXX")
  tar -C "$unpack" -xzf "$linux_tar"
  make -s -C "$unpack/ucwa-$version-linux-x64" install PREFIX="$1" ${2:+LIBRARY_TYPE=static} >/dev/null
  rm -rf "$unpack"
}

c_program_links_with_pkg_config_from_an_installed_prefix_and_runs() {
  install_sdk "$work/prefix"
  snippet c-example > example.c
  [ -s example.c ] || fail "README has no c-example snippet"
  export PKG_CONFIG_PATH=$work/prefix/lib/pkgconfig
  [ "$(pkg-config --modversion ucwa)" = "$version" ] || fail "pkg-config --modversion"
  cc example.c -o example $(pkg-config --cflags --libs ucwa) -Wl,-rpath,"$work/prefix/lib"
  readelf -d example | has "NEEDED.*\[libucwa.so.$major\]" || fail "example does not need libucwa.so.$major"
  ldd example | has "libucwa.so.$major => $work/prefix/lib/libucwa.so.$major" || { ldd example; fail "libucwa resolves elsewhere"; }
  no_build_tree example
  url=$(start_sim "$work/prefix/bin/ucwa-sim" --listen 127.0.0.1:0)
  ./example "$url" | tee out.txt
  grep -q "ucwa $version" out.txt || fail "the program did not report library $version"
  grep -q "availability 2" out.txt || fail "the program did not read Busy back"
}

c_program_links_statically_with_pkg_config_static() {
  install_sdk "$work/static" static
  [ ! -e "$work/static/lib/libucwa.so" ] || fail "a static install carries the shared library"
  snippet c-example > example.c
  export PKG_CONFIG_PATH=$work/static/lib/pkgconfig
  cc example.c -o example $(pkg-config --static --cflags --libs ucwa)
  if readelf -d example | has 'NEEDED.*libucwa'; then fail "linked the shared library"; fi
  no_build_tree example
  url=$(start_sim "$work/static/bin/ucwa-sim" --listen 127.0.0.1:0)
  ./example "$url" | has "availability 2" || fail "the static program failed"
}

# ----- Python ---------------------------------------------------------------------------------
manylinux_wheel_installs_into_a_fresh_venv_and_the_python_suite_passes() {
  local wheel
  wheel=$(linux_wheel)
  [[ "$(basename "$wheel")" == ucwa_presence-$version-py3-none-manylinux_2_*_x86_64.whl ]] || fail "wheel tag: $wheel"
  install_sdk "$work/prefix"       # the release's ucwa-sim and header
  python3 -m venv venv
  venv/bin/pip install --disable-pip-version-check -q "$wheel" pytest
  venv/bin/python -c "import ucwa, sys; assert ucwa.__version__ == ucwa.library_version() == sys.argv[1], (ucwa.__version__, ucwa.library_version())" "$version"
  lib=$(venv/bin/python -c "import ucwa; print(ucwa.library_path)")
  [[ "$lib" == "$work/venv/"* ]] || fail "the package loads $lib"
  no_build_tree "$lib"
  # The suite, copied out of the repository; test_wheel.py builds a wheel from the source
  # tree, which is what this run has no access to, so it stays behind.
  mkdir suite && cp "$root"/bindings/python/tests/*.py suite/ && rm suite/test_wheel.py
  (cd suite && env -u PYTHONPATH -u UCWA_LIBRARY UCWA_TEST_INSTALLED=1 UCWA_SIM="$work/prefix/bin/ucwa-sim" \
     UCWA_HEADER="$work/prefix/include/ucwa.h" ../venv/bin/python -m pytest -q -p no:cacheprovider .) |
    tee "$work/python-suite.txt"
}

# ----- NuGet ----------------------------------------------------------------------------------
nupkg_is_a_nuget_package_and_the_csharp_suite_passes_against_it() {
  mkdir pkg && (cd pkg && unzip -q "$nupkg")
  for f in '[Content_Types].xml' _rels/.rels Ucwa.nuspec lib/netstandard2.0/Ucwa.dll \
           runtimes/linux-x64/native/libucwa.so runtimes/win-x64/native/ucwa.dll; do
    [ -f "pkg/$f" ] || fail "the .nupkg lacks $f"
  done
  python3 - pkg "$version" <<'PY'
import sys, re
from pathlib import Path
from xml.etree import ElementTree as ET
pkg, version = Path(sys.argv[1]), sys.argv[2]
ns = {"n": "http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd"}
meta = ET.parse(pkg / "Ucwa.nuspec").getroot().find("n:metadata", ns)
assert meta.findtext("n:id", namespaces=ns) == "Ucwa"
assert meta.findtext("n:version", namespaces=ns) == version, meta.findtext("n:version", namespaces=ns)
rels = (pkg / "_rels/.rels").read_text()
assert 'Target="/Ucwa.nuspec"' in rels and "packaging/2010/07/manifest" in rels, rels
types = ET.parse(pkg / "[Content_Types].xml").getroot()
exts = {d.get("Extension") for d in types}
for f in pkg.rglob("*"):
    if f.is_file() and f.name != "[Content_Types].xml":
        assert f.suffix.lstrip(".") in exts or f.name.lstrip(".") in exts, f"no content type for {f}"
PY
  no_build_tree pkg/runtimes/linux-x64/native/libucwa.so
  install_sdk "$work/prefix"
  UCWA_ASSEMBLY=$work/pkg/lib/netstandard2.0/Ucwa.dll UCWA_LIBRARY=$work/pkg/runtimes/linux-x64/native/libucwa.so \
    UCWA_SIM=$work/prefix/bin/ucwa-sim UCWA_HEADER=$work/prefix/include/ucwa.h UCWA_TEST_BUILD=$work/cs \
    bash "$root/bindings/csharp/run-tests.sh" | tee "$work/csharp-suite.txt"
}

# ----- Windows --------------------------------------------------------------------------------
windows_zip_and_wheel_dll_run_a_pkg_config_program_under_wine() {
  . "$root/scripts/windows/env.sh"
  bash "$root/scripts/test-windows.sh" prefix >/dev/null
  unzip -q "$win_zip"
  local d=$work/ucwa-$version-win-x64
  for f in bin/ucwa.dll lib/libucwa.dll.a lib/libucwa.a include/ucwa.h lib/pkgconfig/ucwa.pc \
           install.sh Makefile README.md LICENSE-MIT LICENSE-APACHE; do
    [ -f "$d/$f" ] || fail "the zip lacks $f"
  done
  for c in "${commands[@]}"; do [ -f "$d/bin/$c.exe" ] || fail "the zip lacks bin/$c.exe"; done
  exports=$(x86_64-w64-mingw32-objdump -p "$d/bin/ucwa.dll" |
    sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' | awk '/\[ *[0-9]+\]/ {print $NF}' | sort)
  declared=$(grep -Eo '\bucwa_[a-z0-9_]+ *\(' "$d/include/ucwa.h" | tr -d ' (' | sort -u)
  [ -n "$exports" ] && [ "$exports" = "$declared" ] || fail "ucwa.dll's exports differ from ucwa.h"
  grep -qx "Version: $version" "$d/lib/pkgconfig/ucwa.pc" || fail "ucwa.pc's version"
  snippet c-example > example.c
  # pkg-config for the cross-compiler: only the zip's .pc files, none of this machine's.
  x86_64-w64-mingw32-gcc example.c -o example.exe \
    $(PKG_CONFIG_LIBDIR="$d/lib/pkgconfig" pkg-config --cflags --libs ucwa)
  x86_64-w64-mingw32-objdump -p example.exe | has -i 'DLL Name: ucwa.dll' || fail "example.exe does not import ucwa.dll"
  mkdir run-zip run-wheel
  cp example.exe "$d/bin/ucwa.dll" run-zip/
  url=$(start_sim "$win_wine" "$d/bin/ucwa-sim.exe" --listen 127.0.0.1:0)
  "$win_wine" run-zip/example.exe "$url" | tr -d '\r' | tee zip.txt
  grep -q "ucwa $version" zip.txt && grep -q "availability 2" zip.txt || fail "example.exe with the zip's DLL"
  # Static: the zip installed without the DLL, the program linked with `pkg-config --static`;
  # it needs no ucwa.dll and no MinGW runtime DLL.
  sh "$d/install.sh" --static "$work/wstatic" >/dev/null
  [ ! -e "$work/wstatic/lib/libucwa.dll.a" ] && [ ! -e "$work/wstatic/bin/ucwa.dll" ] || fail "a static install carries the DLL"
  x86_64-w64-mingw32-gcc example.c -o static.exe \
    $(PKG_CONFIG_LIBDIR="$work/wstatic/lib/pkgconfig" pkg-config --static --cflags --libs ucwa)
  imports=$(x86_64-w64-mingw32-objdump -p static.exe | awk '/DLL Name:/ {print tolower($3)}')
  echo "static.exe imports: $(echo $imports)"
  if echo "$imports" | grep -E '^(ucwa|libgcc|libwinpthread|libstdc)'; then fail "static.exe imports a non-system DLL"; fi
  mkdir run-static && cp static.exe run-static/
  "$win_wine" run-static/static.exe "$url" | tr -d '\r' | has "availability 2" || fail "the static example.exe failed"
  # The wheel: the same DLL as the zip's, and it runs the same program.
  (mkdir wheel && cd wheel && unzip -q "$win_wheel")
  cmp wheel/ucwa/_native/ucwa.dll "$d/bin/ucwa.dll" || fail "the wheel's DLL is not the zip's"
  grep -qx "Version: $version" wheel/ucwa_presence-"$version".dist-info/METADATA || fail "wheel version"
  grep -qx "Tag: py3-none-win_amd64" wheel/ucwa_presence-"$version".dist-info/WHEEL || fail "wheel tag"
  cp example.exe wheel/ucwa/_native/ucwa.dll run-wheel/
  "$win_wine" run-wheel/example.exe "$url" | tr -d '\r' | has "availability 2" || fail "example.exe with the wheel's DLL"
}

# ----- crates ---------------------------------------------------------------------------------
crates_carry_the_sources_and_the_version() {
  for c in ucwa ucwa-sim; do
    tar -xzf "$dist/$c-$version.crate"
    grep -qx "version = \"$version\"" "$c-$version/Cargo.toml" || fail "$c.crate's version"
  done
  [ -f ucwa-$version/src/lib.rs ] && [ -f ucwa-$version/include/ucwa.h ] || fail "ucwa.crate lacks src or the header"
  [ ! -e ucwa-$version/bindings ] && [ ! -e ucwa-$version/dist ] || fail "ucwa.crate carries the bindings or dist"
  [ -f ucwa-sim-$version/src/main.rs ] && [ -f ucwa-sim-$version/Cargo.lock ] || fail "ucwa-sim.crate cannot be installed"
}

# ----- the README -----------------------------------------------------------------------------
# run_snippet NAME: runs the README's block NAME with bash in the current directory (a process
# group of its own, so what it starts in the background is stopped afterwards).
run_snippet() {
  local body
  body=$(snippet "$1")
  [ -n "$body" ] || fail "README has no snippet $1"
  printf 'set -e\n%s\n' "$body" > "$1.sh"
  setsid bash "$1.sh" > "$1.out" 2>&1 &
  local p=$!
  started "$p"
  wait "$p"
  local rc=$?
  cat "$1.out"
  kill -- "-$p" 2>/dev/null || true
  return "$rc"
}

readme_c_quick_start_runs_as_written() {
  cp "$linux_tar" .
  snippet c-example > example.c
  run_snippet c-quick-start
  grep -q "availability 2" c-quick-start.out || fail "no presence read back"
}

readme_python_quick_start_runs_as_written() {
  cp "$linux_tar" "$(linux_wheel)" .
  snippet python-example > example.py
  run_snippet python-quick-start
  grep -q "BUSY" python-quick-start.out || fail "no presence read back"
}

readme_csharp_quick_start_runs_as_written() {
  cp "$linux_tar" "$nupkg" .
  snippet csharp-example > Hello.cs
  run_snippet csharp-quick-start
  grep -q "presence: Busy" csharp-quick-start.out || fail "no presence read back"
}

readme_build_from_source_runs_as_written() {
  # HOME is this test's directory: the snippet installs into "$HOME/.local" (rustup and cargo
  # keep their own homes).
  export RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup} CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
  export HOME=$work/home
  mkdir -p "$HOME"
  (cd "$root" && bash -ec "$(snippet build-from-source)")
  [ -f "$HOME/.local/lib/libucwa.so.$version" ] || fail "install.sh did not install the release library"
  readelf -d "$HOME/.local/lib/libucwa.so.$version" | has "soname: \[libucwa.so.$major\]" || fail "soname"
  [ "$(PKG_CONFIG_PATH=$HOME/.local/lib/pkgconfig pkg-config --modversion ucwa)" = "$version" ] || fail "ucwa.pc"
  # The release build (a few MB), not the debug one (over 100 MB).
  [ "$(stat -c %s "$HOME/.local/lib/libucwa.so.$version")" -lt 40000000 ] || fail "install.sh installed a debug build"
}

demo_reports_its_version_and_signs_out_on_ctrl_c() {
  local demo=$root/bindings/c/build/ucwa_demo   # built by scripts/demo.sh (the test above)
  [ -x "$demo" ] || (cd "$root" && bash scripts/demo.sh >/dev/null)
  "$demo" --version | has -x "ucwa_demo $version (library ucwa $version, ABI 1)" || fail "ucwa_demo --version"
  install_sdk "$work/prefix"
  # Against a server: Ctrl-C while it keeps the presence (--stay) deletes the application.
  url=$(start_sim "$work/prefix/bin/ucwa-sim" --listen 127.0.0.1:0)
  UCWA_PASSWORD=alice-password setsid "$demo" --server "$url" --user alice@contoso.com \
    --password-env UCWA_PASSWORD --stay > server.out 2>&1 &
  local p=$!
  started "$p"
  for _ in $(seq 300); do grep -q "keeping the presence true" server.out && break; sleep 0.1; done
  sim_get "${url}_sim/users/alice@contoso.com" | has '"made_available":true' || fail "not available: $(cat server.out)"
  kill -INT -- "-$p"           # what a terminal's Ctrl-C does: the whole process group
  local rc=0
  wait "$p" || rc=$?
  cat server.out
  [ "$rc" = 130 ] || fail "exit status $rc after Ctrl-C, not 130"
  grep -q "interrupted: sign out ... ok" server.out || fail "no sign-out after Ctrl-C"
  sim_get "${url}_sim/users/alice@contoso.com" | has '"applications":\[\]' || fail "an application stayed on the server"
  sim_get "${url}_sim/log" | python3 -c 'import json, sys; sys.exit(not any(e["method"] == "DELETE" and e["route"] == "application" for e in json.load(sys.stdin)))' ||
    fail "no DELETE of the application in the simulator's log"
  # With the bundled simulator: the same Ctrl-C reaches the demo but not its simulator, which
  # serves the sign-out and is then stopped by the demo.
  setsid "$demo" --sim "$work/prefix/bin/ucwa-sim" --stay > sim.out 2>&1 &
  p=$!
  started "$p"
  for _ in $(seq 300); do grep -q "keeping the presence true" sim.out && break; sleep 0.1; done
  kill -INT -- "-$p"
  rc=0
  wait "$p" || rc=$?
  cat sim.out
  [ "$rc" = 130 ] || fail "exit status $rc after Ctrl-C, not 130"
  grep -q "interrupted: sign out ... ok" sim.out || fail "the bundled simulator did not serve the sign-out"
  grep -q "simulator stopped; interrupted" sim.out || fail "the simulator was not stopped"
}

readme_shell_quick_start_runs_as_written() {
  cp "$linux_tar" .
  # The service's exchanges recorded (the library reads UCWA_TRANSCRIPT in any host): what the
  # one-shot commands asked of it reached the server.
  export UCWA_TRANSCRIPT=$PWD/serve.jsonl
  run_snippet shell-quick-start
  has "state: *connected" shell-quick-start.out || fail "status --wait did not see the account connected"
  local posts
  posts=$(grep '"method":"POST"' serve.jsonl | grep '/presence"' || true)
  echo "$posts" | has '"status":20[04]' || fail "no presence POST answered"
  echo "$posts" | has 'Busy' || fail "the source's Busy was not sent"
  grep '"method":"POST"' serve.jsonl | grep '/note"' | has 'On a call' || fail "the source's note was not sent"
  [ "$(echo "$posts" | grep -c .)" -ge 2 ] || fail "clearing the source sent no presence"
  ! has alice-password serve.jsonl shell-quick-start.out || fail "the password is in the output"
}

readme_when_it_does_not_work_runs_as_written() {
  cp "$linux_tar" .
  run_snippet when-it-does-not-work
  grep '^ucwa-sim' when-it-does-not-work.out | tail -n1 | has '^ucwa-sim' || fail "the doctor printed no profile"
  [ -s doctor.jsonl ] && [ -s ucwa.log ] || fail "no transcript or no log"
  has ' DEBUG ' ucwa.log || fail "UCWA_LOG=debug wrote no debug record"
  ! has alice-password doctor.jsonl ucwa.log when-it-does-not-work.out || fail "the password leaked"
  ! has 'alice@contoso.com' ucwa.log || fail "the user name is in the log without UCWA_LOG_IDENTITY"
}

# The README's snippets and the tests above that run them.
snippets_run="build-from-source c-example c-quick-start csharp-example csharp-quick-start python-example python-quick-start shell-quick-start when-it-does-not-work"

readme_snippets_are_all_run_and_the_first_commands_keep_their_roles() {
  # The README's first block: the demo (run here) and the test command (what CI runs).
  local top
  top=$(awk '/^```sh/ {f=1; next} f && /^```/ {exit} f {print}' "$root/README.md")
  echo "$top" | sed -n 1p | has '^bash scripts/demo.sh ' || fail "the README's first command is not the demo"
  echo "$top" | sed -n 2p | has '^bash scripts/test-all.sh ' || fail "the README's second command is not the tests"
  grep -q '^exec bash scripts/test-all.sh$' "$root/.ci/run" || fail ".ci/run does not run the README's test command"
  (cd "$root" && bash scripts/demo.sh) | tee demo.txt
  grep -q "all steps succeeded" demo.txt || fail "the demo did not succeed"
  # Every other fenced block of the README is a snippet one of the tests above runs.
  local blocks marked
  blocks=$(grep -c '^```[a-z]' "$root/README.md")
  marked=$(sed -n 's/^<!-- snippet: \(.*\) -->$/\1/p' "$root/README.md" | sort | tr '\n' ' ')
  [ "$marked" = "$snippets_run " ] || fail "README's snippets ($marked) are not the ones tested ($snippets_run)"
  [ "$blocks" = "$(($(echo "$snippets_run" | wc -w) + 1))" ] || fail "README has $blocks fenced blocks: one is not a tested snippet"
}

[ -f "$linux_tar" ] || { echo "test-release: no $linux_tar; run scripts/release.sh" >&2; echo "0 passed, 1 failed"; exit 1; }
check every_artifact_is_there_with_its_checksum
check linux_archive_has_the_sdk_layout_soname_and_one_version
check c_program_links_with_pkg_config_from_an_installed_prefix_and_runs
check c_program_links_statically_with_pkg_config_static
check manylinux_wheel_installs_into_a_fresh_venv_and_the_python_suite_passes
[ -f "$work/t/manylinux_wheel_installs_into_a_fresh_venv_and_the_python_suite_passes/python-suite.txt" ] &&
  add_counts "$work/t/manylinux_wheel_installs_into_a_fresh_venv_and_the_python_suite_passes/python-suite.txt"
check nupkg_is_a_nuget_package_and_the_csharp_suite_passes_against_it
[ -f "$work/t/nupkg_is_a_nuget_package_and_the_csharp_suite_passes_against_it/csharp-suite.txt" ] &&
  add_counts "$work/t/nupkg_is_a_nuget_package_and_the_csharp_suite_passes_against_it/csharp-suite.txt"
check windows_zip_and_wheel_dll_run_a_pkg_config_program_under_wine
check crates_carry_the_sources_and_the_version
check readme_c_quick_start_runs_as_written
check readme_python_quick_start_runs_as_written
check readme_csharp_quick_start_runs_as_written
check readme_shell_quick_start_runs_as_written
check readme_when_it_does_not_work_runs_as_written
check readme_build_from_source_runs_as_written
check readme_snippets_are_all_run_and_the_first_commands_keep_their_roles
check demo_reports_its_version_and_signs_out_on_ctrl_c
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
