"""``ucwa.Client``: the Pythonic face of one ``ucwa_client`` handle.

Owns: the handle's lifetime (``close()``, the context manager, a ``weakref.finalize`` safety
net), converting Python arguments to C (UTF-8, checked integer ranges, option values), and C
results to Python values (``Presence``, typed events). Failures are raised by ``_ffi.call``.

Every method may be called from any thread at the same time (the C library is thread-safe and
ctypes releases the GIL while a call runs), including ``close()`` while another thread waits.
"""

from __future__ import annotations

import ctypes
import enum
import math
import os
import time
import weakref
from contextlib import contextmanager
from ctypes import byref, c_char_p, c_uint32, c_uint64, c_void_p
from datetime import timedelta
from typing import Iterable, Iterator, Optional, Union

from . import _ffi
from ._errors import InvalidArgumentError, InvalidHandleError, InvalidStateError, Status, UcwaError
from ._ffi import lib
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

def _contact(contact: object) -> str:
    """A contact argument: a ``str`` (the library checks that it is a SIP address)."""
    if not isinstance(contact, str):
        raise TypeError(f"contact must be a str, not {type(contact).__name__}")
    return contact


def _contact_list(contacts: Iterable[str]) -> list[str]:
    """A list-of-contacts argument, each a ``str``. A single string is refused: iterating it
    would send one "contact" per character."""
    if isinstance(contacts, (str, bytes)):
        raise TypeError("contacts must be a list of str, not a single string")
    return [_contact(c) for c in contacts]


def _c_strings(names: list[str]) -> "ctypes.Array[c_char_p]":
    """The ``const char *const *`` array of ``names`` (UTF-8); the caller keeps it alive for
    the call."""
    return (c_char_p * len(names))(
        *[_ffi.encode(n, f"contacts[{i}]") for i, n in enumerate(names)]
    )


#: What an option value may be: converted to the string the C ABI takes (see ``Client.set_option``).
OptionValue = Union[str, bool, int, float, "os.PathLike[str]", Iterable[str], None]

# Longest single wait inside one C call. Waiting in slices keeps Ctrl-C (KeyboardInterrupt) and
# interpreter shutdown responsive: a signal is only handled between C calls.
_WAIT_SLICE_S = 0.5
_U32_MAX = 0xFFFF_FFFF


