// Ucwa/PresenceSources.cs: presence from several sources on UcwaClient: named sources with an
// optional note and expiry, the preferred availability with an expiry, a timed note, and
// PresenceSource, which sets a source for the life of a using block.

using System;

namespace Ucwa
{
    public sealed partial class UcwaClient
    {
        /// <summary>The longest expiry a source, the preferred availability or a timed note may have: 7 days.</summary>
        public static readonly TimeSpan MaxExpiry = TimeSpan.FromDays(7);

        /// <summary>An expiry as the C ABI takes it: whole seconds, rounded up; 0 for none (until cleared).</summary>
        private static uint ExpirySeconds(TimeSpan? expires)
        {
            if (!expires.HasValue)
            {
                return 0;
            }
            if (expires.Value <= TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException("expires", "The expiry must be positive (or null: until cleared).");
            }
            double seconds = Math.Ceiling(expires.Value.TotalSeconds);
            // Past the 7-day bound the library refuses it (InvalidArgument), so pass it on as it is.
            return seconds >= uint.MaxValue ? uint.MaxValue : (uint)seconds;
        }

        /// <summary>
        /// Sets (or replaces) a presence source: one of the host's reasons for a presence, such as
        /// "phone" (in a call), "calendar" (in a meeting) or "lock" (screen locked).
        /// <para>The presence the library keeps is the live preferred availability
        /// (<see cref="SetAvailability"/>, <see cref="SetPreferredAvailability"/>); else the live source of
        /// highest precedence, DoNotDisturb &gt; Busy &gt; BeRightBack &gt; Online &gt; Away &gt; OffWork
        /// (the latest set among equals); else nobody decides and the server's own state stands. The
        /// note is the deciding source's note when it has one, else the host's
        /// (<see cref="SetNote"/>, <see cref="SetNoteUntil"/>). Only changes of that state go to the
        /// server, paced (a burst, then one per 300 ms; the last state always lands). A presence
        /// change made elsewhere is adopted as the preferred availability unless the
        /// enforce_presence option is on.</para>
        /// </summary>
        /// <param name="source">1 to 32 characters, no control characters; at most 16 live on a client.</param>
        /// <param name="availability">Online..OffWork.</param>
        /// <param name="note">Shown while this source decides; null or "" for none (at most 1024 characters).</param>
        /// <param name="expires">When the source ends by itself, without any call (at most <see cref="MaxExpiry"/>); null: until cleared.</param>
        /// <exception cref="UcwaException">InvalidArgument (a bad name, availability, note or expiry, or a 17th source; nothing changes), InvalidState (before <see cref="MakeMeAvailable"/>), Network, Timeout, Server.</exception>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="expires"/> is zero or negative.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SetSourcePresence(string source, Availability availability, string note = null, TimeSpan? expires = null)
        {
            ThrowIfDisposed();
            uint seconds = ExpirySeconds(expires);
            ErrorHandle error;
            Errors.Check(NativeMethods.ucwa_set_source_presence(handle, Utf8.Encode(source, "source"), (uint)availability,
                Utf8.Encode(note, "note"), seconds, out error), error);
        }

        /// <summary>Removes a presence source (one not live is no error); the decision goes to the next layer.</summary>
        /// <param name="source">The source's name.</param>
        /// <exception cref="UcwaException">InvalidArgument (a bad name), InvalidState, Network, Timeout, Server.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void ClearSourcePresence(string source)
        {
            ThrowIfDisposed();
            ErrorHandle error;
            Errors.Check(NativeMethods.ucwa_clear_source_presence(handle, Utf8.Encode(source, "source"), out error), error);
        }

        /// <summary>
        /// Sets a presence source for the life of a <c>using</c> block and clears it when the
        /// returned object is disposed, also when the block throws:
        /// <code>using (client.PresenceSource("phone", Availability.Busy, "On a call")) { ... }</code>
        /// A failure to clear on disposal is not thrown (disposal must not throw); the source then
        /// ends with its <paramref name="expires"/>, or the session.
        /// </summary>
        /// <param name="source">As <see cref="SetSourcePresence"/>.</param>
        /// <param name="availability">As <see cref="SetSourcePresence"/>.</param>
        /// <param name="note">As <see cref="SetSourcePresence"/>.</param>
        /// <param name="expires">As <see cref="SetSourcePresence"/>.</param>
        /// <returns>Disposing it clears the source.</returns>
        /// <exception cref="UcwaException">As <see cref="SetSourcePresence"/>.</exception>
        public IDisposable PresenceSource(string source, Availability availability, string note = null, TimeSpan? expires = null)
        {
            SetSourcePresence(source, availability, note, expires);
            return new SourceScope(this, source);
        }

        /// <summary>
        /// Sets the person's preferred availability, which decides over every presence source, for
        /// <paramref name="expires"/>; when it expires the sources decide again, without any call.
        /// </summary>
        /// <param name="availability">Online..OffWork.</param>
        /// <param name="expires">At most <see cref="MaxExpiry"/>; null: until cleared.</param>
        /// <exception cref="UcwaException">InvalidArgument (nothing changes), InvalidState, Network, Timeout, Server.</exception>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="expires"/> is zero or negative.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SetPreferredAvailability(Availability availability, TimeSpan? expires = null)
        {
            ThrowIfDisposed();
            uint seconds = ExpirySeconds(expires);
            ErrorHandle error;
            Errors.Check(NativeMethods.ucwa_set_preferred_availability(handle, (uint)availability, seconds, out error), error);
        }

        /// <summary>Clears the preferred availability: the presence sources decide again.</summary>
        /// <exception cref="UcwaException">InvalidState, Network, Timeout, Server.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void ClearPreferredAvailability()
        {
            ThrowIfDisposed();
            ErrorHandle error;
            Errors.Check(NativeMethods.ucwa_clear_preferred_availability(handle, out error), error);
        }

        /// <summary>
        /// Sets the host's note for <paramref name="expires"/>; when it expires, the note set before
        /// it comes back, without any call. A deciding presence source's own note shows over it.
        /// </summary>
        /// <param name="message">The note (at most 1024 characters).</param>
        /// <param name="expires">At most <see cref="MaxExpiry"/>; null: as <see cref="SetNote"/>.</param>
        /// <exception cref="UcwaException">InvalidArgument (nothing changes), InvalidState, Network, Timeout, Server.</exception>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="expires"/> is zero or negative.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SetNoteUntil(string message, TimeSpan? expires)
        {
            ThrowIfDisposed();
            uint seconds = ExpirySeconds(expires);
            ErrorHandle error;
            Errors.Check(NativeMethods.ucwa_set_note_until(handle, Utf8.Encode(message, "message"), seconds, out error), error);
        }

        /// <summary>Clears a presence source when disposed (once).</summary>
        private sealed class SourceScope : IDisposable
        {
            private UcwaClient client;
            private readonly string source;

            internal SourceScope(UcwaClient client, string source)
            {
                this.client = client;
                this.source = source;
            }

            public void Dispose()
            {
                UcwaClient c = System.Threading.Interlocked.Exchange(ref client, null);
                if (c == null)
                {
                    return;
                }
                try
                {
                    c.ClearSourcePresence(source);
                }
                catch (UcwaException)
                {
                    // The source ends with its expiry or the session; disposal does not throw.
                }
                catch (ObjectDisposedException)
                {
                    // The client is gone, and the source with it.
                }
            }
        }
    }
}
