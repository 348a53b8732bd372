// Ucwa/UcwaClient.cs: the public client. Each method is one native call: it encodes its inputs,
// calls through NativeMethods with the SafeHandle, and hands status + error to Errors.Check.
// It also owns the optional event reader thread behind the EventReceived .NET event.

using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;

namespace Ucwa
{
    /// <summary>
    /// A client for one user on one Skype for Business Server / Lync pool (UCWA 2.0).
    /// </summary>
    /// <remarks>
    /// <para>Typical use: <see cref="SignIn(string, string)"/> (or, with modern authentication, <see cref="SetToken"/>
    /// and <see cref="SignInWithTokens"/>), <see cref="MakeMeAvailable"/>, then set and read
    /// presence, note and location (and read or <see cref="SubscribePresence"/> to other
    /// people's); <see cref="SignOut"/> or <see cref="Dispose"/> when done.
    /// After <see cref="MakeMeAvailable"/> the library keeps the desired presence true in the
    /// background (event channel, activity reports, token renewal, recovery) until sign-out.</para>
    /// <para>Every method blocks until the server answered (bounded by the timeout_ms option) and
    /// may be called from any thread, concurrently, on the same client.</para>
    /// <para>Failures reported by the library throw <see cref="UcwaException"/>; a null where a
    /// string is required throws <see cref="ArgumentNullException"/>; a string with a NUL
    /// character or a lone surrogate throws <see cref="ArgumentException"/>; any call after
    /// <see cref="Dispose"/> throws <see cref="ObjectDisposedException"/>.</para>
    /// </remarks>
    public sealed partial class UcwaClient : IDisposable
    {
        // How long one reader-thread wait lasts: it bounds how long Dispose waits for the reader
        // and how soon the reader notices a new sign-in after a sign-out.
        private static readonly TimeSpan ReaderPoll = TimeSpan.FromMilliseconds(250);

        private readonly ClientHandle handle;
        private readonly object gate = new object();
        private readonly ManualResetEvent stopReader = new ManualResetEvent(false);
        // Events the reader took while nobody was subscribed any more; TryGetNextEvent serves
        // them first so none is lost when a program switches from EventReceived to polling.
        private readonly ConcurrentQueue<UcwaEvent> undelivered = new ConcurrentQueue<UcwaEvent>();
        private EventHandler<UcwaEventArgs> eventReceived;
        private Thread reader;
        private volatile bool disposed;

        /// <summary>Creates a client. Nothing is sent to the network until <see cref="SignIn(string, string)"/>.</summary>
        /// <param name="server">A discovery URL ("https://lyncdiscover.contoso.com", "http://127.0.0.1:8080/")
        /// or a bare SIP domain ("contoso.com"). Plain http is accepted only for loopback hosts.</param>
        /// <exception cref="ArgumentNullException"><paramref name="server"/> is null.</exception>
        /// <exception cref="UcwaException">InvalidArgument (not a URL or domain) or Insecure (http off loopback).</exception>
        /// <exception cref="UcwaLibraryException">The native library is missing or has another ABI version.</exception>
        public UcwaClient(string server) : this(server, null) { }

        /// <summary>Creates a client and sets options (see <see cref="SetOption"/>) before anything is sent.</summary>
        /// <param name="server">A discovery URL or a bare SIP domain, as for <see cref="UcwaClient(string)"/>.</param>
        /// <param name="options">Option keys and values, or null.</param>
        /// <exception cref="ArgumentNullException"><paramref name="server"/> is null.</exception>
        /// <exception cref="UcwaException">InvalidArgument (bad server, unknown option key or bad value) or Insecure.</exception>
        /// <exception cref="UcwaLibraryException">The native library is missing or has another ABI version.</exception>
        public UcwaClient(string server, IDictionary<string, string> options)
        {
            if (server == null)
            {
                throw new ArgumentNullException("server");
            }
            UcwaLibrary.EnsureCompatible();
            ClientHandle created;
            ErrorHandle error;
            uint status = NativeMethods.ucwa_client_new(Utf8.Encode(server, "server"), out created, out error);
            try
            {
                Errors.Check(status, error);
            }
            catch
            {
                created.Dispose();
                throw;
            }
            handle = created;
            if (options != null)
            {
                try
                {
                    foreach (KeyValuePair<string, string> option in options)
                    {
                        SetOption(option.Key, option.Value);
                    }
                }
                catch
                {
                    handle.Dispose();
                    throw;
                }
            }
        }

