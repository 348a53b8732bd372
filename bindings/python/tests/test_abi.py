"""The binding against the C header it binds: every function of include/ucwa.h declared with
matching argtypes/restype, the enums' values equal, and the library found and ABI-checked the
documented way (UCWA_LIBRARY, the ABI version check at import)."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
from ctypes import POINTER, c_char_p, c_size_t, c_uint16, c_uint32, c_uint64, c_void_p
from pathlib import Path

import pytest

import ucwa
from ucwa import _ffi
from conftest import HEADER, INSTALLED, PYTHON_DIR


_OPAQUE = {
    "ucwa_client": _ffi.ucwa_client,
    "ucwa_error": _ffi.ucwa_error,
    "ucwa_event": _ffi.ucwa_event,
    "ucwa_log_record": _ffi.ucwa_log_record,
}
_SCALAR = {
    "uint32_t": c_uint32,
    "uint16_t": c_uint16,
    "uint64_t": c_uint64,
    "size_t": c_size_t,
    "ucwa_status": c_uint32,
}


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def header_functions() -> dict[str, tuple[str, list[str]]]:
    """name → (return type, [parameter types]) for every prototype in the header."""
    text = _strip_comments(HEADER.read_text())
    protos = {}
    for m in re.finditer(r"(?m)^([A-Za-z_][\w \*]*?[\s\*])(ucwa_\w+)\s*\(([^)]*)\)\s*;", text):
        ret, name, params = m.group(1), m.group(2), m.group(3)
        types = []
        for p in params.split(","):
            p = " ".join(p.split())
            if p in ("void", ""):
                continue
            # drop the parameter name: the last identifier
            types.append(re.sub(r"\s*\b\w+$", "", p))
        protos[name] = (" ".join(ret.split()), types)
    return protos


def expected_ctype(ctype: str, *, is_return: bool):
    """The ctypes type the binding's conventions demand for a C type (see _ffi.SIGNATURES)."""
    t = ctype.replace(" *", "*").strip()
    if t == "const char*const*":
        return POINTER(c_char_p)  # an array of inputs we encode (the contact-list calls)
    const = t.startswith("const ")
    base = t.removeprefix("const ").strip()
    stars = base.count("*")
    base = base.replace("*", "").strip()
    if base == "void" and stars == 0:
        return None
    if base == "char":
        if stars == 1 and const:
            # borrowed result read without freeing, or an input we encode
            return c_void_p if is_return else c_char_p
        if stars == 1:
            return c_void_p  # an owned string handed back to ucwa_string_free
        if stars == 2:
            return POINTER(c_void_p)  # out-param receiving an owned string
    if base in _OPAQUE:
        out = POINTER(_OPAQUE[base])
        for _ in range(stars - 1):
            out = POINTER(out)
        assert stars >= 1, ctype
        return out
    if base in _SCALAR:
        out = _SCALAR[base]
        for _ in range(stars):
            out = POINTER(out)
        return out
    raise AssertionError(f"the test does not know the C type {ctype!r}: extend expected_ctype")


def test_header_parses_into_every_function() -> None:
    protos = header_functions()
    # a broken parser must not make the next test vacuous
    assert len(protos) >= 41, sorted(protos)
    assert protos["ucwa_get_presence"] == (
        "ucwa_status",
        ["ucwa_client *", "uint32_t *", "char **", "ucwa_error **"],
    )
    assert protos["ucwa_error_message"] == ("const char *", ["const ucwa_error *"])
    # the array-of-strings parameter (const char *const *) survives the parse
    assert protos["ucwa_subscribe_presence"] == (
        "ucwa_status",
        ["ucwa_client *", "const char *const *", "size_t", "ucwa_error **"],
    )


def test_every_header_function_has_matching_argtypes_and_restype() -> None:
    protos = header_functions()
    assert set(_ffi.SIGNATURES) == set(protos), (
        f"missing in SIGNATURES: {sorted(set(protos) - set(_ffi.SIGNATURES))}; "
        f"not in the header: {sorted(set(_ffi.SIGNATURES) - set(protos))}"
    )
    mismatches = []
    for name, (ret, params) in protos.items():
        func = getattr(_ffi.lib, name)
        want_ret = expected_ctype(ret, is_return=True)
        want_args = [expected_ctype(p, is_return=False) for p in params]
        if func.restype is not want_ret:
            mismatches.append(f"{name}: restype {func.restype} != {want_ret} ({ret})")
        if func.argtypes is None or list(func.argtypes) != want_args:
            mismatches.append(f"{name}: argtypes {func.argtypes} != {want_args} ({params})")
    assert mismatches == []


def _header_enum(name: str) -> dict[str, int]:
    text = _strip_comments(HEADER.read_text())
    m = re.search(r"enum " + name + r"\b[^{]*\{(.*?)\}", text, flags=re.S)
    assert m, name
    return {k: int(v) for k, v in re.findall(r"(UCWA_\w+)\s*=\s*(\d+)", m.group(1))}


