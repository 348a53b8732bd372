//! The version exports: the ABI version bindings check at load time, the library version, and
//! the fixed descriptions of status values.

use std::ffi::c_char;

use super::strings;

/// The ABI version: bumped on any incompatible change to this header. Bindings check it.
pub const UCWA_ABI_VERSION: u32 = 1;

/// The ABI version this library implements (UCWA_ABI_VERSION when it was built).
/// Never fails; thread-safe.
#[no_mangle]
pub extern "C" fn ucwa_abi_version() -> u32 {
    ffi_value!(0, { UCWA_ABI_VERSION })
}

/// The library version, e.g. "0.1.0".
/// Returns a static string: never free it. Never fails; thread-safe.
#[no_mangle]
pub extern "C" fn ucwa_version() -> *const c_char {
    ffi_value!(std::ptr::null(), {
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
    })
}

/// A short English description of a status value, e.g. "invalid handle"; an unknown value gets
/// "unknown status". Returns a static string: never free it. Never fails; thread-safe.
#[no_mangle]
pub extern "C" fn ucwa_status_str(status: u32) -> *const c_char {
    ffi_value!(c"unknown status".as_ptr(), { strings::status_str(status) })
}
