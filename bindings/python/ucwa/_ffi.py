"""Loading libucwa and declaring its C ABI for ctypes.

Owns: finding the shared library (``UCWA_LIBRARY``, then the copy shipped in ``ucwa/_native/``,
then the workspace build), the ABI version check at import, ``argtypes``/``restype`` for every
function of ``include/ucwa.h`` (table ``SIGNATURES``), reading borrowed and owned C strings, and
``call``/``raise_for``: the one place where a failed status and its native ``ucwa_error`` become
a Python exception (and the native error is freed).

Nothing else in the package touches ``ctypes`` return values directly.
"""

from __future__ import annotations

import ctypes
import os
import sys
from ctypes import POINTER, byref, c_char_p, c_size_t, c_uint16, c_uint32, c_uint64, c_void_p
from pathlib import Path
from typing import Any, Optional

from ._errors import Status, UcwaError, error_class_for

#: The ABI this package was written against (``UCWA_ABI_VERSION`` in ``include/ucwa.h``).
ABI_VERSION = 1


class LibraryNotFoundError(ImportError):
    """libucwa could not be found or loaded, or it implements a different ABI."""


# Opaque native types. Handles are ids the library validates, never dereferenced here; distinct
# pointer types keep a client from being passed where an error or event is expected.
class ucwa_client(ctypes.Structure):
    """Opaque ``ucwa_client``."""


class ucwa_error(ctypes.Structure):
    """Opaque ``ucwa_error``."""


class ucwa_event(ctypes.Structure):
    """Opaque ``ucwa_event``."""


ClientP = POINTER(ucwa_client)
ErrorP = POINTER(ucwa_error)
EventP = POINTER(ucwa_event)

# ucwa_status and the enum typedefs are uint32_t in C11.
_status = c_uint32

