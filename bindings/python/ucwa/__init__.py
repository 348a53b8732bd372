"""ucwa: keep a Skype for Business Server / Lync 2013 user's presence true, from Python.

A pure-ctypes binding of libucwa (the Rust core's C ABI, ``include/ucwa.h``). The library is
found through ``UCWA_LIBRARY``, else the copy a platform wheel ships in ``ucwa/_native/``, else
a workspace build (``target/debug``, ``target/release``); its ABI version is checked at import.

This module owns the public names only; see ``_client`` (``Client``), ``_types`` (enums,
``Presence``, events), ``_errors`` (exceptions) and ``_ffi`` (library loading, signatures).
"""

from __future__ import annotations

from . import _ffi
from ._client import Client, OptionValue
from ._errors import (
    AuthenticationError,
    InsecureError,
    InternalError,
    InvalidArgumentError,
    InvalidHandleError,
    InvalidStateError,
    NetworkError,
    ProtocolError,
    ServerError,
    Status,
    TlsError,
    UcwaError,
    UcwaTimeoutError,
)
from ._ffi import ABI_VERSION, LibraryNotFoundError
from ._types import (
    ApplicationRecreated,
    Availability,
    ConnectionState,
    ConnectionStateChanged,
    ContactLocationChanged,
    ContactNoteChanged,
    ContactPresenceChanged,
    EffectivePresenceChanged,
    Event,
    EventKind,
    Grant,
    LocationChanged,
    NoteChanged,
    Presence,
    PresenceCause,
    PresenceChanged,
    SignedOut,
    TokenNeeded,
    UnknownEvent,
)

__version__ = "0.1.0"

#: Absolute path of the libucwa this process loaded.
library_path: str = str(_ffi.library_path)


def abi_version() -> int:
    """The ABI version the loaded libucwa implements (checked equal to ``ABI_VERSION`` at import)."""
    return int(_ffi.lib.ucwa_abi_version())


def library_version() -> str:
    """The loaded libucwa's version, e.g. ``"0.1.0"``."""
    return _ffi.borrowed_str(_ffi.lib.ucwa_version()) or ""


def status_description(status: int) -> str:
    """The library's short English description of a status value, e.g. ``"invalid handle"``."""
    return _ffi.borrowed_str(_ffi.lib.ucwa_status_str(int(status) & 0xFFFF_FFFF)) or ""


__all__ = [
    "ABI_VERSION",
    "ApplicationRecreated",
    "AuthenticationError",
    "Availability",
    "Client",
    "ConnectionState",
    "ConnectionStateChanged",
    "ContactLocationChanged",
    "ContactNoteChanged",
    "ContactPresenceChanged",
    "EffectivePresenceChanged",
    "Event",
    "EventKind",
    "Grant",
    "InsecureError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidHandleError",
    "InvalidStateError",
    "LibraryNotFoundError",
    "LocationChanged",
    "NetworkError",
    "NoteChanged",
    "OptionValue",
    "Presence",
    "PresenceCause",
    "PresenceChanged",
    "ProtocolError",
    "ServerError",
    "SignedOut",
    "Status",
    "TlsError",
    "TokenNeeded",
    "UcwaError",
    "UcwaTimeoutError",
    "UnknownEvent",
    "abi_version",
    "library_path",
    "library_version",
    "status_description",
]
