//! Platform calls that need `unsafe` and are not the C ABI: today one, Windows' own SSPI for
//! signing in as the logged-on user (`windows_sspi`, Windows only). Each module here wraps its
//! foreign API in a safe type that knows nothing of the protocol; the code that drives it
//! (`auth::windows`) imports it, never the other way round.

#[cfg(windows)]
pub(crate) mod windows_sspi;
