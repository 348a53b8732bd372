// Ucwa/UcwaEvent.cs: one keep-alive event as a managed, immutable snapshot. Everything is
// copied out of the native ucwa_event (and its reason error) before the native objects are
// freed, so a UcwaEvent needs no disposal and may be kept and passed between threads.

using System;

namespace Ucwa
{
    /// <summary>One event from the client's keep-alive supervisor.</summary>
    public sealed class UcwaEvent
    {
        private UcwaEvent() { }

        /// <summary>What the event is about; it says which of the other properties are set.</summary>
        public UcwaEventKind Kind { get; private set; }

        /// <summary>
        /// For the contact kinds (<see cref="UcwaEventKind.ContactPresenceChanged"/>,
        /// <see cref="UcwaEventKind.ContactNoteChanged"/>, <see cref="UcwaEventKind.ContactLocationChanged"/>):
        /// whose change it is, as a SIP URI with the address lower-cased ("sip:bob@contoso.com"),
        /// whatever form was given to <see cref="UcwaClient.SubscribePresence"/>. Null for the
        /// user's own events and every other kind.
        /// </summary>
        public string Contact { get; private set; }

        /// <summary>
        /// For <see cref="UcwaEventKind.TokenNeeded"/>: the resource (an origin such as
        /// "https://lyncweb.contoso.com") whose token expires soon or was refused; pass it to
        /// <see cref="UcwaClient.SetToken"/> with the new token. Null for every other kind.
        /// </summary>
        public string Resource { get; private set; }

        /// <summary>
        /// For <see cref="UcwaEventKind.TokenNeeded"/>: where the server says its tokens come from
        /// (its Bearer challenge's authorization_uri, e.g. an ADFS or Azure AD authorize
        /// endpoint), or null when no challenge named one yet (e.g. the token was given before
        /// sign-in) and for every other kind.
        /// </summary>
        public string AuthorizationUri { get; private set; }

        /// <summary>
        /// For <see cref="UcwaEventKind.EffectivePresenceChanged"/>: the presence source that now
        /// decides; null when the preferred availability or nobody decides, and for every other kind.
        /// </summary>
        public string Source { get; private set; }

        /// <summary>For <see cref="UcwaEventKind.EffectivePresenceChanged"/>: why it changed; otherwise <see cref="PresenceCause.None"/>.</summary>
        public PresenceCause Cause { get; private set; }

        /// <summary>For <see cref="UcwaEventKind.PresenceChanged"/> and <see cref="UcwaEventKind.ContactPresenceChanged"/>: the new availability; for <see cref="UcwaEventKind.EffectivePresenceChanged"/> the availability the library now keeps (<see cref="Ucwa.Availability.Unspecified"/> when nobody decides); otherwise <see cref="Ucwa.Availability.Unspecified"/>.</summary>
        public Availability Availability { get; private set; }

        /// <summary>For <see cref="UcwaEventKind.PresenceChanged"/> and <see cref="UcwaEventKind.ContactPresenceChanged"/>: the activity the server sent, or null.</summary>
        public string Activity { get; private set; }

        /// <summary>For <see cref="UcwaEventKind.NoteChanged"/> and <see cref="UcwaEventKind.ContactNoteChanged"/>: the new note, or null when it was cleared; for <see cref="UcwaEventKind.EffectivePresenceChanged"/> the note that now shows, or null.</summary>
        public string Note { get; private set; }

        /// <summary>For <see cref="UcwaEventKind.LocationChanged"/> and <see cref="UcwaEventKind.ContactLocationChanged"/>: the new location, or null when it was cleared.</summary>
        public string Location { get; private set; }

        /// <summary>For <see cref="UcwaEventKind.ConnectionStateChanged"/>: the new state; otherwise <see cref="Ucwa.ConnectionState.None"/>.</summary>
        public ConnectionState ConnectionState { get; private set; }