        /// <summary>
        /// Raised for every keep-alive event (presence, note or location changed, the same for
        /// subscribed contacts, connection state, application recreated, signed out, token needed).
        /// </summary>
        /// <remarks>
        /// <para>Subscribing the first handler starts a background reader thread for this client;
        /// handlers run on that thread, one event at a time, in order (never on a library thread).
        /// The reader keeps running across sign-out and a later sign-in, and ends when the last
        /// handler is removed or on <see cref="Dispose"/> (which waits for it, at most one
        /// poll of 250 ms plus a running handler).</para>
        /// <para>Use either this event or <see cref="TryGetNextEvent"/>: each event is delivered to
        /// one reader only. An exception escaping a handler ends the reader thread and, as for
        /// any unhandled exception on a thread, the process; catch inside your handler.</para>
        /// </remarks>
        public event EventHandler<UcwaEventArgs> EventReceived
        {
            add
            {
                lock (gate)
                {
                    ThrowIfDisposed();
                    eventReceived += value;
                    if (eventReceived == null)
                    {
                        return;
                    }
                    // Undo a stop signalled by removing the last handler: a reader still
                    // finishing its wait carries on instead of spinning on a set signal.
                    stopReader.Reset();
                    if (reader == null)
                    {
                        reader = new Thread(ReadEvents) { IsBackground = true, Name = "ucwa event reader" };
                        reader.Start();
                    }
                }
            }
            remove
            {
                lock (gate)
                {
                    eventReceived -= value;
                    if (eventReceived == null)
                    {
                        // The reader sees this and ends after its current wait.
                        stopReader.Set();
                    }
                }
            }
        }

        /// <summary>How many HTTP requests this client has sent so far, background ones included.</summary>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public long RequestCount
        {
            get
            {
                ThrowIfDisposed();
                ulong count;
                ErrorHandle error;
                Errors.Check(NativeMethods.ucwa_client_request_count(handle, out count, out error), error);
                return (long)count;
            }
        }

        /// <summary>
        /// Sets an option. Keys: user_agent, culture, endpoint_id, timeout_ms, ca_file, modalities,
        /// keepalive_interval_s (decimal seconds, 0 = off), event_timeout_s, event_channel (1/0),
        /// enforce_presence (1/0), allowed_hosts, retry_after_max_s, max_body_bytes,
        /// min_token_lifetime_s, subscription_refresh_s (seconds between extensions of the
        /// presence subscription, 1..1200, default 300; see <see cref="SubscribePresence"/>),
        /// proxy (system, the default: the environment as curl reads it, loopback always
        /// direct; none; or http://[user:password@]host:port), grant (auto, password or
        /// windows: the sign-in grant; see <see cref="UcwaGrant"/>).
        /// Options that shape the application (user_agent, culture, endpoint_id, modalities)
        /// apply from the next sign-in or <see cref="MakeMeAvailable"/>; the others at once.
        /// </summary>
        /// <param name="key">The option key.</param>
        /// <param name="value">The value, as text.</param>
        /// <exception cref="ArgumentNullException"><paramref name="key"/> or <paramref name="value"/> is null.</exception>
        /// <exception cref="UcwaException">InvalidArgument: unknown key or bad value (nothing changes).</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SetOption(string key, string value)
        {
            if (key == null)
            {
                throw new ArgumentNullException("key");
            }
            if (value == null)
            {
                throw new ArgumentNullException("value");
            }
            ThrowIfDisposed();
            ErrorHandle error;
            uint status = NativeMethods.ucwa_client_set_option(handle, Utf8.Encode(key, "key"), Utf8.Encode(value, "value"), out error);
            Errors.Check(status, error);
        }

