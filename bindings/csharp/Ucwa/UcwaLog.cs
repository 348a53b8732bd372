// Ucwa/UcwaLog.cs: the native library's log records for .NET hosts: the level, pulling records
// one by one (UcwaLog.Next), and forwarding them to a handler on a thread of this binding
// (UcwaLog.Forward), each record carrying its Microsoft.Extensions.Logging level so a host maps
// it onto its ILogger without this package depending on that one. The native library never
// calls into .NET code: records are pulled (ucwa_log_next), as events are.

using System;
using System.Threading;

namespace Ucwa
{
    /// <summary>How severe a log record is (<c>ucwa_log_level</c>), and the level set with
    /// <see cref="UcwaLog.SetLevel"/>.</summary>
    public enum UcwaLogLevel : uint
    {
        /// <summary>No records (the default).</summary>
        Off = 0,
        /// <summary>A call or the keep-alive failed in a way the host will see.</summary>
        Error = 1,
        /// <summary>Something went wrong and was handled: a retry, a recovery, a lost connection.</summary>
        Warn = 2,
        /// <summary>The steps of a session: discovery, sign-in, the grant chosen, state changes.</summary>
        Info = 3,
        /// <summary>Every HTTP exchange and every decision the library takes on its own.</summary>
        Debug = 4,
        /// <summary>Everything, including each event received and each timer.</summary>
        Trace = 5,
    }

    /// <summary>One record of the native library. Never holds a secret; user names and SIP URIs
    /// are pseudonyms (<c>~1a2b3c</c>) unless <see cref="UcwaLog.ShowIdentity"/> was called.</summary>
    public sealed class UcwaLogRecord
    {
        internal UcwaLogRecord(UcwaLogLevel level, DateTimeOffset time, string target, ulong client, string message)
        {
            Level = level;
            Time = time;
            Target = target;
            Client = client;
            Message = message;
        }

        /// <summary>The record's level.</summary>
        public UcwaLogLevel Level { get; private set; }

        /// <summary>When it was made (UTC).</summary>
        public DateTimeOffset Time { get; private set; }

        /// <summary>The library module that made it, e.g. "ucwa::transport"; a host may use it as
        /// its logger category.</summary>
        public string Target { get; private set; }

        /// <summary>The client it is about (<see cref="UcwaClient.LogId"/>); 0 for none.</summary>
        public ulong Client { get; private set; }

        /// <summary>The record's text, one line.</summary>
        public string Message { get; private set; }

        /// <summary>The Microsoft.Extensions.Logging.LogLevel value of this record: Trace = 0,
        /// Debug = 1, Information = 2, Warning = 3, Error = 4 (cast it: <c>(LogLevel)r.MicrosoftLogLevel</c>).</summary>
        public int MicrosoftLogLevel
        {
            get
            {
                switch (Level)
                {
                    case UcwaLogLevel.Trace: return 0;
                    case UcwaLogLevel.Debug: return 1;
                    case UcwaLogLevel.Info: return 2;
                    case UcwaLogLevel.Warn: return 3;
                    case UcwaLogLevel.Error: return 4;
                    default: return 6;
                }
            }
        }

        /// <summary>The name of <see cref="MicrosoftLogLevel"/>: "Trace", "Debug", "Information",
        /// "Warning" or "Error".</summary>
        public string MicrosoftLogLevelName
        {
            get { return new[] { "Trace", "Debug", "Information", "Warning", "Error", "Critical", "None" }[MicrosoftLogLevel]; }
        }

        /// <summary>"LEVEL target client=N: message".</summary>
        /// <returns>The record as one line.</returns>
        public override string ToString()
        {
            return Level + " " + Target + " client=" + Client + ": " + Message;
        }
    }

    /// <summary>The native library's log: set a level, then pull records with <see cref="Next"/> or
    /// have them handed to an <c>Action</c> with <see cref="Forward"/>. Process-wide; every
    /// client's records, each naming its client. Independently, UCWA_LOG=debug in the
    /// environment makes the library write a readable log to stderr (or UCWA_LOG_FILE) with no
    /// code at all.</summary>
    public static class UcwaLog
    {
        private static readonly object Gate = new object();
        private static Thread forwarder;
        private static volatile Action<UcwaLogRecord> handler;
        private static volatile bool stopping;

