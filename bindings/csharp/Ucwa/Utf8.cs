// Ucwa/Utf8.cs: the UTF-8 conversions between .NET strings and the C ABI's char pointers,
// and Utf8Array, the `const char *const *` lists the contact calls take.
// Done by hand rather than with MarshalAs(LPUTF8Str) because Mono's support for it is
// unreliable, and netstandard2.0 has no Marshal.PtrToStringUTF8.

using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace Ucwa
{
    internal static class Utf8
    {
        // Throws on lone surrogates instead of silently sending U+FFFD to the server.
        private static readonly UTF8Encoding Strict = new UTF8Encoding(false, true);

        /// <summary>A NUL-terminated UTF-8 copy of <paramref name="value"/>; null stays null (NULL).</summary>
        internal static byte[] Encode(string value, string paramName)
        {
            if (value == null)
            {
                return null;
            }
            // An embedded NUL would silently cut the string short on the C side.
            if (value.IndexOf('\0') >= 0)
            {
                throw new ArgumentException("The string contains a NUL character, which the C ABI cannot carry.", paramName);
            }
            byte[] bytes;
            try
            {
                int count = Strict.GetByteCount(value);
                bytes = new byte[count + 1];
                Strict.GetBytes(value, 0, value.Length, bytes, 0);
            }
            catch (EncoderFallbackException e)
            {
                throw new ArgumentException("The string is not valid UTF-16 (a lone surrogate), so it has no UTF-8 form.", paramName, e);
            }
            return bytes;
        }

        /// <summary>Reads a borrowed NUL-terminated UTF-8 string; NULL gives null. Never frees.</summary>
        internal static string Read(IntPtr ptr)
        {
            if (ptr == IntPtr.Zero)
            {
                return null;
            }
            int length = 0;
            while (Marshal.ReadByte(ptr, length) != 0)
            {
                length++;
            }
            byte[] bytes = new byte[length];
            Marshal.Copy(ptr, bytes, 0, length);
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>Reads an owned string and frees it with ucwa_string_free, even if reading fails.</summary>
        internal static string TakeOwned(IntPtr ptr)
        {
            try
            {
                return Read(ptr);
            }
            finally
            {
                if (ptr != IntPtr.Zero)
                {
                    NativeMethods.ucwa_string_free(ptr);
                }
            }
        }
    }

    /// <summary>
    /// A <c>const char *const *</c> argument: each string as NUL-terminated UTF-8 in unmanaged
    /// memory (which does not move during the call), freed on Dispose. A null entry stays a NULL
    /// pointer, which the library refuses as InvalidArgument; an empty list is a NULL array.
    /// </summary>
    internal sealed class Utf8Array : IDisposable
    {
        private readonly IntPtr[] pointers;

        internal Utf8Array(IList<string> values, string paramName)
        {
            pointers = new IntPtr[values.Count];
            try
            {
                for (int i = 0; i < values.Count; i++)
                {
                    byte[] bytes = Utf8.Encode(values[i], paramName + "[" + i + "]");
                    if (bytes != null)
                    {
                        pointers[i] = Marshal.AllocHGlobal(bytes.Length);
                        Marshal.Copy(bytes, 0, pointers[i], bytes.Length);
                    }
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        /// <summary>The array to pass, or null when there are no strings.</summary>
        internal IntPtr[] Pointers
        {
            get { return pointers.Length == 0 ? null : pointers; }
        }

        /// <summary>The count to pass with <see cref="Pointers"/>.</summary>
        internal UIntPtr Count
        {
            get { return new UIntPtr((uint)pointers.Length); }
        }

        public void Dispose()
        {
            for (int i = 0; i < pointers.Length; i++)
            {
                if (pointers[i] != IntPtr.Zero)
                {
                    Marshal.FreeHGlobal(pointers[i]);
                    pointers[i] = IntPtr.Zero;
                }
            }
        }
    }
}
