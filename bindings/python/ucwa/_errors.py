"""The exception hierarchy of the ucwa binding and the ``Status`` enum it is keyed on.

Owns: ``UcwaError`` (one class for every failure the C library reports), one subclass per
``ucwa_status`` value, and ``error_class_for``, the only mapping from a status number to a class.
The conversion of a native ``ucwa_error`` object into one of these lives in ``_ffi`` (the one
place where native errors become exceptions); this module knows nothing about ctypes so that the
classes can be imported, subclassed and pickled without loading the library.
"""

from __future__ import annotations

import enum
from typing import Any, Optional


class Status(enum.IntEnum):
    """``ucwa_status``: what every fallible call of the C library returns (values fixed forever)."""

    OK = 0
    INVALID_ARGUMENT = 1
    INVALID_HANDLE = 2
    INVALID_STATE = 3
    NETWORK = 4
    TIMEOUT = 5
    TLS = 6
    AUTHENTICATION = 7
    SERVER = 8
    PROTOCOL = 9
    INSECURE = 10
    INTERNAL = 11


class UcwaError(Exception):
    """A call into libucwa failed.

    Attributes:
        status: the ``Status`` the library returned (an ``int`` if this version does not know it).
        http_status: the HTTP status of the response behind the error, or ``None`` when there was
            no HTTP response (e.g. a refused connection or a bad argument).
        code: the UCWA error ``code`` the server sent (e.g. ``"Conflict"``), or ``None``.
        subcode: the UCWA ``subcode`` (e.g. ``"MakeMeAvailableRequired"``), or ``None``.
        message: the library's message for people; it never contains a token or a password.
        auth_resource: set on an ``AuthenticationError`` of a client that signs in with host
            tokens (``Client.sign_in_with_tokens``) when a token is missing or was refused: the
            origin (e.g. ``"https://lyncweb.contoso.com"``) to acquire a token for and give with
            ``Client.set_token``; ``None`` otherwise.
        authorization_uri: with ``auth_resource``: where the server says its tokens come from
            (its Bearer challenge's ``authorization_uri``, e.g. an ADFS or Azure AD authorize
            endpoint), or ``None`` when it named none.

    ``str(error)`` is the message.
    """

    #: The status this class stands for; ``None`` on the base class.
    STATUS: Optional[Status] = None

    def __init__(
        self,
        message: str,
        *,
        status: "Status | int | None" = None,
        http_status: Optional[int] = None,
        code: Optional[str] = None,
        subcode: Optional[str] = None,
        auth_resource: Optional[str] = None,
        authorization_uri: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        if status is None:
            status = self.STATUS if self.STATUS is not None else Status.INTERNAL
        self.message: str = message
        self.status: "Status | int" = _status_or_int(status)
        self.http_status: Optional[int] = http_status or None
        self.code: Optional[str] = code
        self.subcode: Optional[str] = subcode
        self.auth_resource: Optional[str] = auth_resource
        self.authorization_uri: Optional[str] = authorization_uri

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        parts = [repr(self.message), f"status={self.status!r}"]
        if self.http_status is not None:
            parts.append(f"http_status={self.http_status}")
        if self.code is not None:
            parts.append(f"code={self.code!r}")
        if self.subcode is not None:
            parts.append(f"subcode={self.subcode!r}")
        if self.auth_resource is not None:
            parts.append(f"auth_resource={self.auth_resource!r}")
        if self.authorization_uri is not None:
            parts.append(f"authorization_uri={self.authorization_uri!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only attributes are not in args, so default pickling would lose them; this
        # keeps errors intact across multiprocessing and concurrent.futures process pools.
        return (
            _rebuild,
            (
                type(self),
                self.message,
                int(self.status),
                self.http_status,
                self.code,
                self.subcode,
                self.auth_resource,
                self.authorization_uri,
            ),
        )


def _rebuild(cls: type[UcwaError], message: str, status: int, http_status: Optional[int],
             code: Optional[str], subcode: Optional[str], auth_resource: Optional[str] = None,
             authorization_uri: Optional[str] = None) -> UcwaError:
    return cls(message, status=status, http_status=http_status, code=code, subcode=subcode,
               auth_resource=auth_resource, authorization_uri=authorization_uri)


def _status_or_int(value: "Status | int") -> "Status | int":
    try:
        return Status(value)
    except ValueError:
        return int(value)


# Where a built-in exception means the same thing, the class also derives from it, so that
# code written against the standard library (``except ValueError``, ``except TimeoutError``,
# ``except ConnectionError``) keeps working. No class shadows a built-in name.


class InvalidArgumentError(UcwaError, ValueError):
    """NULL where not allowed, bad UTF-8, an out-of-range value, an unknown option (nothing was sent)."""

    STATUS = Status.INVALID_ARGUMENT


class InvalidHandleError(UcwaError):
    """The client (or an event/error object) was closed, freed or never valid."""

    STATUS = Status.INVALID_HANDLE


class InvalidStateError(UcwaError):
    """A call out of order: e.g. set presence before ``make_me_available``, or not signed in."""

    STATUS = Status.INVALID_STATE


class NetworkError(UcwaError, ConnectionError):
    """DNS, connect or reset failure."""

    STATUS = Status.NETWORK


class UcwaTimeoutError(UcwaError, TimeoutError):
    """A request or a whole call ran out of time (also an instance of the built-in ``TimeoutError``)."""

    STATUS = Status.TIMEOUT


class TlsError(UcwaError):
    """The TLS handshake failed (e.g. an untrusted certificate: see the ``ca_file`` option)."""

    STATUS = Status.TLS


class AuthenticationError(UcwaError):
    """Credentials refused, or 401 again right after a fresh token.

    For a client signed in with host tokens (``Client.sign_in_with_tokens``), a missing or
    refused token: ``auth_resource`` names the origin to acquire a token for and
    ``authorization_uri`` where the server says tokens come from; give it with
    ``Client.set_token`` and call again.
    """

    STATUS = Status.AUTHENTICATION


class ServerError(UcwaError):
    """The server answered with a UCWA error: see ``http_status``, ``code`` and ``subcode``."""

    STATUS = Status.SERVER


class ProtocolError(UcwaError):
    """The server's answer was not UCWA-shaped (HTML or bad JSON where JSON was due, a link missing)."""

    STATUS = Status.PROTOCOL


class InsecureError(UcwaError):
    """Refused for safety: plain http off loopback, a token or password to a foreign origin, an unsafe redirect."""

    STATUS = Status.INSECURE


class InternalError(UcwaError):
    """A bug in libucwa (a caught panic); the process keeps running. Please report it."""

    STATUS = Status.INTERNAL


_BY_STATUS: dict[int, type[UcwaError]] = {
    int(cls.STATUS): cls
    for cls in (
        InvalidArgumentError,
        InvalidHandleError,
        InvalidStateError,
        NetworkError,
        UcwaTimeoutError,
        TlsError,
        AuthenticationError,
        ServerError,
        ProtocolError,
        InsecureError,
        InternalError,
    )
}


def error_class_for(status: int) -> type[UcwaError]:
    """The exception class for a status; ``UcwaError`` itself for a status this version does not know."""
    return _BY_STATUS.get(int(status), UcwaError)
