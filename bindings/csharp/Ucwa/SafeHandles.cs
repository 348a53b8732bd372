// Ucwa/SafeHandles.cs: one SafeHandle subclass per native object type (client, error, event).
// Each ReleaseHandle calls that type's _free function exactly once, so a handle is freed on
// Dispose or, as a safety net, by the runtime's critical finalizer. NULL (IntPtr.Zero) is the
// invalid value: the library writes NULL to `out_error` on success, and such handles are never
// released.

using System;
using System.Runtime.InteropServices;

namespace Ucwa
{
    /// <summary>Owns a native <c>ucwa_client</c>; releasing it stops background work and signs out (bounded to 5 s by the library).</summary>
    internal sealed class ClientHandle : SafeHandle
    {
        // The marshaller creates `out` SafeHandles through this parameterless constructor.
        public ClientHandle() : base(IntPtr.Zero, true) { }

        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        protected override bool ReleaseHandle()
        {
            NativeMethods.ucwa_client_free(handle);
            return true;
        }
    }

    /// <summary>Owns a native <c>ucwa_error</c>; its borrowed strings die with it.</summary>
    internal sealed class ErrorHandle : SafeHandle
    {
        public ErrorHandle() : base(IntPtr.Zero, true) { }

        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        protected override bool ReleaseHandle()
        {
            NativeMethods.ucwa_error_free(handle);
            return true;
        }
    }

    /// <summary>Owns a native <c>ucwa_log_record</c>; its borrowed strings die with it.</summary>
    internal sealed class LogRecordHandle : SafeHandle
    {
        public LogRecordHandle() : base(IntPtr.Zero, true) { }

        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        protected override bool ReleaseHandle()
        {
            NativeMethods.ucwa_log_record_free(handle);
            return true;
        }
    }

    /// <summary>Owns a native <c>ucwa_event</c>; its borrowed strings die with it.</summary>
    internal sealed class EventHandle : SafeHandle
    {
        public EventHandle() : base(IntPtr.Zero, true) { }

        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        protected override bool ReleaseHandle()
        {
            NativeMethods.ucwa_event_free(handle);
            return true;
        }
    }
}
