/*
 * processprng.c: a stand-in bcryptprimitives.dll for the Wine prefix the Windows tests run in
 * (owned by scripts/windows). FOR TESTS ONLY: it is built into target/windows/wine and never
 * shipped.
 *
 * Why: Rust's standard library on Windows gets its random bytes (HashMap seeds, and through
 * getrandom the TLS stack's) from bcryptprimitives.dll!ProcessPrng, which every Windows 10 and
 * later has. Wine 8.0 (Debian 12) has no bcryptprimitives.dll at all, so without this file a
 * Rust program or ucwa.dll fails to load under it (STATUS_DLL_NOT_FOUND, c0000135). This
 * ProcessPrng asks BCryptGenRandom for the system RNG, which is what the real one is, and like
 * the real one it never fails for a valid buffer.
 */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0) {
            return FALSE;
        }
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
