"""Value types of the ucwa binding: the enums mirrored from ``include/ucwa.h``, ``Presence``
and the typed events ``Client.events()`` yields.

Owns: ``Availability``, ``EventKind``, ``ConnectionState`` (``enum.IntEnum`` with the header's
fixed values), ``Grant`` (the values of the ``grant`` option), the frozen dataclasses
``Presence`` and ``Event`` with one subclass per event
kind (the user's own changes, the ``Contact*Changed`` events of subscribed contacts, and
``TokenNeeded`` for host-supplied tokens). Pure Python: no ctypes here, so these can be used (e.g. in type hints) without the library.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar, Optional

from ._errors import UcwaError


class Availability(enum.IntEnum):
    """``ucwa_availability``. 1..6 can be set; 7..10 are only ever read.

    ``UNSPECIFIED`` (0) means "let the server choose" for ``Client.make_me_available`` and is
    never returned. ``UNKNOWN`` is what a value the library (or this package) does not know reads as.
    """

    UNSPECIFIED = 0
    ONLINE = 1
    BUSY = 2
    DO_NOT_DISTURB = 3
    BE_RIGHT_BACK = 4
    AWAY = 5
    OFF_WORK = 6
    IDLE_ONLINE = 7
    IDLE_BUSY = 8
    OFFLINE = 9
    UNKNOWN = 10

    @property
    def settable(self) -> bool:
        """Whether ``Client.set_availability`` accepts this value (ONLINE..OFF_WORK)."""
        return 1 <= self.value <= 6

    @classmethod
    def _from_native(cls, value: int) -> "Availability":
        try:
            return cls(value)
        except ValueError:
            return cls.UNKNOWN


class Grant(str, enum.Enum):
    """The sign-in grant: the values of the ``grant`` option, for ``Client.sign_in(..., grant=)``.

    A ``str`` enum because the option is text: ``Grant.WINDOWS == "windows"``.
    """

    #: The password grant when the server offers it, else the Windows grant (the default).
    AUTO = "auto"
    #: Only the password grant (the password goes to the token endpoint).
    PASSWORD = "password"
    #: Only the Windows grant (NTLMv2 / Negotiate: the password proves itself, it is not sent).
    WINDOWS = "windows"


class EventKind(enum.IntEnum):
    """``ucwa_event_kind``: what an event is about."""

    NONE = 0
    PRESENCE_CHANGED = 1
    NOTE_CHANGED = 2
    LOCATION_CHANGED = 3
    CONNECTION_STATE_CHANGED = 4
    APPLICATION_RECREATED = 5
    SIGNED_OUT = 6
    #: A subscribed contact's presence changed (see ``Client.subscribe_presence``).
    CONTACT_PRESENCE_CHANGED = 7
    #: A subscribed contact's note changed.
    CONTACT_NOTE_CHANGED = 8
    #: A subscribed contact's location changed.
    CONTACT_LOCATION_CHANGED = 9
    #: Signed in with host tokens: a token expires soon or was refused (see ``TokenNeeded``).
    TOKEN_NEEDED = 10
    #: The presence the library keeps changed (see ``EffectivePresenceChanged``).
    EFFECTIVE_PRESENCE_CHANGED = 11


class PresenceCause(enum.IntEnum):
    """``ucwa_presence_cause``: why the presence the library keeps changed."""

    NONE = 0
    #: The host set a source, the preferred availability or the note.
    SET = 1
    #: The host cleared a source, the preferred availability or the note.
    CLEARED = 2
    #: A source, the preferred availability or a timed note expired.
    EXPIRED = 3
    #: The availability was changed elsewhere (the person's desktop client) and adopted as the
    #: preferred choice (with the ``enforce_presence`` option it is overwritten instead).
    CHANGED_ELSEWHERE = 4


class ConnectionState(enum.IntEnum):
    """``ucwa_connection_state``: the keep-alive supervisor's connection state."""

    NONE = 0
    #: The event channel is parked and healthy.
    CONNECTED = 1
    #: Something failed; the recovery ladder is running.
    RECOVERING = 2
    #: Recovery succeeded; the desired state holds again.
    RECOVERED = 3
    #: The ladder ran out; the supervisor keeps retrying at its slowest pace.
    LOST = 4


@dataclass(frozen=True)
class Presence:
    """The user's presence as the server reports it (``Client.get_presence``)."""

    availability: Availability
    #: The activity token the server sent (e.g. ``"in-a-meeting"``), or ``None``.
    activity: Optional[str] = None


@dataclass(frozen=True)
class Event:
    """Base class of every event ``Client.next_event`` / ``Client.events`` returns.

    Use ``isinstance`` or ``match`` on the subclasses, or compare ``event.kind``.
    """

    KIND: ClassVar[EventKind] = EventKind.NONE

    @property
    def kind(self) -> EventKind:
        """The ``EventKind`` of this event."""
        return self.KIND