        /// <summary>
        /// Signs in: discovery, OAuth challenge, password token, user resource (following
        /// redirects and pool changes), then creates the application. Blocks up to 4 × timeout_ms.
        /// </summary>
        /// <param name="username">The sign-in name, e.g. "alice@contoso.com".</param>
        /// <param name="password">The password; kept by the library only while re-authentication may need it, never logged or put in a message.</param>
        /// <exception cref="ArgumentNullException"><paramref name="username"/> or <paramref name="password"/> is null.</exception>
        /// <exception cref="UcwaException">Authentication (credentials refused), InvalidState (already signed in), Network, Timeout, Tls, Server, Protocol, Insecure.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SignIn(string username, string password)
        {
            if (username == null)
            {
                throw new ArgumentNullException("username");
            }
            if (password == null)
            {
                throw new ArgumentNullException("password");
            }
            ThrowIfDisposed();
            byte[] passwordBytes = Utf8.Encode(password, "password");
            try
            {
                ErrorHandle error;
                uint status = NativeMethods.ucwa_sign_in(handle, Utf8.Encode(username, "username"), passwordBytes, out error);
                Errors.Check(status, error);
            }
            finally
            {
                // Do not leave a UTF-8 copy of the password on the managed heap longer than needed.
                Array.Clear(passwordBytes, 0, passwordBytes.Length);
            }
        }

        /// <summary>
        /// Sets the grant option to <paramref name="grant"/>, then signs in as
        /// <see cref="SignIn(string, string)"/> does. The grant stays set for later sign-ins and
        /// re-authentication, exactly as after <c>SetOption("grant", ...)</c>.
        /// </summary>
        /// <param name="username">The sign-in name: the SIP address, a UPN or DOMAIN\user.</param>
        /// <param name="password">The password; kept by the library only while re-authentication may need it, never logged or put in a message.</param>
        /// <param name="grant">Auto (the password grant when offered, else the Windows grant), Password or Windows.</param>
        /// <exception cref="ArgumentNullException"><paramref name="username"/> or <paramref name="password"/> is null.</exception>
        /// <exception cref="UcwaException">InvalidArgument (a <paramref name="grant"/> cast from an undefined number; nothing is sent), and the errors of <see cref="SignIn(string, string)"/>.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SignIn(string username, string password, UcwaGrant grant)
        {
            if (username == null)
            {
                throw new ArgumentNullException("username");
            }
            if (password == null)
            {
                throw new ArgumentNullException("password");
            }
            SetOption("grant", GrantText(grant));
            SignIn(username, password);
        }

