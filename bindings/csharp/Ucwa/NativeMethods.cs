// Ucwa/NativeMethods.cs: every P/Invoke declaration of the C ABI (include/ucwa.h), and nothing
// else. Conventions, kept for every function so a reader can check them line by line:
// - Opaque objects are typed as their SafeHandle (ClientHandle, ErrorHandle, EventHandle): the
//   marshaller AddRefs the handle for the duration of the call, so a concurrent Dispose cannot
//   free the native object under a running call, and `out` handles are owned at once.
// - Input strings are byte[] holding NUL-terminated UTF-8 made by Utf8.Encode (Mono's
//   LPUTF8Str support is unreliable, so the binding does the conversion itself); null means NULL.
// - Borrowed `const char*` returns are IntPtr (a `string` return would make the marshaller
//   free memory the library still owns); owned `char**` outs are `out IntPtr`, freed with
//   ucwa_string_free by Utf8.TakeOwned.
// - The _free functions take IntPtr: they are only called from ReleaseHandle with the raw value.

using System;
using System.Runtime.InteropServices;

namespace Ucwa
{
    internal static class NativeMethods
    {
        // "ucwa" lets each runtime apply its platform naming: libucwa.so, ucwa.dll, libucwa.dylib.
        internal const string Library = "ucwa";

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_abi_version();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr ucwa_version();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr ucwa_status_str(uint status);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_client_new(byte[] server, out ClientHandle outClient, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_client_set_option(ClientHandle client, byte[] key, byte[] value, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_sign_in(ClientHandle client, byte[] username, byte[] password, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_sign_in_with_tokens(ClientHandle client, byte[] username, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_sign_in_current_user(ClientHandle client, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_client_set_token(ClientHandle client, byte[] resource, byte[] accessToken, uint expiresInS, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_make_me_available(ClientHandle client, uint signInAs, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_set_availability(ClientHandle client, uint availability, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_reset_availability(ClientHandle client, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_get_presence(ClientHandle client, out uint outAvailability, out IntPtr outActivity, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_set_note(ClientHandle client, byte[] message, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_set_source_presence(ClientHandle client, byte[] source, uint availability, byte[] note, uint expiresS, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_clear_source_presence(ClientHandle client, byte[] source, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_set_preferred_availability(ClientHandle client, uint availability, uint expiresS, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_clear_preferred_availability(ClientHandle client, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_set_note_until(ClientHandle client, byte[] message, uint expiresS, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_get_note(ClientHandle client, out IntPtr outMessage, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_set_location(ClientHandle client, byte[] location, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_get_location(ClientHandle client, out IntPtr outLocation, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_get_contact_presence(ClientHandle client, byte[] contact, out uint outAvailability, out IntPtr outActivity, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_get_contact_note(ClientHandle client, byte[] contact, out IntPtr outNote, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_get_contact_location(ClientHandle client, byte[] contact, out IntPtr outLocation, out ErrorHandle outError);

        // contacts: NUL-terminated UTF-8 strings in unmanaged memory the caller owns;
        // outAvailabilities: count slots, written on success.
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_get_contacts_presence(ClientHandle client, IntPtr[] contacts, UIntPtr count, [Out] uint[] outAvailabilities, out ErrorHandle outError);

        // contacts: as for ucwa_get_contacts_presence (null with count 0).
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_subscribe_presence(ClientHandle client, IntPtr[] contacts, UIntPtr count, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_unsubscribe_presence(ClientHandle client, IntPtr[] contacts, UIntPtr count, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_report_activity(ClientHandle client, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_sign_out(ClientHandle client, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void ucwa_client_free(IntPtr client);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_client_request_count(ClientHandle client, out ulong outCount, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_error_status(ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr ucwa_error_message(ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ushort ucwa_error_http_status(ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr ucwa_error_code(ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr ucwa_error_subcode(ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr ucwa_error_auth_resource(ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr ucwa_error_authorization_uri(ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void ucwa_error_free(IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_client_next_event(ClientHandle client, uint timeoutMs, out EventHandle outEvent, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_event_get_kind(EventHandle ev);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_event_availability(EventHandle ev);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr ucwa_event_contact(EventHandle ev);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr ucwa_event_resource(EventHandle ev);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr ucwa_event_source(EventHandle ev);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_event_cause(EventHandle ev);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr ucwa_event_authorization_uri(EventHandle ev);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr ucwa_event_activity(EventHandle ev);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr ucwa_event_note(EventHandle ev);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr ucwa_event_location(EventHandle ev);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint ucwa_event_connection_state(EventHandle ev);

        // Returns a new owned error (or NULL): a SafeHandle return owns it at once.
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ErrorHandle ucwa_event_reason(EventHandle ev);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void ucwa_event_free(IntPtr ev);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void ucwa_string_free(IntPtr str);
    }
}
