// Ucwa/Enums.cs: the C ABI's enumerations (ucwa_status, ucwa_availability, ucwa_event_kind,
// ucwa_connection_state, ucwa_presence_cause) as .NET enums. Values mirror include/ucwa.h and are fixed forever.
// UcwaGrant is the binding's own: the values of the grant option, which the C ABI takes as text.

namespace Ucwa
{
    /// <summary>The status behind a <see cref="UcwaException"/> (the C ABI's <c>ucwa_status</c>).</summary>
    public enum UcwaStatus
    {
        /// <summary>Success; never carried by an exception.</summary>
        Ok = 0,
        /// <summary>An out-of-range value (e.g. an availability cast from a bad integer), an unknown option key or a bad option value.</summary>
        InvalidArgument = 1,
        /// <summary>A freed, stale or never-valid native handle.</summary>
        InvalidHandle = 2,
        /// <summary>Out of order: e.g. setting presence before <see cref="UcwaClient.MakeMeAvailable"/>, or signing in twice.</summary>
        InvalidState = 3,
        /// <summary>DNS, connect or reset failure.</summary>
        Network = 4,
        /// <summary>A request or a whole call ran out of time.</summary>
        Timeout = 5,
        /// <summary>The TLS handshake failed (e.g. an untrusted certificate).</summary>
        Tls = 6,
        /// <summary>Credentials refused, or 401 again right after a fresh token; for a client signed in with <see cref="UcwaClient.SignInWithTokens"/>, a missing or refused token (see <see cref="UcwaException.AuthResource"/>).</summary>
        Authentication = 7,
        /// <summary>A UCWA error response: see <see cref="UcwaException.HttpStatus"/>, <see cref="UcwaException.Code"/> and <see cref="UcwaException.Subcode"/>.</summary>
        Server = 8,
        /// <summary>The answer was not UCWA-shaped: HTML or bad JSON where JSON was due, a link missing.</summary>
        Protocol = 9,
        /// <summary>Refused for safety: plain http off loopback, a token or password to a foreign origin, an unsafe redirect.</summary>
        Insecure = 10,
        /// <summary>A bug in the native library (a caught panic); the process keeps running.</summary>
        Internal = 11,
    }

    /// <summary>A presence availability. Online..OffWork (1..6) can be set; IdleOnline..Unknown (7..10) are only ever read.</summary>
    public enum Availability
    {
        /// <summary>For <see cref="UcwaClient.MakeMeAvailable"/>: let the server choose. Never returned.</summary>
        Unspecified = 0,
        /// <summary>Online.</summary>
        Online = 1,
        /// <summary>Busy.</summary>
        Busy = 2,
        /// <summary>Do not disturb.</summary>
        DoNotDisturb = 3,
        /// <summary>Be right back.</summary>
        BeRightBack = 4,
        /// <summary>Away.</summary>
        Away = 5,
        /// <summary>Off work.</summary>
        OffWork = 6,
        /// <summary>Read-only: inactive while Online.</summary>
        IdleOnline = 7,
        /// <summary>Read-only: inactive while Busy.</summary>
        IdleBusy = 8,
        /// <summary>Read-only: offline.</summary>
        Offline = 9,
        /// <summary>Read-only: the server sent a value this library version does not know.</summary>
        Unknown = 10,
    }