        /// <summary>The grant option's text for a <see cref="UcwaGrant"/>.</summary>
        private static string GrantText(UcwaGrant grant)
        {
            switch (grant)
            {
                case UcwaGrant.Auto: return "auto";
                case UcwaGrant.Password: return "password";
                case UcwaGrant.Windows: return "windows";
                // An undefined value goes to the library as its number, which it refuses: the
                // same InvalidArgument UcwaException as any other bad grant value.
                default: return ((int)grant).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        /// <summary>
        /// Signs in as the logged-on Windows user: the Windows grant (Negotiate, else NTLM) with
        /// the credentials of the account the process runs as, through Windows' own SSPI, so the
        /// program holds no password at all (e.g. a Windows service signing in as its own
        /// account). The grant option must be auto or windows. Blocks up to 4 × timeout_ms.
        /// </summary>
        /// <remarks>
        /// On other systems (Mono on Linux or macOS) it throws at once, before any request, a
        /// <see cref="UcwaException"/> with <see cref="UcwaStatus.Authentication"/> saying it
        /// needs Windows; there, use <see cref="SignIn(string, string)"/> with DOMAIN\user (or a
        /// UPN) and the password, which runs the Windows grant with those credentials.
        /// </remarks>
        /// <exception cref="UcwaException">Authentication (not Windows, the server offers no Windows grant, or refused the account), InvalidState (already signed in), Network, Timeout, Tls, Server, Protocol, Insecure.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SignInCurrentUser()
        {
            ThrowIfDisposed();
            ErrorHandle error;
            uint status = NativeMethods.ucwa_sign_in_current_user(handle, out error);
            Errors.Check(status, error);
        }

        /// <summary>
        /// Signs in with host-supplied tokens only (modern authentication: ADFS or Azure AD in
        /// front of the pool; the host acquires tokens itself, e.g. with MSAL.NET). No password
        /// is used or sent, and the library never asks a token endpoint itself. Blocks up to
        /// 4 × timeout_ms.
        /// </summary>
        /// <remarks>
        /// <para>Every origin that challenges must have a token given with <see cref="SetToken"/>.
        /// When one has no live token, or refuses the one given, this throws a
        /// <see cref="UcwaException"/> with <see cref="UcwaStatus.Authentication"/> whose
        /// <see cref="UcwaException.AuthResource"/> names the origin and
        /// <see cref="UcwaException.AuthorizationUri"/> where the server says tokens come from;
        /// give that token and call again.</para>
        /// <para>Once signed in, <see cref="UcwaEventKind.TokenNeeded"/> events ask for a new
        /// token ahead of expiry (five minutes, or half the lifetime of a shorter-lived token)
        /// and when the server refuses one; if none comes in time the connection goes
        /// Recovering and Lost as for any other failure, and recovers once one arrives.
        /// <see cref="SignOut"/> forgets every token.</para>
        /// </remarks>
        /// <param name="username">The sign-in address, e.g. "alice@contoso.com" or "sip:alice@contoso.com".</param>
        /// <exception cref="ArgumentNullException"><paramref name="username"/> is null.</exception>
        /// <exception cref="UcwaException">Authentication (a token missing or refused: see <see cref="UcwaException.AuthResource"/>), InvalidArgument (not a sign-in address), InvalidState (already signed in), Network, Timeout, Tls, Server, Protocol, Insecure.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SignInWithTokens(string username)
        {
            if (username == null)
            {
                throw new ArgumentNullException("username");
            }
            ThrowIfDisposed();
            ErrorHandle error;
            uint status = NativeMethods.ucwa_sign_in_with_tokens(handle, Utf8.Encode(username, "username"), out error);
            Errors.Check(status, error);
        }

        /// <summary>
        /// Gives or replaces the bearer token for one resource, for <see cref="SignInWithTokens"/>.
        /// May be called before sign-in and at any time after, from any thread (e.g. from an
        /// <see cref="EventReceived"/> handler answering <see cref="UcwaEventKind.TokenNeeded"/>).
        /// Sends nothing.
        /// </summary>
        /// <remarks>
        /// The token is sent only to <paramref name="resource"/> (as
        /// <c>Authorization: Bearer</c>) and never repeated in an exception message. With
        /// MSAL.NET, pass <c>result.AccessToken</c> and <c>result.ExpiresOn - DateTimeOffset.UtcNow</c>.
        /// </remarks>
        /// <param name="resource">The origin the token is for, "https://host[:port]" with nothing
        /// after the authority (plain http only to loopback, for tests), e.g.
        /// <see cref="UcwaException.AuthResource"/> or <see cref="UcwaEvent.Resource"/>.</param>
        /// <param name="accessToken">The token as the identity provider issued it.</param>
        /// <param name="expiresIn">Its remaining lifetime, 1 second to 7 days; whole seconds count
        /// (a fraction is dropped, so the library never thinks a token lives longer than it does).</param>
        /// <exception cref="ArgumentNullException"><paramref name="resource"/> or <paramref name="accessToken"/> is null.</exception>
        /// <exception cref="ArgumentException">A string holds a NUL character or a lone surrogate (nothing is stored).</exception>
        /// <exception cref="UcwaException">InvalidArgument: not an origin, an empty token or one a
        /// header cannot carry, a lifetime outside 1 s..7 days (nothing is stored).</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SetToken(string resource, string accessToken, TimeSpan expiresIn)
        {
            if (resource == null)
            {
                throw new ArgumentNullException("resource");
            }
            if (accessToken == null)
            {
                throw new ArgumentNullException("accessToken");
            }
            ThrowIfDisposed();
            // Out-of-range lifetimes go to the library as values it refuses (0 or the maximum),
            // so every range error is the same InvalidArgument UcwaException.
            double seconds = Math.Floor(expiresIn.TotalSeconds);
            uint expiresInS = seconds <= 0 ? 0u : seconds >= uint.MaxValue ? uint.MaxValue : (uint)seconds;
            byte[] resourceBytes = Utf8.Encode(resource, "resource");
            byte[] tokenBytes = Utf8.Encode(accessToken, "accessToken");
            try
            {
                ErrorHandle error;
                uint status = NativeMethods.ucwa_client_set_token(handle, resourceBytes, tokenBytes, expiresInS, out error);
                Errors.Check(status, error);
            }
            finally
            {
                // Do not leave a UTF-8 copy of the token on the managed heap longer than needed.
                Array.Clear(tokenBytes, 0, tokenBytes.Length);
            }
        }

        /// <summary>
        /// makeMeAvailable: leaves "lurker mode" so presence can be set and read, and starts the
        /// keep-alive.
        /// </summary>
        /// <param name="signInAs">The availability to start with, Online..OffWork, or Unspecified to let the server choose.</param>
        /// <exception cref="UcwaException">InvalidArgument (a read-only or out-of-range value; nothing is sent), InvalidState (not signed in), and the network/server errors of <see cref="SignIn(string, string)"/>.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void MakeMeAvailable(Availability signInAs = Availability.Unspecified)
        {
            ThrowIfDisposed();
            ErrorHandle error;
            Errors.Check(NativeMethods.ucwa_make_me_available(handle, (uint)signInAs, out error), error);
        }

        /// <summary>
        /// Sets the person's preferred availability without expiry: it decides over every presence
        /// source (<see cref="SetSourcePresence"/>) until cleared, and the keep-alive keeps it true.
        /// The same as <see cref="SetPreferredAvailability"/> with no expiry.
        /// </summary>
        /// <param name="availability">Online..OffWork.</param>
        /// <exception cref="UcwaException">InvalidArgument (Unspecified, read-only or out of range; nothing is sent), InvalidState (before <see cref="MakeMeAvailable"/>; nothing is sent), Network, Timeout, Server.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SetAvailability(Availability availability)
        {
            ThrowIfDisposed();
            ErrorHandle error;
            Errors.Check(NativeMethods.ucwa_set_availability(handle, (uint)availability, out error), error);
        }

        /// <summary>
        /// Clears the preferred availability, handing the decision to the presence sources; when
        /// none is live, an empty POST lets the server derive the availability again from activity
        /// and calendar.
        /// </summary>
        /// <exception cref="UcwaException">InvalidState, Network, Timeout, Server.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void ResetAvailability()
        {
            ThrowIfDisposed();
            ErrorHandle error;
            Errors.Check(NativeMethods.ucwa_reset_availability(handle, out error), error);
        }

        /// <summary>Reads the user's presence from the server.</summary>
        /// <returns>The availability and activity.</returns>
        /// <exception cref="UcwaException">InvalidState, Network, Timeout, Server, Protocol.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public Presence GetPresence()
        {
            ThrowIfDisposed();
            uint availability;
            IntPtr activity;
            ErrorHandle error;
            Errors.Check(NativeMethods.ucwa_get_presence(handle, out availability, out activity, out error), error);
            // Written only on success, so it is safe to take after Check.
            return new Presence((Availability)availability, Utf8.TakeOwned(activity));
        }

        /// <summary>
        /// Sets the host's note without expiry (it replaces a timed note too); null or "" clears it.
        /// A deciding presence source's own note shows over it; the note that shows is re-applied
        /// after recovery.
        /// </summary>
        /// <param name="note">The note, or null.</param>
        /// <exception cref="UcwaException">InvalidState, Network, Server.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SetNote(string note)
        {
            ThrowIfDisposed();
            ErrorHandle error;
            Errors.Check(NativeMethods.ucwa_set_note(handle, Utf8.Encode(note, "note"), out error), error);
        }

        /// <summary>Reads the personal note from the server.</summary>
        /// <returns>The note, or null when there is none.</returns>
        /// <exception cref="UcwaException">InvalidState, Network, Server.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public string GetNote()
        {
            ThrowIfDisposed();
            IntPtr note;
            ErrorHandle error;
            Errors.Check(NativeMethods.ucwa_get_note(handle, out note, out error), error);
            return Utf8.TakeOwned(note);
        }

        /// <summary>Sets the location; null or "" clears it. It is re-applied after recovery.</summary>
        /// <param name="location">The location, or null.</param>
        /// <exception cref="UcwaException">InvalidState, Network, Server.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SetLocation(string location)
        {
            ThrowIfDisposed();
            ErrorHandle error;
            Errors.Check(NativeMethods.ucwa_set_location(handle, Utf8.Encode(location, "location"), out error), error);
        }

        /// <summary>Reads the location from the server.</summary>
        /// <returns>The location, or null when there is none.</returns>
        /// <exception cref="UcwaException">InvalidState, Network, Server.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public string GetLocation()
        {
            ThrowIfDisposed();
            IntPtr location;
            ErrorHandle error;
            Errors.Check(NativeMethods.ucwa_get_location(handle, out location, out error), error);
            return Utf8.TakeOwned(location);
        }

        /// <summary>Reads a contact's presence (another person's availability and activity). Works
        /// once signed in; MakeMeAvailable is not needed.</summary>
        /// <param name="contact">A SIP URI ("sip:bob@contoso.com") or the bare address.</param>
        /// <returns>The contact's availability and activity.</returns>
        /// <exception cref="UcwaException">InvalidArgument (not a SIP address), InvalidState (not
        /// signed in), Network, Timeout, Server (an unknown contact: HttpStatus 404 with the
        /// server's Code and Subcode), Protocol.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public Presence GetContactPresence(string contact)
        {
            ThrowIfDisposed();
            uint availability;
            IntPtr activity;
            ErrorHandle error;
            Errors.Check(NativeMethods.ucwa_get_contact_presence(handle, Utf8.Encode(contact, "contact"), out availability, out activity, out error), error);
            return new Presence((Availability)availability, Utf8.TakeOwned(activity));
        }

        /// <summary>Reads a contact's note, as <see cref="GetContactPresence"/> reads presence.</summary>
        /// <param name="contact">A SIP URI or the bare address.</param>
        /// <returns>The note, or null when the contact has none.</returns>
        /// <exception cref="UcwaException">InvalidArgument, InvalidState, Network, Timeout, Server (404 for an unknown contact), Protocol.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public string GetContactNote(string contact)
        {
            ThrowIfDisposed();
            IntPtr note;
            ErrorHandle error;
            Errors.Check(NativeMethods.ucwa_get_contact_note(handle, Utf8.Encode(contact, "contact"), out note, out error), error);
            return Utf8.TakeOwned(note);
        }

        /// <summary>Reads a contact's location, as <see cref="GetContactPresence"/> reads presence.</summary>
        /// <param name="contact">A SIP URI or the bare address.</param>
        /// <returns>The location, or null when the contact has none.</returns>
        /// <exception cref="UcwaException">InvalidArgument, InvalidState, Network, Timeout, Server (404 for an unknown contact), Protocol.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public string GetContactLocation(string contact)
        {
            ThrowIfDisposed();
            IntPtr location;
            ErrorHandle error;
            Errors.Check(NativeMethods.ucwa_get_contact_location(handle, Utf8.Encode(contact, "contact"), out location, out error), error);
            return Utf8.TakeOwned(location);
        }

        /// <summary>Reads many contacts' availability at once, through UCWA batch requests (at most
        /// 1000 contacts a call). A contact the server does not know is
        /// <see cref="Availability.Unknown"/> and the call still succeeds.</summary>
        /// <param name="contacts">SIP URIs or bare addresses.</param>
        /// <returns>Each contact as given, with its availability.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="contacts"/> is null.</exception>
        /// <exception cref="UcwaException">InvalidArgument (a null entry, not a SIP address, over
        /// 1000 contacts), InvalidState (not signed in), Network, Timeout, Server, Protocol.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public IDictionary<string, Availability> GetContactsPresence(IEnumerable<string> contacts)
        {
            if (contacts == null)
            {
                throw new ArgumentNullException("contacts");
            }
            ThrowIfDisposed();
            var names = new List<string>(contacts);
            var result = new Dictionary<string, Availability>();
            if (names.Count == 0)
            {
                return result;
            }
            using (var array = new Utf8Array(names, "contacts"))
            {
                var slots = new uint[names.Count];
                ErrorHandle error;
                Errors.Check(NativeMethods.ucwa_get_contacts_presence(handle, array.Pointers, array.Count, slots, out error), error);
                for (int i = 0; i < names.Count; i++)
                {
                    result[names[i]] = (Availability)slots[i];
                }
                return result;
            }
        }

        /// <summary>
        /// Watches contacts: every change of their presence, note or location arrives as an event
        /// (<see cref="UcwaEventKind.ContactPresenceChanged"/>, <see cref="UcwaEventKind.ContactNoteChanged"/>,
        /// <see cref="UcwaEventKind.ContactLocationChanged"/>) whose <see cref="UcwaEvent.Contact"/>
        /// says whose, through <see cref="EventReceived"/> or <see cref="TryGetNextEvent"/>.
        /// </summary>
        /// <remarks>
        /// <para>Works once signed in (<see cref="MakeMeAvailable"/> is not needed) and needs the
        /// event channel (option event_channel, on by default). The library keeps the server's
        /// subscription alive (extends it every subscription_refresh_s seconds, makes it again
        /// after it expired or the application was recreated) until the contacts are
        /// unsubscribed, the user signs out or the client is disposed.</para>
        /// <para>Subscribing to a contact twice is harmless. When the server refuses (e.g. a
        /// contact it does not know: <see cref="UcwaStatus.Server"/> with HttpStatus 400), none
        /// of this call's contacts is subscribed. An empty list does nothing.</para>
        /// </remarks>
        /// <param name="contacts">SIP URIs ("sip:bob@contoso.com") or bare addresses; at most
        /// 1000 a call and 10000 in all.</param>
        /// <exception cref="ArgumentNullException"><paramref name="contacts"/> is null.</exception>
        /// <exception cref="ArgumentException">An entry holds a NUL character or a lone surrogate (nothing is sent).</exception>
        /// <exception cref="UcwaException">InvalidArgument (a null entry, not a SIP address, over
        /// 1000 contacts; nothing is sent), InvalidState (not signed in), Network, Timeout,
        /// Server, Protocol.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SubscribePresence(IEnumerable<string> contacts)
        {
            if (contacts == null)
            {
                throw new ArgumentNullException("contacts");
            }
            ThrowIfDisposed();
            using (var array = new Utf8Array(new List<string>(contacts), "contacts"))
            {
                ErrorHandle error;
                Errors.Check(NativeMethods.ucwa_subscribe_presence(handle, array.Pointers, array.Count, out error), error);
            }
        }

        /// <summary>
        /// Stops watching contacts: from this call on no event comes for them, even when telling
        /// the server fails (that error is thrown, and the library tells the server again later).
        /// Contacts not subscribed are ignored.
        /// </summary>
        /// <param name="contacts">SIP URIs or bare addresses, as for <see cref="SubscribePresence"/>.</param>
        /// <exception cref="ArgumentNullException"><paramref name="contacts"/> is null.</exception>
        /// <exception cref="ArgumentException">An entry holds a NUL character or a lone surrogate (nothing is sent).</exception>
        /// <exception cref="UcwaException">InvalidArgument (as for <see cref="SubscribePresence"/>),
        /// Network, Timeout, Server, Protocol.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void UnsubscribePresence(IEnumerable<string> contacts)
        {
            if (contacts == null)
            {
                throw new ArgumentNullException("contacts");
            }
            ThrowIfDisposed();
            using (var array = new Utf8Array(new List<string>(contacts), "contacts"))
            {
                ErrorHandle error;
                Errors.Check(NativeMethods.ucwa_unsubscribe_presence(handle, array.Pointers, array.Count, out error), error);
            }
        }

        /// <summary>reportMyActivity now: the user is active (the keep-alive also does this on its timer).</summary>
        /// <exception cref="UcwaException">InvalidState, Network, Timeout, Server.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void ReportActivity()
        {
            ThrowIfDisposed();
            ErrorHandle error;
            Errors.Check(NativeMethods.ucwa_report_activity(handle, out error), error);
        }

        /// <summary>
        /// Signs out: stops the keep-alive, deletes the application and forgets token, password
        /// and links (even if the delete fails, which is then thrown). The client can sign in again.
        /// </summary>
        /// <exception cref="UcwaException">InvalidState (not signed in), Network, Timeout, Server.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SignOut()
        {
            ThrowIfDisposed();
            ErrorHandle error;
            Errors.Check(NativeMethods.ucwa_sign_out(handle, out error), error);
        }

        /// <summary>Waits up to <paramref name="timeout"/> for the next keep-alive event.</summary>
        /// <param name="timeout">How long to wait; <see cref="TimeSpan.Zero"/> just looks. At most about 49 days;
        /// <see cref="Timeout.InfiniteTimeSpan"/> means that maximum.</param>
        /// <param name="ev">The event, or null when none arrived in time.</param>
        /// <returns>True when an event arrived.</returns>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite).</exception>
        /// <exception cref="UcwaException">InvalidState: not signed in and every event has been read (no more will come).</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public bool TryGetNextEvent(TimeSpan timeout, out UcwaEvent ev)
        {
            ThrowIfDisposed();
            if (undelivered.TryDequeue(out ev))
            {
                return true;
            }
            uint ms;
            if (timeout == Timeout.InfiniteTimeSpan)
            {
                ms = uint.MaxValue;
            }
            else if (timeout < TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException("timeout", "The timeout must not be negative.");
            }
            else
            {
                ms = timeout.TotalMilliseconds >= uint.MaxValue ? uint.MaxValue : (uint)Math.Ceiling(timeout.TotalMilliseconds);
            }
            ev = NextEventCore(ms);
            return ev != null;
        }

        /// <summary>
        /// Stops the event reader, then frees the native client, which stops background work and
        /// signs out (bounded to 5 s). Calls still running on other threads finish first (the
        /// native client is freed when the last one returns). Safe to call more than once.
        /// </summary>
        public void Dispose()
        {
            Thread running;
            lock (gate)
            {
                if (disposed)
                {
                    return;
                }
                disposed = true;
                running = reader;
                eventReceived = null;
                stopReader.Set();
            }
            // Joining our own thread (Dispose from inside a handler) would wait forever.
            if (running != null && running != Thread.CurrentThread)
            {
                running.Join();
            }
            handle.Dispose();
        }

        private UcwaEvent NextEventCore(uint timeoutMs)
        {
            EventHandle native;
            ErrorHandle error;
            uint status = NativeMethods.ucwa_client_next_event(handle, timeoutMs, out native, out error);
            Errors.Check(status, error);
            using (native)
            {
                return native.IsInvalid ? null : UcwaEvent.FromNative(native);
            }
        }

        private void ReadEvents()
        {
            uint pollMs = (uint)ReaderPoll.TotalMilliseconds;
            while (true)
            {
                EventHandler<UcwaEventArgs> handlers;
                lock (gate)
                {
                    handlers = eventReceived;
                    if (disposed || handlers == null)
                    {
                        reader = null;
                        return;
                    }
                }
                UcwaEvent ev;
                try
                {
                    ev = NextEventCore(pollMs);
                }
                catch (UcwaException e)
                {
                    if (e.Status == UcwaStatus.InvalidState)
                    {
                        // Not signed in (yet, or any more): wait and look again, as the client
                        // may sign in later.
                        stopReader.WaitOne(ReaderPoll);
                        continue;
                    }
                    // InvalidHandle: the native client is gone; nothing more can come.
                    lock (gate)
                    {
                        reader = null;
                    }
                    return;
                }
                catch (ObjectDisposedException)
                {
                    lock (gate)
                    {
                        reader = null;
                    }
                    return;
                }
                if (ev == null)
                {
                    continue;
                }
                lock (gate)
                {
                    handlers = eventReceived;
                }
                if (handlers == null)
                {
                    undelivered.Enqueue(ev);
                    continue;
                }
                handlers(this, new UcwaEventArgs(ev));
            }
        }

        private void ThrowIfDisposed()
        {
            if (disposed)
            {
                throw new ObjectDisposedException("UcwaClient");
            }
        }
    }
}