def _u32(value: int, what: str) -> int:
    """An integer for a ``uint32_t`` parameter. ctypes would silently wrap 2**32 + 1 to 1 (a valid
    availability), so the range is checked here; values in range are validated by the library."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int or an enum member, not {type(value).__name__}")
    if not 0 <= value <= _U32_MAX:
        raise InvalidArgumentError(f"{what} {value} is out of range", status=Status.INVALID_ARGUMENT)
    return int(value)


def _option_text(key: str, value: OptionValue) -> str:
    if value is None:
        return ""
    if isinstance(value, enum.Enum):  # Grant: its option text, not "Grant.AUTO" (str() on 3.11+)
        return str(value.value)
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Iterable):
        return ",".join(str(v) for v in value)
    raise TypeError(f"option {key}: unsupported value type {type(value).__name__}")


def _expires_s(expires: Optional[timedelta]) -> int:
    """An expiry as the C ABI takes it: whole seconds, rounded up; 0 for none (until cleared)."""
    if expires is None:
        return 0
    if not isinstance(expires, timedelta):
        raise TypeError(f"expires must be a datetime.timedelta or None, not {type(expires).__name__}")
    seconds = expires.total_seconds()
    if seconds <= 0:
        raise InvalidArgumentError(
            f"expires must be positive, not {expires}", status=Status.INVALID_ARGUMENT
        )
    return min(math.ceil(seconds), _U32_MAX)


def _timeout_ms(timeout: float) -> int:
    if timeout < 0 or math.isnan(timeout):
        raise ValueError(f"timeout must be >= 0 seconds, not {timeout}")
    return min(math.ceil(timeout * 1000), _U32_MAX)


def _event_contact(ev: _ffi.EventP) -> str:  # type: ignore[valid-type]
    """The SIP URI of a contact event (the library always sets it for the contact kinds)."""
    return _ffi.borrowed_str(lib.ucwa_event_contact(ev)) or ""


def _event_from_native(ev: _ffi.EventP) -> Event:  # type: ignore[valid-type]
    """Copies an owned native event into a Python value and frees it."""
    try:
        kind = lib.ucwa_event_get_kind(ev)
        if kind == EventKind.PRESENCE_CHANGED:
            return PresenceChanged(
                Availability._from_native(lib.ucwa_event_availability(ev)),
                _ffi.borrowed_str(lib.ucwa_event_activity(ev)),
            )
        if kind == EventKind.NOTE_CHANGED:
            return NoteChanged(_ffi.borrowed_str(lib.ucwa_event_note(ev)))
        if kind == EventKind.LOCATION_CHANGED:
            return LocationChanged(_ffi.borrowed_str(lib.ucwa_event_location(ev)))
        if kind == EventKind.CONNECTION_STATE_CHANGED:
            raw = lib.ucwa_event_connection_state(ev)
            try:
                state = ConnectionState(raw)
            except ValueError:
                state = ConnectionState.NONE
            return ConnectionStateChanged(state, _ffi.error_value(lib.ucwa_event_reason(ev)))
        if kind == EventKind.CONTACT_PRESENCE_CHANGED:
            return ContactPresenceChanged(
                _event_contact(ev),
                Availability._from_native(lib.ucwa_event_availability(ev)),
                _ffi.borrowed_str(lib.ucwa_event_activity(ev)),
            )
        if kind == EventKind.CONTACT_NOTE_CHANGED:
            return ContactNoteChanged(_event_contact(ev), _ffi.borrowed_str(lib.ucwa_event_note(ev)))
        if kind == EventKind.CONTACT_LOCATION_CHANGED:
            return ContactLocationChanged(
                _event_contact(ev), _ffi.borrowed_str(lib.ucwa_event_location(ev))
            )
        if kind == EventKind.TOKEN_NEEDED:
            return TokenNeeded(
                _ffi.borrowed_str(lib.ucwa_event_resource(ev)) or "",
                _ffi.borrowed_str(lib.ucwa_event_authorization_uri(ev)),
            )
        if kind == EventKind.EFFECTIVE_PRESENCE_CHANGED:
            raw = lib.ucwa_event_availability(ev)
            try:
                cause = PresenceCause(lib.ucwa_event_cause(ev))
            except ValueError:
                cause = PresenceCause.NONE
            return EffectivePresenceChanged(
                Availability._from_native(raw) if raw else None,
                _ffi.borrowed_str(lib.ucwa_event_note(ev)),
                _ffi.borrowed_str(lib.ucwa_event_source(ev)),
                cause,
            )
        if kind == EventKind.APPLICATION_RECREATED:
            return ApplicationRecreated()
        if kind == EventKind.SIGNED_OUT:
            return SignedOut(_ffi.error_value(lib.ucwa_event_reason(ev)))
        return UnknownEvent(kind)
    finally:
        lib.ucwa_event_free(ev)


class Client:
    """A client for one user on one Skype for Business Server / Lync pool (UCWA 2.0).

    ``server`` is a discovery URL (``"https://lyncdiscover.contoso.com"``,
    ``"http://127.0.0.1:8080/"``; plain http only for loopback) or a bare SIP domain
    (``"contoso.com"``). Keyword arguments are options, set in order as by ``set_option``::

        with ucwa.Client("https://lyncdiscover.contoso.com", timeout_ms=10_000) as c:
            c.sign_in("alice@contoso.com", password)
            c.make_me_available()
            c.set_availability(ucwa.Availability.BUSY)

    Network calls are methods (``get_note()``, ``set_note()``...), never properties, because
    they block and can raise; only cheap local reads are properties (``request_count``,
    ``closed``). Leaving the ``with`` block, ``close()``, or garbage collection frees the native
    client, which signs out (bounded to 5 s).
    """

    def __init__(self, server: str, **options: OptionValue) -> None:
        handle = _ffi.ClientP()
        _ffi.call(lib.ucwa_client_new, _ffi.encode(server, "server"), byref(handle))
        self._server = server
        self._handle: Optional[_ffi.ClientP] = handle  # type: ignore[valid-type]
        # The safety net holds the handle, not self, so it does not keep the Client alive; it
        # runs at most once (close() runs it too), also at interpreter exit.
        self._finalizer = weakref.finalize(self, lib.ucwa_client_free, handle)
        try:
            for key, value in options.items():
                self.set_option(key, value)
        except BaseException:
            self.close()
            raise

    # -- lifetime ---------------------------------------------------------------------------

    def _h(self) -> "_ffi.ClientP":  # type: ignore[valid-type]
        handle = self._handle
        if handle is None:
            raise InvalidHandleError("this ucwa.Client is closed", status=Status.INVALID_HANDLE)
        return handle

    @property
    def closed(self) -> bool:
        """Whether ``close()`` has run."""
        return self._handle is None

    def close(self) -> None:
        """Frees the native client: stops the keep-alive, signs out if signed in (bounded to
        5 s), wipes the credentials. Idempotent; any later call raises ``InvalidHandleError``.
        A thread waiting in ``next_event`` returns at once."""
        self._handle = None
        self._finalizer()

    def __enter__(self) -> "Client":
        self._h()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<ucwa.Client {self._server!r} {state}>"

    # -- configuration ----------------------------------------------------------------------

    def set_option(self, key: str, value: OptionValue) -> None:
        """Sets one option (see the README for every key, its meaning and default).

        Values are converted to the text the library takes: ``bool`` → ``"1"``/``"0"``, numbers
        → decimal text, paths → ``os.fspath``, other iterables (``modalities``,
        ``allowed_hosts``) → comma-separated, ``None`` → ``""``. An unknown key or a bad value
        raises ``InvalidArgumentError`` and changes nothing.
        """
        _ffi.call(
            lib.ucwa_client_set_option,
            self._h(),
            _ffi.encode(key, "option key"),
            _ffi.encode(_option_text(key, value), f"option {key}"),
        )

    # -- session ----------------------------------------------------------------------------

    def sign_in(
        self, user: str, password: str, *, grant: Optional[Union[Grant, str]] = None
    ) -> None:
        """Signs in (discovery → OAuth challenge → token → user → application) and parks the
        event channel. The password is never logged nor put in an error message.

        ``user`` is the SIP address, a UPN or ``DOMAIN\\user``. ``grant`` (a ``Grant`` or its
        text, e.g. ``"password"``), when given, sets the ``grant`` option first, exactly as
        ``set_option("grant", grant)``: it stays set for later sign-ins and re-authentication.
        ``None`` leaves the option as it is (``auto`` unless set). A value the library does not
        know raises ``InvalidArgumentError`` before anything is sent; a ``grant`` of another
        type raises ``TypeError``.
        """
        if grant is not None:
            if not isinstance(grant, str):  # a Grant is a str too
                raise TypeError(f"grant must be a ucwa.Grant or a str, not {type(grant).__name__}")
            self.set_option("grant", grant)
        _ffi.call(
            lib.ucwa_sign_in,
            self._h(),
            _ffi.encode(user, "user"),
            _ffi.encode(password, "password"),
        )

    def sign_in_current_user(self) -> None:
        """Signs in as the logged-on Windows user: the Windows grant (Negotiate, else NTLM)
        with the credentials of the account the process runs as, through Windows' own SSPI, so
        the program holds no password at all (e.g. a Windows service signing in as its own
        account). The ``grant`` option must be ``auto`` or ``windows``.

        On other systems it raises ``AuthenticationError`` at once, before any request, saying
        it needs Windows; there, use ``sign_in("DOMAIN\\user", password)`` (or a UPN), which runs
        the Windows grant with those credentials. Also raises ``InvalidStateError`` (already
        signed in) and the network and server errors of ``sign_in``.
        """
        _ffi.call(lib.ucwa_sign_in_current_user, self._h())

    def sign_in_with_tokens(self, user: str) -> None:
        """Signs in with host-supplied tokens only (modern authentication: ADFS or Azure AD in
        front of the pool; the host acquires tokens itself, e.g. with MSAL). No password is used
        or sent, and the library never asks a token endpoint itself.

        Every origin that challenges must have a token given with ``set_token``. When one has no
        live token, or refuses the one given, this raises ``AuthenticationError`` whose
        ``auth_resource`` names the origin and ``authorization_uri`` where the server says
        tokens come from; give that token and call again::

            try:
                client.sign_in_with_tokens("alice@contoso.com")
            except ucwa.AuthenticationError as e:
                if e.auth_resource is None:
                    raise
                client.set_token(e.auth_resource, acquire(e.auth_resource), 3600)
                client.sign_in_with_tokens("alice@contoso.com")

        Once signed in, ``TokenNeeded`` events ask for a new token ahead of expiry and when the
        server refuses one. Sign-out forgets every token.
        """
        _ffi.call(lib.ucwa_sign_in_with_tokens, self._h(), _ffi.encode(user, "user"))

    def set_token(self, resource: str, access_token: str, expires_in_s: int) -> None:
        """Gives or replaces the bearer token for one resource, for ``sign_in_with_tokens``.

        ``resource`` is the origin the token is for, ``"https://host[:port]"`` with nothing after
        the authority (plain http only to loopback, for tests); ``access_token`` the token as
        the identity provider issued it (sent only to that origin, as ``Authorization: Bearer
        ...``, and never repeated in an error message); ``expires_in_s`` its remaining lifetime
        in seconds, 1..604800 (MSAL's ``expires_in``).

        May be called before sign-in and at any time after, from any thread. Sends nothing.
        Raises ``InvalidArgumentError`` for a resource that is not such an origin, an empty or
        unsendable token (control characters, NUL) or a lifetime out of range; ``TypeError``
        for arguments of the wrong type.
        """
        if isinstance(expires_in_s, bool) or not isinstance(expires_in_s, int):
            raise TypeError(f"expires_in_s must be an int, not {type(expires_in_s).__name__}")
        _ffi.call(
            lib.ucwa_client_set_token,
            self._h(),
            _ffi.encode(resource, "resource"),
            _ffi.encode(access_token, "access_token"),
            _u32(expires_in_s, "expires_in_s"),
        )

    def make_me_available(self, sign_in_as: Optional[Union[Availability, int]] = None) -> None:
        """Leaves "lurker mode" so presence can be set and read, and starts the keep-alive.

        ``sign_in_as``: ``None`` lets the server choose, or a settable ``Availability``.
        """
        value = Availability.UNSPECIFIED if sign_in_as is None else sign_in_as
        _ffi.call(lib.ucwa_make_me_available, self._h(), _u32(value, "sign_in_as"))

    def sign_out(self) -> None:
        """Stops the keep-alive and deletes the application on the server. The client can sign
        in again afterwards. Raises ``InvalidStateError`` when not signed in."""
        _ffi.call(lib.ucwa_sign_out, self._h())

    # -- presence ---------------------------------------------------------------------------

    def set_availability(self, availability: Union[Availability, int]) -> None:
        """Sets the person's preferred availability (``Availability.ONLINE`` .. ``OFF_WORK``)
        without expiry: it decides over every presence source until cleared, and the
        keep-alive keeps it true. Anything else raises ``InvalidArgumentError`` (nothing sent)."""
        _ffi.call(lib.ucwa_set_availability, self._h(), _u32(availability, "availability"))

    def reset_availability(self) -> None:
        """Clears the preferred availability, handing the decision to the presence sources;
        when none is live, the server derives the availability again from activity and
        calendar."""
        _ffi.call(lib.ucwa_reset_availability, self._h())

    def set_source_presence(
        self,
        source: str,
        availability: Union[Availability, int],
        note: Optional[str] = None,
        expires: Optional[timedelta] = None,
    ) -> None:
        """Sets (or replaces) presence source ``source`` (1..32 characters, no control
        characters; at most 16 live): one of the host's reasons for a presence, such as
        ``"phone"``, ``"calendar"`` or ``"lock"``.

        The presence the library keeps is the live preferred availability, else the live source
        of highest precedence (DO_NOT_DISTURB > BUSY > BE_RIGHT_BACK > ONLINE > AWAY >
        OFF_WORK, the latest set among equals), else nobody decides and the server's own state
        stands. The note is the deciding source's ``note`` when it has one, else the host's
        (``set_note``, ``set_note_until``). ``expires`` (a positive ``timedelta``, at most 7
        days, rounded up to whole seconds; ``None``: until cleared) removes the source without
        any call. Only changes of the composed state go to the server, paced (a burst, then
        one per 300 ms; the last state always lands). A presence change made elsewhere is
        adopted as the preferred availability unless the ``enforce_presence`` option is on.
        Needs ``make_me_available`` (``InvalidStateError`` before); bad input raises
        ``InvalidArgumentError`` and changes nothing.
        """
        _ffi.call(
            lib.ucwa_set_source_presence,
            self._h(),
            _ffi.encode(source, "source"),
            _u32(availability, "availability"),
            _ffi.encode(note, "note"),
            _expires_s(expires),
        )

    def clear_source_presence(self, source: str) -> None:
        """Removes presence source ``source`` (one not live is no error)."""
        _ffi.call(lib.ucwa_clear_source_presence, self._h(), _ffi.encode(source, "source"))

    @contextmanager
    def presence_source(
        self,
        source: str,
        availability: Union[Availability, int],
        note: Optional[str] = None,
        expires: Optional[timedelta] = None,
    ) -> Iterator[None]:
        """Sets presence source ``source`` for the ``with`` block and clears it on the way out,
        also when the block raises::

            with client.presence_source("phone", Availability.BUSY, note="On a call"):
                ...  # the call

        Arguments as ``set_source_presence``. A failure to clear on the way out of a block that
        raised is not raised over the block's own exception (the source then ends with its
        ``expires``, or the session).
        """
        self.set_source_presence(source, availability, note, expires)
        try:
            yield
        except BaseException:
            try:
                self.clear_source_presence(source)
            except UcwaError:
                pass
            raise
        self.clear_source_presence(source)

    def set_preferred_availability(
        self, availability: Union[Availability, int], expires: Optional[timedelta] = None
    ) -> None:
        """Sets the person's preferred availability, which decides over every source, for
        ``expires`` (a positive ``timedelta`` up to 7 days; ``None``: until cleared); when it
        expires the sources decide again, without any call."""
        _ffi.call(
            lib.ucwa_set_preferred_availability,
            self._h(),
            _u32(availability, "availability"),
            _expires_s(expires),
        )

    def clear_preferred_availability(self) -> None:
        """Clears the preferred availability: the sources decide again."""
        _ffi.call(lib.ucwa_clear_preferred_availability, self._h())

    def set_note_until(self, message: str, expires: Optional[timedelta] = None) -> None:
        """Sets the host's note for ``expires`` (a positive ``timedelta`` up to 7 days;
        ``None``: as ``set_note``); when it expires, the note set before it comes back without
        any call. A deciding source's own note shows over it."""
        _ffi.call(
            lib.ucwa_set_note_until,
            self._h(),
            _ffi.encode(message, "message"),
            _expires_s(expires),
        )

    def get_presence(self) -> Presence:
        """Reads the user's presence from the server."""
        availability = c_uint32()
        activity = c_void_p()
        _ffi.call(lib.ucwa_get_presence, self._h(), byref(availability), byref(activity))
        return Presence(
            Availability._from_native(availability.value), _ffi.take_owned_str(activity)
        )

    def set_note(self, message: Optional[str]) -> None:
        """Sets the personal note; ``None`` or ``""`` clears it. Kept true by the keep-alive."""
        _ffi.call(lib.ucwa_set_note, self._h(), _ffi.encode(message, "note"))

    def get_note(self) -> Optional[str]:
        """Reads the personal note from the server; ``None`` when there is none."""
        out = c_void_p()
        _ffi.call(lib.ucwa_get_note, self._h(), byref(out))
        return _ffi.take_owned_str(out)

    def set_location(self, location: Optional[str]) -> None:
        """Sets the location; ``None`` or ``""`` clears it. Kept true by the keep-alive."""
        _ffi.call(lib.ucwa_set_location, self._h(), _ffi.encode(location, "location"))

    def get_location(self) -> Optional[str]:
        """Reads the location from the server; ``None`` when there is none."""
        out = c_void_p()
        _ffi.call(lib.ucwa_get_location, self._h(), byref(out))
        return _ffi.take_owned_str(out)

    # -- contacts (other people's presence) -------------------------------------------------

    def get_contact_presence(self, contact: str) -> Presence:
        """Reads a contact's presence. ``contact`` is ``"sip:bob@contoso.com"`` or the bare
        address. Works once signed in (``make_me_available`` is not needed). A contact the
        server does not know raises ``ServerError`` with ``http_status`` 404 and the server's
        ``code``/``subcode``."""
        availability = c_uint32()
        activity = c_void_p()
        _ffi.call(
            lib.ucwa_get_contact_presence,
            self._h(),
            _ffi.encode(_contact(contact), "contact"),
            byref(availability),
            byref(activity),
        )
        return Presence(
            Availability._from_native(availability.value), _ffi.take_owned_str(activity)
        )

    def get_contact_note(self, contact: str) -> Optional[str]:
        """Reads a contact's note; ``None`` when there is none. As ``get_contact_presence``."""
        out = c_void_p()
        _ffi.call(
            lib.ucwa_get_contact_note,
            self._h(),
            _ffi.encode(_contact(contact), "contact"),
            byref(out),
        )
        return _ffi.take_owned_str(out)

    def get_contact_location(self, contact: str) -> Optional[str]:
        """Reads a contact's location; ``None`` when there is none. As ``get_contact_presence``."""
        out = c_void_p()
        _ffi.call(
            lib.ucwa_get_contact_location,
            self._h(),
            _ffi.encode(_contact(contact), "contact"),
            byref(out),
        )
        return _ffi.take_owned_str(out)

    def get_contacts_presence(self, contacts: Iterable[str]) -> dict[str, Availability]:
        """Reads many contacts' availability at once (UCWA batch requests; at most 1000
        contacts a call). Returns ``{contact: Availability}`` keyed by the strings given; a
        contact the server does not know is ``Availability.UNKNOWN`` and the call still
        succeeds. An empty list sends nothing."""
        names = _contact_list(contacts)
        if not names:
            return {}
        encoded = _c_strings(names)
        out = (c_uint32 * len(names))()
        _ffi.call(lib.ucwa_get_contacts_presence, self._h(), encoded, len(names), out)
        return {n: Availability._from_native(out[i]) for i, n in enumerate(names)}

    # -- subscriptions (other people's presence, pushed) -------------------------------------

    def subscribe_presence(self, contacts: Iterable[str]) -> None:
        """Watches contacts: each change of their presence, note or location arrives as a
        ``ContactPresenceChanged``, ``ContactNoteChanged`` or ``ContactLocationChanged`` event
        (``next_event`` / ``events``) whose ``contact`` is the SIP URI, lower-cased::

            client.subscribe_presence(["sip:bob@contoso.com", "carol@contoso.com"])
            for event in client.events(timeout=60):
                if isinstance(event, ucwa.ContactPresenceChanged):
                    print(event.contact, event.availability.name, event.activity)

        ``contacts`` are SIP URIs or bare addresses, at most 1000 a call (10000 in all).
        Subscribing to a contact twice is harmless. Works once signed in (``make_me_available``
        is not needed) and needs the event channel (option ``event_channel``, on by default).
        The library keeps the server's subscription alive (extends it every
        ``subscription_refresh_s`` seconds, makes it again after it expired or the application
        was recreated) until ``unsubscribe_presence``, sign-out or ``close()``.

        Raises ``TypeError`` for a single string or an entry that is not a ``str``, and
        ``InvalidArgumentError`` for an address that is not a SIP address or more than 1000
        contacts, both before anything is sent; ``InvalidStateError`` when not signed in. When
        the server refuses (a contact it does not know: ``ServerError`` with ``http_status``
        400), none of this call's contacts is subscribed. An empty iterable does nothing.
        """
        names = _contact_list(contacts)
        encoded = _c_strings(names) if names else None
        _ffi.call(lib.ucwa_subscribe_presence, self._h(), encoded, len(names))

    def unsubscribe_presence(self, contacts: Iterable[str]) -> None:
        """Stops watching contacts: from this call on no event comes for them, even when telling
        the server fails (that error is raised, and the library tells the server again later).
        Contacts not subscribed are ignored. Arguments and argument errors as
        ``subscribe_presence``."""
        names = _contact_list(contacts)
        encoded = _c_strings(names) if names else None
        _ffi.call(lib.ucwa_unsubscribe_presence, self._h(), encoded, len(names))

    def report_activity(self) -> None:
        """Tells the server the user is active now (the keep-alive also does this on a timer)."""
        _ffi.call(lib.ucwa_report_activity, self._h())

    @property
    def request_count(self) -> int:
        """How many HTTP requests this client has sent so far, background ones included."""
        out = c_uint64()
        _ffi.call(lib.ucwa_client_request_count, self._h(), byref(out))
        return out.value

    # -- events -----------------------------------------------------------------------------

    def next_event(self, timeout: Optional[float] = 0.0) -> Optional[Event]:
        """Waits up to ``timeout`` seconds (``None``: no limit, ``0``: just look) for the next
        event; returns it, or ``None`` when none arrived in time.

        Raises ``InvalidStateError`` once the client is signed out and every event was read,
        and ``InvalidHandleError`` when the client is (or gets) closed. Each event goes to one
        caller, so several threads may wait at once.
        """
        deadline = None if timeout is None else time.monotonic() + max(_timeout_ms(timeout), 0) / 1000
        while True:
            if deadline is None:
                wait = _WAIT_SLICE_S
            else:
                wait = min(max(deadline - time.monotonic(), 0.0), _WAIT_SLICE_S)
            ev = _ffi.EventP()
            _ffi.call(lib.ucwa_client_next_event, self._h(), _timeout_ms(wait), byref(ev))
            if ev:
                return _event_from_native(ev)
            if deadline is not None and time.monotonic() >= deadline:
                return None

    def events(self, timeout: Optional[float] = None) -> Iterator[Event]:
        """Iterates over events as they arrive.

        The iteration ends when no event arrives within ``timeout`` seconds (``None``: never),
        when the client is signed out and every event was read (the last one is ``SignedOut``),
        or when the client is closed::

            for event in client.events(timeout=30):
                if isinstance(event, ucwa.PresenceChanged):
                    print(event.availability, event.activity)
        """
        while True:
            try:
                event = self.next_event(timeout)
            except (InvalidStateError, InvalidHandleError):
                return
            if event is None:
                return
            yield event