        /// <summary>
        /// Why the connection state changed or the server signed the session out, as the
        /// exception a call would have thrown (not thrown, just carried); null when there is no
        /// reason (e.g. a sign-out the host asked for).
        /// </summary>
        public UcwaException Reason { get; private set; }

        /// <summary>E.g. "PresenceChanged Busy (in-a-meeting)", "ContactNoteChanged sip:bob@contoso.com Back at 3", "TokenNeeded https://lyncweb.contoso.com".</summary>
        /// <returns>A short description for logs.</returns>
        public override string ToString()
        {
            switch (Kind)
            {
                case UcwaEventKind.PresenceChanged:
                    return Kind + " " + Availability + (Activity == null ? "" : " (" + Activity + ")");
                case UcwaEventKind.NoteChanged:
                    return Kind + " " + (Note ?? "(cleared)");
                case UcwaEventKind.LocationChanged:
                    return Kind + " " + (Location ?? "(cleared)");
                case UcwaEventKind.ContactPresenceChanged:
                    return Kind + " " + Contact + " " + Availability + (Activity == null ? "" : " (" + Activity + ")");
                case UcwaEventKind.ContactNoteChanged:
                    return Kind + " " + Contact + " " + (Note ?? "(cleared)");
                case UcwaEventKind.ContactLocationChanged:
                    return Kind + " " + Contact + " " + (Location ?? "(cleared)");
                case UcwaEventKind.EffectivePresenceChanged:
                    return Kind + " " + Availability + " by " + (Source ?? "(preferred or nobody)") + " (" + Cause + ")";
                case UcwaEventKind.TokenNeeded:
                    return Kind + " " + Resource + (AuthorizationUri == null ? "" : " (from " + AuthorizationUri + ")");
                case UcwaEventKind.ConnectionStateChanged:
                    return Kind + " " + ConnectionState + (Reason == null ? "" : ": " + Reason.Message);
                default:
                    return Reason == null ? Kind.ToString() : Kind + ": " + Reason.Message;
            }
        }

        /// <summary>Copies a native event; the caller still owns and frees <paramref name="ev"/>.</summary>
        internal static UcwaEvent FromNative(EventHandle ev)
        {
            var result = new UcwaEvent
            {
                Kind = (UcwaEventKind)NativeMethods.ucwa_event_get_kind(ev),
                Contact = Utf8.Read(NativeMethods.ucwa_event_contact(ev)),
                Resource = Utf8.Read(NativeMethods.ucwa_event_resource(ev)),
                Source = Utf8.Read(NativeMethods.ucwa_event_source(ev)),
                Cause = (PresenceCause)NativeMethods.ucwa_event_cause(ev),
                AuthorizationUri = Utf8.Read(NativeMethods.ucwa_event_authorization_uri(ev)),
                Availability = (Availability)NativeMethods.ucwa_event_availability(ev),
                Activity = Utf8.Read(NativeMethods.ucwa_event_activity(ev)),
                Note = Utf8.Read(NativeMethods.ucwa_event_note(ev)),
                Location = Utf8.Read(NativeMethods.ucwa_event_location(ev)),
                ConnectionState = (ConnectionState)NativeMethods.ucwa_event_connection_state(ev),
            };
            using (ErrorHandle reason = NativeMethods.ucwa_event_reason(ev))
            {
                if (reason != null && !reason.IsInvalid)
                {
                    result.Reason = UcwaException.FromNative(NativeMethods.ucwa_error_status(reason), reason);
                }
            }
            return result;
        }
    }

    /// <summary>The data of <see cref="UcwaClient.EventReceived"/>.</summary>
    public sealed class UcwaEventArgs : EventArgs
    {
        /// <summary>Wraps an event.</summary>
        /// <param name="ev">The event.</param>
        public UcwaEventArgs(UcwaEvent ev)
        {
            Event = ev;
        }

        /// <summary>The event that arrived.</summary>
        public UcwaEvent Event { get; private set; }
    }
}