# Conventions of this table (the header test checks it against include/ucwa.h):
# - `const char *` parameters are c_char_p (we pass UTF-8 bytes we encoded);
# - `const char *` results are borrowed: c_void_p, read with string_at and never freed;
# - `char *` / `char **` are owned strings: c_void_p so the very pointer can be handed back to
#   ucwa_string_free (a c_char_p result would be copied and the pointer lost, i.e. leaked).
SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "ucwa_abi_version": (c_uint32, []),
    "ucwa_version": (c_void_p, []),
    "ucwa_status_str": (c_void_p, [c_uint32]),
    "ucwa_client_new": (_status, [c_char_p, POINTER(ClientP), POINTER(ErrorP)]),
    "ucwa_client_set_option": (_status, [ClientP, c_char_p, c_char_p, POINTER(ErrorP)]),
    "ucwa_sign_in": (_status, [ClientP, c_char_p, c_char_p, POINTER(ErrorP)]),
    "ucwa_sign_in_with_tokens": (_status, [ClientP, c_char_p, POINTER(ErrorP)]),
    "ucwa_sign_in_current_user": (_status, [ClientP, POINTER(ErrorP)]),
    "ucwa_client_set_token": (_status, [ClientP, c_char_p, c_char_p, c_uint32, POINTER(ErrorP)]),
    "ucwa_make_me_available": (_status, [ClientP, c_uint32, POINTER(ErrorP)]),
    "ucwa_set_availability": (_status, [ClientP, c_uint32, POINTER(ErrorP)]),
    "ucwa_reset_availability": (_status, [ClientP, POINTER(ErrorP)]),
    "ucwa_get_presence": (
        _status,
        [ClientP, POINTER(c_uint32), POINTER(c_void_p), POINTER(ErrorP)],
    ),
    "ucwa_set_note": (_status, [ClientP, c_char_p, POINTER(ErrorP)]),
    "ucwa_set_source_presence": (
        _status,
        [ClientP, c_char_p, c_uint32, c_char_p, c_uint32, POINTER(ErrorP)],
    ),
    "ucwa_clear_source_presence": (_status, [ClientP, c_char_p, POINTER(ErrorP)]),
    "ucwa_set_preferred_availability": (_status, [ClientP, c_uint32, c_uint32, POINTER(ErrorP)]),
    "ucwa_clear_preferred_availability": (_status, [ClientP, POINTER(ErrorP)]),
    "ucwa_set_note_until": (_status, [ClientP, c_char_p, c_uint32, POINTER(ErrorP)]),
    "ucwa_get_note": (_status, [ClientP, POINTER(c_void_p), POINTER(ErrorP)]),
    "ucwa_set_location": (_status, [ClientP, c_char_p, POINTER(ErrorP)]),
    "ucwa_get_location": (_status, [ClientP, POINTER(c_void_p), POINTER(ErrorP)]),
    "ucwa_get_contact_presence": (
        _status,
        [ClientP, c_char_p, POINTER(c_uint32), POINTER(c_void_p), POINTER(ErrorP)],
    ),
    "ucwa_get_contact_note": (_status, [ClientP, c_char_p, POINTER(c_void_p), POINTER(ErrorP)]),
    "ucwa_get_contact_location": (
        _status,
        [ClientP, c_char_p, POINTER(c_void_p), POINTER(ErrorP)],
    ),
    "ucwa_get_contacts_presence": (
        _status,
        [ClientP, POINTER(c_char_p), c_size_t, POINTER(c_uint32), POINTER(ErrorP)],
    ),
    "ucwa_subscribe_presence": (
        _status,
        [ClientP, POINTER(c_char_p), c_size_t, POINTER(ErrorP)],
    ),
    "ucwa_unsubscribe_presence": (
        _status,
        [ClientP, POINTER(c_char_p), c_size_t, POINTER(ErrorP)],
    ),
    "ucwa_report_activity": (_status, [ClientP, POINTER(ErrorP)]),
    "ucwa_sign_out": (_status, [ClientP, POINTER(ErrorP)]),
    "ucwa_client_free": (None, [ClientP]),
    "ucwa_client_request_count": (_status, [ClientP, POINTER(c_uint64), POINTER(ErrorP)]),
    "ucwa_error_status": (c_uint32, [ErrorP]),
    "ucwa_error_message": (c_void_p, [ErrorP]),
    "ucwa_error_http_status": (c_uint16, [ErrorP]),
    "ucwa_error_code": (c_void_p, [ErrorP]),
    "ucwa_error_subcode": (c_void_p, [ErrorP]),
    "ucwa_error_auth_resource": (c_void_p, [ErrorP]),
    "ucwa_error_authorization_uri": (c_void_p, [ErrorP]),
    "ucwa_error_free": (None, [ErrorP]),
    "ucwa_client_next_event": (
        _status,
        [ClientP, c_uint32, POINTER(EventP), POINTER(ErrorP)],
    ),
    "ucwa_event_get_kind": (c_uint32, [EventP]),
    "ucwa_event_availability": (c_uint32, [EventP]),
    "ucwa_event_contact": (c_void_p, [EventP]),
    "ucwa_event_source": (c_void_p, [EventP]),
    "ucwa_event_cause": (c_uint32, [EventP]),
    "ucwa_event_resource": (c_void_p, [EventP]),
    "ucwa_event_authorization_uri": (c_void_p, [EventP]),
    "ucwa_event_activity": (c_void_p, [EventP]),
    "ucwa_event_note": (c_void_p, [EventP]),
    "ucwa_event_location": (c_void_p, [EventP]),
    "ucwa_event_connection_state": (c_uint32, [EventP]),
    "ucwa_event_reason": (ErrorP, [EventP]),
    "ucwa_event_free": (None, [EventP]),
    "ucwa_string_free": (None, [c_void_p]),
}


def _library_file_name() -> str:
    if sys.platform == "darwin":
        return "libucwa.dylib"
    if sys.platform == "win32":
        return "ucwa.dll"
    return "libucwa.so"


def _package_dir() -> Path:
    return Path(__file__).resolve().parent


def candidate_paths() -> list[Path]:
    """Where the library is looked for, in order (absolute paths; ``UCWA_LIBRARY`` is handled apart).

    1. ``ucwa/_native/<lib>``: the copy a platform wheel ships;
    2. ``<workspace>/target/debug/<lib>`` and ``<workspace>/target/release/<lib>``, where the
       workspace is three directories above this file (``bindings/python/ucwa`` → repo root), so a
       source checkout works right after ``cargo build``.
    """
    name = _library_file_name()
    pkg = _package_dir()
    workspace = pkg.parent.parent.parent
    return [
        pkg / "_native" / name,
        workspace / "target" / "debug" / name,
        workspace / "target" / "release" / name,
    ]