@pytest.mark.parametrize(
    "c_enum,prefix,py_enum",
    [
        ("ucwa_status", "UCWA_", ucwa.Status),
        ("ucwa_availability", "UCWA_AVAILABILITY_", ucwa.Availability),
        ("ucwa_event_kind", "UCWA_EVENT_KIND_", ucwa.EventKind),
        ("ucwa_connection_state", "UCWA_CONNECTION_STATE_", ucwa.ConnectionState),
        ("ucwa_log_level", "UCWA_LOG_LEVEL_", ucwa.LogLevel),
    ],
)
def test_python_enums_equal_the_header(c_enum: str, prefix: str, py_enum) -> None:
    values = _header_enum(c_enum)
    assert len(values) >= 5
    want = {k.removeprefix(prefix).removeprefix("ERROR_"): v for k, v in values.items()}
    assert {m.name: m.value for m in py_enum} == want


def test_abi_version_constant_equals_the_header() -> None:
    m = re.search(r"#define UCWA_ABI_VERSION (\d+)", HEADER.read_text())
    assert m and int(m.group(1)) == ucwa.ABI_VERSION == ucwa.abi_version()


def _import_in_subprocess(env_library: str | None, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("UCWA_LIBRARY", None)
    if env_library is not None:
        env["UCWA_LIBRARY"] = env_library
    if INSTALLED:
        env.pop("PYTHONPATH", None)   # the installed package, as the suite itself imports it
    else:
        env["PYTHONPATH"] = str(PYTHON_DIR)
    return subprocess.run(
        [sys.executable, "-c", "import ucwa; print(ucwa.library_path)"],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=60,
    )


def test_ucwa_library_env_chooses_the_library(tmp_path: Path) -> None:
    copy = tmp_path / "copied" / "libucwa.so"
    copy.parent.mkdir()
    shutil.copy(_ffi.library_path, copy)
    r = _import_in_subprocess(str(copy), tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(copy.resolve())


def test_ucwa_library_pointing_nowhere_fails_import_clearly(tmp_path: Path) -> None:
    r = _import_in_subprocess(str(tmp_path / "nope.so"), tmp_path)
    assert r.returncode != 0
    assert "LibraryNotFoundError" in r.stderr and "UCWA_LIBRARY" in r.stderr


def test_abi_mismatch_fails_import_with_a_clear_message(tmp_path: Path) -> None:
    # A stand-in library exporting every symbol, whose ucwa_abi_version says 2.
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.fail("no C compiler to build the stand-in library (install gcc)")
    src = tmp_path / "fake.c"
    src.write_text(
        "unsigned ucwa_abi_version(void) { return 2; }\n"
        + "".join(
            f"int {name}(void) {{ return 0; }}\n"
            for name in _ffi.SIGNATURES
            if name != "ucwa_abi_version"
        )
    )
    lib = tmp_path / "libucwa-abi2.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    r = _import_in_subprocess(str(lib), tmp_path)
    assert r.returncode != 0
    assert "ABI version 2" in r.stderr and "needs ABI version 1" in r.stderr


def test_library_is_found_without_ucwa_library_in_a_source_checkout(tmp_path: Path) -> None:
    r = _import_in_subprocess(None, tmp_path)
    assert r.returncode == 0, r.stderr
    found = Path(r.stdout.strip())
    assert found.is_absolute() and found in _ffi.candidate_paths()


def test_the_package_under_test_is_the_one_intended() -> None:
    package = Path(ucwa.__file__).resolve().parent
    if INSTALLED:
        # From the wheel: the package in this interpreter's environment, with its own library.
        assert Path(sys.prefix).resolve() in package.parents, (package, sys.prefix)
        library = Path(ucwa.library_path)
        assert library == package / "_native" / library.name, library
    else:
        assert package == PYTHON_DIR / "ucwa"


def test_an_installed_copy_looks_only_inside_itself_for_the_library(tmp_path: Path) -> None:
    # A copy of the package away from any checkout, without a shipped library: the error lists
    # its own _native/ only, never directories guessed around the install location.
    site = tmp_path / "venv" / "lib" / "site-packages"
    shutil.copytree(Path(ucwa.__file__).parent, site / "ucwa",
                    ignore=shutil.ignore_patterns("_native", "__pycache__"))
    env = {k: v for k, v in os.environ.items() if k != "UCWA_LIBRARY"}
    env["PYTHONPATH"] = str(site)
    r = subprocess.run([sys.executable, "-c", "import ucwa"], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    listed = r.stderr.split("Looked in:")[1].split()
    assert listed == [str(site / "ucwa" / "_native" / Path(ucwa.library_path).name)], r.stderr


def test_a_relative_ucwa_library_is_resolved_against_the_current_directory(tmp_path: Path) -> None:
    r = _import_in_subprocess("lib/libucwa.so", tmp_path)
    assert r.returncode != 0
    assert f"resolved against the current directory {tmp_path.resolve()}" in r.stderr, r.stderr
    copy = tmp_path / "lib" / "libucwa.so"
    copy.parent.mkdir()
    shutil.copy(_ffi.library_path, copy)
    r = _import_in_subprocess("lib/libucwa.so", tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(copy.resolve())