        /// <summary>Sets which records the library keeps (Off, the default: none).</summary>
        /// <param name="level">The most verbose level kept.</param>
        /// <exception cref="UcwaException">The level is out of range.</exception>
        public static void SetLevel(UcwaLogLevel level)
        {
            UcwaLibrary.EnsureCompatible();
            ErrorHandle error;
            Errors.Check(NativeMethods.ucwa_log_set_level((uint)level, out error), error);
        }

        /// <summary>Shows user names and SIP URIs in records instead of stable pseudonyms.</summary>
        /// <param name="show">true to show them (off by default, unless UCWA_LOG_IDENTITY=1).</param>
        public static void ShowIdentity(bool show)
        {
            UcwaLibrary.EnsureCompatible();
            NativeMethods.ucwa_log_show_identity(show ? 1u : 0u);
        }

        /// <summary>How many records the library dropped (its buffer holds 4096) since the process started.</summary>
        public static ulong Dropped
        {
            get
            {
                UcwaLibrary.EnsureCompatible();
                return NativeMethods.ucwa_log_dropped();
            }
        }

        /// <summary>The next record, waiting up to <paramref name="timeout"/>; null when none came.</summary>
        /// <param name="timeout">How long to wait (TimeSpan.Zero: just look).</param>
        /// <returns>The record, or null.</returns>
        public static UcwaLogRecord Next(TimeSpan timeout)
        {
            UcwaLibrary.EnsureCompatible();
            double ms = Math.Max(0, Math.Min(timeout.TotalMilliseconds, uint.MaxValue));
            LogRecordHandle record;
            ErrorHandle error;
            Errors.Check(NativeMethods.ucwa_log_next((uint)ms, out record, out error), error);
            if (record == null || record.IsInvalid)
            {
                return null;
            }
            using (record)
            {
                ulong ms1970 = NativeMethods.ucwa_log_record_time_ms(record);
                return new UcwaLogRecord(
                    (UcwaLogLevel)NativeMethods.ucwa_log_record_level(record),
                    DateTimeOffset.FromUnixTimeMilliseconds((long)ms1970),
                    Utf8.Read(NativeMethods.ucwa_log_record_target(record)),
                    NativeMethods.ucwa_log_record_client(record),
                    Utf8.Read(NativeMethods.ucwa_log_record_message(record)));
            }
        }

        /// <summary>Hands every record of <paramref name="level"/> or more severe to
        /// <paramref name="onRecord"/>, called on one background thread of this binding (never a
        /// native thread), in order. Calling it again replaces the handler and the level. A
        /// handler that throws loses that record only.</summary>
        /// <param name="onRecord">The host's handler, e.g. one that calls
        /// <c>logger.Log((LogLevel)r.MicrosoftLogLevel, r.Message)</c>.</param>
        /// <param name="level">The most verbose level forwarded.</param>
        public static void Forward(Action<UcwaLogRecord> onRecord, UcwaLogLevel level)
        {
            if (onRecord == null)
            {
                throw new ArgumentNullException("onRecord");
            }
            SetLevel(level);
            lock (Gate)
            {
                handler = onRecord;
                if (forwarder != null)
                {
                    return;
                }
                stopping = false;
                forwarder = new Thread(Pump) { IsBackground = true, Name = "ucwa-log" };
                forwarder.Start();
            }
        }

        /// <summary>Stops forwarding: sets the level to Off, hands the records already kept to the
        /// handler, and ends the thread.</summary>
        public static void StopForwarding()
        {
            Thread thread;
            lock (Gate)
            {
                thread = forwarder;
                forwarder = null;
            }
            if (thread == null)
            {
                return;
            }
            SetLevel(UcwaLogLevel.Off);
            stopping = true;
            thread.Join();
        }

        private static void Pump()
        {
            while (true)
            {
                UcwaLogRecord r = Next(stopping ? TimeSpan.Zero : TimeSpan.FromMilliseconds(200));
                if (r == null)
                {
                    if (stopping)
                    {
                        return;
                    }
                    continue;
                }
                try
                {
                    handler(r);
                }
                catch (Exception)
                {
                    // The host's handler failing must not end the forwarding.
                }
            }
        }
    }
}