def find_library() -> Path:
    """The absolute path of the libucwa to load (see ``candidate_paths``)."""
    env = os.environ.get("UCWA_LIBRARY")
    if env:
        path = Path(env).expanduser().resolve()
        if not path.is_file():
            # An explicit choice that is wrong must not silently fall back to another library.
            raise LibraryNotFoundError(
                f"UCWA_LIBRARY is set to {env!r}, but there is no file at {path}"
            )
        return path
    tried = candidate_paths()
    for path in tried:
        if path.is_file():
            return path
    listing = "\n  ".join(str(p) for p in tried)
    raise LibraryNotFoundError(
        "libucwa was not found. Set UCWA_LIBRARY to the path of the shared library, install a "
        "platform wheel of this package, or build it with `cargo build -p ucwa` in the "
        f"workspace. Looked in:\n  {listing}"
    )


def _load() -> tuple[ctypes.CDLL, Path]:
    path = find_library()
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as e:
        raise LibraryNotFoundError(f"could not load libucwa from {path}: {e}") from e
    for name, (restype, argtypes) in SIGNATURES.items():
        try:
            func = getattr(lib, name)
        except AttributeError as e:
            raise LibraryNotFoundError(
                f"{path} does not export {name}; it is not a matching libucwa build"
            ) from e
        func.restype = restype
        func.argtypes = argtypes
    found = lib.ucwa_abi_version()
    if found != ABI_VERSION:
        raise LibraryNotFoundError(
            f"libucwa at {path} implements ABI version {found}, but this Python package needs "
            f"ABI version {ABI_VERSION}. Install the libucwa that matches this package (or the "
            "package that matches the library), or point UCWA_LIBRARY at a matching build."
        )
    return lib, path


lib, library_path = _load()


def borrowed_str(ptr: Optional[int]) -> Optional[str]:
    """Reads a borrowed ``const char *`` (static, or owned by a live error/event); never frees it."""
    if not ptr:
        return None
    return ctypes.string_at(ptr).decode("utf-8", errors="replace")


def take_owned_str(ptr: c_void_p) -> Optional[str]:
    """Reads an owned ``char *`` and frees it with ``ucwa_string_free`` (even if decoding fails)."""
    if not ptr.value:
        return None
    try:
        # The library only hands out valid UTF-8 (it came from JSON), so strict decoding.
        return ctypes.string_at(ptr.value).decode("utf-8")
    finally:
        lib.ucwa_string_free(ptr)


def error_from_native(status: int, err: Any) -> UcwaError:
    """Builds the exception for a failed call from its native error and frees that error.

    ``err`` may be NULL (e.g. the library could not allocate one): the status alone then decides
    the class and ``ucwa_status_str`` gives the message.
    """
    try:
        if err:
            # The status the call returned decides the class; the error object carries the rest.
            message = borrowed_str(lib.ucwa_error_message(err)) or ""
            http_status = lib.ucwa_error_http_status(err) or None
            code = borrowed_str(lib.ucwa_error_code(err))
            subcode = borrowed_str(lib.ucwa_error_subcode(err))
            auth_resource = borrowed_str(lib.ucwa_error_auth_resource(err))
            authorization_uri = borrowed_str(lib.ucwa_error_authorization_uri(err))
        else:
            message = borrowed_str(lib.ucwa_status_str(status)) or f"status {status}"
            http_status = code = subcode = auth_resource = authorization_uri = None
    finally:
        if err:
            lib.ucwa_error_free(err)
    cls = error_class_for(status)
    return cls(
        message,
        status=status,
        http_status=http_status,
        code=code,
        subcode=subcode,
        auth_resource=auth_resource,
        authorization_uri=authorization_uri,
    )


def call(func: Any, *args: Any) -> None:
    """Calls a fallible ABI function, appending ``&out_error``; raises the matching ``UcwaError``.

    This is the single place where a non-zero ``ucwa_status`` becomes an exception.
    """
    err = ErrorP()
    status = func(*args, byref(err))
    if status != Status.OK:
        raise error_from_native(status, err)
    if err:  # the contract says NULL on success; free defensively rather than leak
        lib.ucwa_error_free(err)


def error_value(err: Any) -> Optional[UcwaError]:
    """Converts an owned native error that is data, not a failure (an event's reason); frees it."""
    if not err:
        return None
    return error_from_native(lib.ucwa_error_status(err), err)


def encode(value: Optional[str], what: str) -> Optional[bytes]:
    """UTF-8 for a ``const char *`` argument; NUL inside would silently truncate, so it is refused."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if "\0" in value:
        from ._errors import InvalidArgumentError

        raise InvalidArgumentError(f"{what} contains a NUL character")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as e:  # lone surrogates cannot be sent as UTF-8
        from ._errors import InvalidArgumentError

        raise InvalidArgumentError(f"{what} is not valid Unicode text: {e.reason}") from None
