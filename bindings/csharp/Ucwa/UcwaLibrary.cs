// Ucwa/UcwaLibrary.cs: facts about the loaded native library, and the ABI version check every
// entry point runs before its first native call (so a wrong or missing libucwa fails with one
// clear message instead of a crash or an EntryPointNotFoundException deep inside a call).

using System;

namespace Ucwa
{
    /// <summary>The loaded native ucwa library: its versions and the compatibility check.</summary>
    public static class UcwaLibrary
    {
        /// <summary>The C ABI version this binding was written for (UCWA_ABI_VERSION in ucwa.h).</summary>
        public const uint ExpectedAbiVersion = 1;

        private static readonly object Gate = new object();
        private static volatile bool checkedOk;

        /// <summary>The ABI version the loaded native library implements.</summary>
        /// <exception cref="UcwaLibraryException">The native library cannot be loaded.</exception>
        public static uint AbiVersion
        {
            get
            {
                try
                {
                    return NativeMethods.ucwa_abi_version();
                }
                catch (DllNotFoundException e)
                {
                    throw NotFound(e);
                }
                catch (EntryPointNotFoundException e)
                {
                    throw new UcwaLibraryException("The library loaded as 'ucwa' has no ucwa_abi_version export: it is not the ucwa C library.", e);
                }
            }
        }

        /// <summary>The native library's version, e.g. "0.1.0".</summary>
        /// <exception cref="UcwaLibraryException">The native library cannot be loaded or is incompatible.</exception>
        public static string Version
        {
            get
            {
                EnsureCompatible();
                return Utf8.Read(NativeMethods.ucwa_version());
            }
        }

        /// <summary>The library's short English description of a status, e.g. "invalid handle".</summary>
        /// <param name="status">Any status value; unknown values get "unknown status".</param>
        /// <returns>The description.</returns>
        /// <exception cref="UcwaLibraryException">The native library cannot be loaded or is incompatible.</exception>
        public static string DescribeStatus(UcwaStatus status)
        {
            EnsureCompatible();
            return Utf8.Read(NativeMethods.ucwa_status_str((uint)status));
        }

        /// <summary>
        /// Loads the native library and checks its ABI version once per process. Called by every
        /// entry point before its first native call; call it yourself to fail early at start-up.
        /// </summary>
        /// <exception cref="UcwaLibraryException">The native library cannot be loaded, or its ABI version is not <see cref="ExpectedAbiVersion"/>.</exception>
        public static void EnsureCompatible()
        {
            if (checkedOk)
            {
                return;
            }
            lock (Gate)
            {
                if (checkedOk)
                {
                    return;
                }
                uint found = AbiVersion;
                if (found != ExpectedAbiVersion)
                {
                    throw new UcwaLibraryException(
                        "The native ucwa library implements ABI version " + found + ", but this Ucwa binding needs version "
                        + ExpectedAbiVersion + ". Use the native library that ships with this package version.", null);
                }
                checkedOk = true;
            }
        }

        private static UcwaLibraryException NotFound(Exception e)
        {
            return new UcwaLibraryException(
                "The native ucwa library was not found (libucwa.so on Linux, ucwa.dll on Windows, libucwa.dylib on macOS). "
                + "Install the Ucwa NuGet package for your runtime identifier, or put the library's directory on the loader path "
                + "(LD_LIBRARY_PATH on Linux, PATH on Windows, DYLD_LIBRARY_PATH on macOS).", e);
        }
    }
}
