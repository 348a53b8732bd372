// Ucwa/UcwaException.cs: the one exception type for failures the native library reports, and
// Errors.Check, the single place where a native status + ucwa_error become an exception and the
// error object is freed (in a finally, so it is freed even if reading it throws).

using System;

namespace Ucwa
{
    /// <summary>
    /// A failure reported by the native ucwa library. One type for every status: branch on
    /// <see cref="Status"/> (e.g. <c>catch (UcwaException e) when (e.Status == UcwaStatus.Authentication)</c>).
    /// The message never contains a token or a password.
    /// </summary>
    [Serializable]
    public class UcwaException : Exception
    {
        /// <summary>Creates an exception with every field given (for tests and wrappers; the library builds its own).</summary>
        /// <param name="status">What kind of failure it was.</param>
        /// <param name="message">A message for people.</param>
        /// <param name="httpStatus">The HTTP status behind the error, 0 when there was no HTTP response.</param>
        /// <param name="code">The UCWA error code (e.g. "Conflict"), or null.</param>
        /// <param name="subcode">The UCWA error subcode (e.g. "MakeMeAvailableRequired"), or null.</param>
        public UcwaException(UcwaStatus status, string message, int httpStatus, string code, string subcode)
            : this(status, message, httpStatus, code, subcode, null, null)
        {
        }

        /// <summary>Creates an exception with every field given, those of a missing or refused host token included (for tests and wrappers; the library builds its own).</summary>
        /// <param name="status">What kind of failure it was.</param>
        /// <param name="message">A message for people.</param>
        /// <param name="httpStatus">The HTTP status behind the error, 0 when there was no HTTP response.</param>
        /// <param name="code">The UCWA error code (e.g. "Conflict"), or null.</param>
        /// <param name="subcode">The UCWA error subcode (e.g. "MakeMeAvailableRequired"), or null.</param>
        /// <param name="authResource">The origin a token is needed for (see <see cref="AuthResource"/>), or null.</param>
        /// <param name="authorizationUri">Where the server says its tokens come from (see <see cref="AuthorizationUri"/>), or null.</param>
        public UcwaException(UcwaStatus status, string message, int httpStatus, string code, string subcode, string authResource, string authorizationUri)
            : base(message)
        {
            Status = status;
            HttpStatus = httpStatus;
            Code = code;
            Subcode = subcode;
            AuthResource = authResource;
            AuthorizationUri = authorizationUri;
        }

        /// <summary>What kind of failure it was.</summary>
        public UcwaStatus Status { get; private set; }

        /// <summary>The HTTP status of the response behind the error; 0 when there was no HTTP response.</summary>
        public int HttpStatus { get; private set; }

        /// <summary>The UCWA error "code" the server sent (e.g. "Conflict"), or null.</summary>
        public string Code { get; private set; }

        /// <summary>The UCWA error "subcode" the server sent (e.g. "MakeMeAvailableRequired"), or null.</summary>
        public string Subcode { get; private set; }

        /// <summary>
        /// Set when a client signed in with <see cref="UcwaClient.SignInWithTokens"/> failed with
        /// <see cref="UcwaStatus.Authentication"/> because a token is missing or was refused: the
        /// resource (an origin such as "https://lyncweb.contoso.com") to acquire a token for and
        /// give with <see cref="UcwaClient.SetToken"/>. Null for every other failure.
        /// </summary>
        public string AuthResource { get; private set; }

        /// <summary>
        /// With <see cref="AuthResource"/>: where the server says its tokens come from (the
        /// authorization_uri of its Bearer challenge, e.g. an ADFS or Azure AD authorize
        /// endpoint); null when it named none and for every other failure.
        /// </summary>
        public string AuthorizationUri { get; private set; }

        /// <summary>Reads a native error into an exception. The caller keeps ownership of <paramref name="error"/>.</summary>
        internal static UcwaException FromNative(uint status, ErrorHandle error)
        {
            if (error == null || error.IsInvalid)
            {
                // Only possible if the library broke its contract; still say what the status means.
                return new UcwaException((UcwaStatus)status, Utf8.Read(NativeMethods.ucwa_status_str(status)), 0, null, null);
            }
            return new UcwaException(
                (UcwaStatus)NativeMethods.ucwa_error_status(error),
                Utf8.Read(NativeMethods.ucwa_error_message(error)),
                NativeMethods.ucwa_error_http_status(error),
                Utf8.Read(NativeMethods.ucwa_error_code(error)),
                Utf8.Read(NativeMethods.ucwa_error_subcode(error)),
                Utf8.Read(NativeMethods.ucwa_error_auth_resource(error)),
                Utf8.Read(NativeMethods.ucwa_error_authorization_uri(error)));
        }
    }

    /// <summary>
    /// The native library could not be used at all: it was not found, or it implements a
    /// different ABI version than this binding (see <see cref="UcwaLibrary.ExpectedAbiVersion"/>).
    /// </summary>
    [Serializable]
    public class UcwaLibraryException : Exception
    {
        /// <summary>Creates the exception.</summary>
        /// <param name="message">What is wrong and how to fix it.</param>
        /// <param name="inner">The runtime's own exception (e.g. DllNotFoundException), or null.</param>
        public UcwaLibraryException(string message, Exception inner) : base(message, inner) { }
    }

    internal static class Errors
    {
        /// <summary>Frees <paramref name="error"/> and throws when <paramref name="status"/> is not OK.</summary>
        internal static void Check(uint status, ErrorHandle error)
        {
            try
            {
                if (status != 0)
                {
                    throw UcwaException.FromNative(status, error);
                }
            }
            finally
            {
                if (error != null)
                {
                    error.Dispose();
                }
            }
        }
    }
}