@dataclass(frozen=True)
class PresenceChanged(Event):
    """The user's presence changed (by this client, another device, or the inactivity model)."""

    KIND: ClassVar[EventKind] = EventKind.PRESENCE_CHANGED
    availability: Availability
    activity: Optional[str] = None


@dataclass(frozen=True)
class NoteChanged(Event):
    """The note changed; ``note`` is ``None`` when it was cleared."""

    KIND: ClassVar[EventKind] = EventKind.NOTE_CHANGED
    note: Optional[str]


@dataclass(frozen=True)
class LocationChanged(Event):
    """The location changed; ``location`` is ``None`` when it was cleared."""

    KIND: ClassVar[EventKind] = EventKind.LOCATION_CHANGED
    location: Optional[str]


@dataclass(frozen=True)
class ConnectionStateChanged(Event):
    """The keep-alive connection changed state; ``reason`` says why (a ``UcwaError``, not raised)."""

    KIND: ClassVar[EventKind] = EventKind.CONNECTION_STATE_CHANGED
    state: ConnectionState
    reason: Optional[UcwaError] = None


@dataclass(frozen=True)
class ApplicationRecreated(Event):
    """The server had lost the application; it was created again and the desired state re-applied."""

    KIND: ClassVar[EventKind] = EventKind.APPLICATION_RECREATED


@dataclass(frozen=True)
class SignedOut(Event):
    """The session ended: by the host (``reason`` is ``None``) or by the server (``reason`` says why)."""

    KIND: ClassVar[EventKind] = EventKind.SIGNED_OUT
    reason: Optional[UcwaError] = None


@dataclass(frozen=True)
class ContactPresenceChanged(Event):
    """A subscribed contact's presence changed (see ``Client.subscribe_presence``).

    ``contact`` is the contact's SIP URI as the library reports it (``"sip:bob@contoso.com"``,
    the address lower-cased), whatever form was given to ``subscribe_presence``. Not a
    ``PresenceChanged``: that one is always the user's own presence.
    """

    KIND: ClassVar[EventKind] = EventKind.CONTACT_PRESENCE_CHANGED
    contact: str
    availability: Availability
    activity: Optional[str] = None


@dataclass(frozen=True)
class ContactNoteChanged(Event):
    """A subscribed contact's note changed; ``note`` is ``None`` when it was cleared.
    ``contact`` is the SIP URI, as in ``ContactPresenceChanged``."""

    KIND: ClassVar[EventKind] = EventKind.CONTACT_NOTE_CHANGED
    contact: str
    note: Optional[str]


@dataclass(frozen=True)
class ContactLocationChanged(Event):
    """A subscribed contact's location changed; ``location`` is ``None`` when it was cleared.
    ``contact`` is the SIP URI, as in ``ContactPresenceChanged``."""

    KIND: ClassVar[EventKind] = EventKind.CONTACT_LOCATION_CHANGED
    contact: str
    location: Optional[str]


@dataclass(frozen=True)
class TokenNeeded(Event):
    """Signed in with host tokens (``Client.sign_in_with_tokens``): the token for ``resource``
    expires soon (five minutes ahead, or at half the lifetime of a shorter-lived token) or the
    server refused it. Acquire a new one and give it with ``Client.set_token``; until then
    requests to that origin fail once the old token is gone.

    ``resource`` is the origin (e.g. ``"https://lyncweb.contoso.com"``); ``authorization_uri`` is
    where the server says its tokens come from (its Bearer challenge's ``authorization_uri``),
    or ``None`` when no challenge named one yet (e.g. the token was given before sign-in).
    """

    KIND: ClassVar[EventKind] = EventKind.TOKEN_NEEDED
    resource: str
    authorization_uri: Optional[str] = None


@dataclass(frozen=True)
class EffectivePresenceChanged(Event):
    """The presence the library keeps changed: composed from the preferred availability
    (``Client.set_availability``, ``Client.set_preferred_availability``), the sources
    (``Client.set_source_presence``, ``Client.presence_source``) and the host's note.

    ``availability`` is ``None`` when nobody decides (the server's own state stands);
    ``source`` names the deciding source, ``None`` when the preferred choice or nobody
    decides; ``note`` is what shows (``None``: none); ``cause`` says why it changed.
    """

    KIND: ClassVar[EventKind] = EventKind.EFFECTIVE_PRESENCE_CHANGED
    availability: Optional[Availability]
    note: Optional[str]
    source: Optional[str]
    cause: PresenceCause


@dataclass(frozen=True)
class UnknownEvent(Event):
    """An event of a kind newer than this package; ``kind_value`` is its raw number."""

    kind_value: int

    @property
    def kind(self) -> EventKind:
        return EventKind.NONE