    /// <summary>What a <see cref="UcwaEvent"/> is about.</summary>
    public enum UcwaEventKind
    {
        /// <summary>Not an event (only seen for an invalid native handle).</summary>
        None = 0,
        /// <summary>The user's presence changed (by this client, another device or the server's inactivity model): see <see cref="UcwaEvent.Availability"/> and <see cref="UcwaEvent.Activity"/>.</summary>
        PresenceChanged = 1,
        /// <summary>The note changed: see <see cref="UcwaEvent.Note"/>.</summary>
        NoteChanged = 2,
        /// <summary>The location changed: see <see cref="UcwaEvent.Location"/>.</summary>
        LocationChanged = 3,
        /// <summary>The keep-alive connection changed state: see <see cref="UcwaEvent.ConnectionState"/> and <see cref="UcwaEvent.Reason"/>.</summary>
        ConnectionStateChanged = 4,
        /// <summary>The server had lost the application; it was created again and the desired state re-applied.</summary>
        ApplicationRecreated = 5,
        /// <summary>The session ended: by the host (no <see cref="UcwaEvent.Reason"/>) or by the server (the reason says why).</summary>
        SignedOut = 6,
        /// <summary>A subscribed contact's presence changed (see <see cref="UcwaClient.SubscribePresence"/>): see <see cref="UcwaEvent.Contact"/>, <see cref="UcwaEvent.Availability"/> and <see cref="UcwaEvent.Activity"/>.</summary>
        ContactPresenceChanged = 7,
        /// <summary>A subscribed contact's note changed: see <see cref="UcwaEvent.Contact"/> and <see cref="UcwaEvent.Note"/>.</summary>
        ContactNoteChanged = 8,
        /// <summary>A subscribed contact's location changed: see <see cref="UcwaEvent.Contact"/> and <see cref="UcwaEvent.Location"/>.</summary>
        ContactLocationChanged = 9,
        /// <summary>Signed in with <see cref="UcwaClient.SignInWithTokens"/>: the token for <see cref="UcwaEvent.Resource"/> expires soon (five minutes ahead, or at half the lifetime of a shorter-lived token) or the server refused it; acquire one (from <see cref="UcwaEvent.AuthorizationUri"/>'s identity provider) and give it with <see cref="UcwaClient.SetToken"/>.</summary>
        TokenNeeded = 10,
        /// <summary>
        /// The presence the library keeps changed (composed from the preferred availability, the
        /// presence sources and the host's note): read <see cref="UcwaEvent.Availability"/>
        /// (<see cref="Availability.Unspecified"/> when nobody decides), <see cref="UcwaEvent.Note"/>,
        /// <see cref="UcwaEvent.Source"/> and <see cref="UcwaEvent.Cause"/>.
        /// </summary>
        EffectivePresenceChanged = 11,
    }

    /// <summary>The keep-alive supervisor's connection state.</summary>
    public enum ConnectionState
    {
        /// <summary>Not a connection-state event.</summary>
        None = 0,
        /// <summary>The event channel is parked and healthy.</summary>
        Connected = 1,
        /// <summary>Something failed; the recovery ladder is running.</summary>
        Recovering = 2,
        /// <summary>Recovery succeeded; the desired state holds again.</summary>
        Recovered = 3,
        /// <summary>The ladder ran out; the supervisor keeps retrying at its slowest pace (30 s).</summary>
        Lost = 4,
    }

    /// <summary>
    /// The sign-in grant, for <see cref="UcwaClient.SignIn(string, string, UcwaGrant)"/>: the
    /// values of the grant option (auto, password, windows). Not a C ABI enumeration: the option
    /// is text, so the numbers mean nothing to the library.
    /// </summary>
    public enum UcwaGrant
    {
        /// <summary>The password grant when the server offers it, else the Windows grant (the default).</summary>
        Auto = 0,
        /// <summary>Only the password grant (the password goes to the token endpoint).</summary>
        Password = 1,
        /// <summary>Only the Windows grant (NTLMv2 / Negotiate: the password proves itself, it is not sent).</summary>
        Windows = 2,
    }

    /// <summary>Why the presence the library keeps changed (ucwa_presence_cause).</summary>
    public enum PresenceCause
    {
        /// <summary>Not an <see cref="UcwaEventKind.EffectivePresenceChanged"/> event.</summary>
        None = 0,
        /// <summary>The host set a source, the preferred availability or the note.</summary>
        Set = 1,
        /// <summary>The host cleared a source, the preferred availability or the note.</summary>
        Cleared = 2,
        /// <summary>A source, the preferred availability or a timed note expired.</summary>
        Expired = 3,
        /// <summary>
        /// The availability was changed elsewhere (the person's desktop client) and adopted as the
        /// preferred choice (with the enforce_presence option it is overwritten instead).
        /// </summary>
        ChangedElsewhere = 4,
    }
}
