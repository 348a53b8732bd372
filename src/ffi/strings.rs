//! C strings in and out: inputs checked for NULL and validated as UTF-8 (never decoded
//! lossily); owned outputs tracked so that `ucwa_string_free` of anything else is a no-op.

use std::collections::HashSet;
use std::ffi::{c_char, CStr, CString};
use std::sync::{Mutex, OnceLock};

use crate::error::{Error, Status};

static OWNED: OnceLock<Mutex<HashSet<usize>>> = OnceLock::new();

fn owned() -> std::sync::MutexGuard<'static, HashSet<usize>> {
    OWNED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// Reads a required NUL-terminated UTF-8 argument.
pub fn arg<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Error> {
    opt_arg(ptr, name)?.ok_or_else(|| Error::InvalidArgument(format!("{name} is NULL")))
}

/// Reads an optional argument: NULL is `None`.
pub fn opt_arg<'a>(ptr: *const c_char, name: &str) -> Result<Option<&'a str>, Error> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: not NULL, and the caller passes a NUL-terminated string that stays valid for the
    // duration of the call (the header's contract for every `const char *` parameter).
    let c = unsafe { CStr::from_ptr(ptr) };
    c.to_str()
        .map(Some)
        .map_err(|_| Error::InvalidArgument(format!("{name} is not valid UTF-8")))
}

/// Hands an owned copy of `s` to C; NUL bytes inside are refused rather than truncated.
pub fn to_owned_c(step: crate::Step, s: &str) -> Result<*mut c_char, Error> {
    let c = CString::new(s).map_err(|_| Error::Protocol {
        step,
        detail: "the server sent a string with a NUL byte".into(),
        http_status: None,
        path: String::new(),
    })?;
    let ptr = c.into_raw();
    owned().insert(ptr as usize);
    Ok(ptr)
}

/// The borrowed C view of an optional lent string (NULL when absent).
pub fn lent(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(std::ptr::null(), |c| c.as_ptr())
}

/// A C copy of a string for an object that lends it out (errors, events); interior NULs are
/// dropped because these strings are for people to read.
pub fn lendable(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

pub fn status_str(status: u32) -> *const c_char {
    Status::from_u32(status)
        .map_or(c"unknown status", Status::c_description)
        .as_ptr()
}

/// Frees a string this library returned as owned (e.g. from ucwa_get_note).
/// NULL, an already-freed pointer, or a pointer this library did not hand out: no-op.
#[no_mangle]
pub extern "C" fn ucwa_string_free(string: *mut c_char) {
    ffi_value!((), {
        if string.is_null() || !owned().remove(&(string as usize)) {
            return;
        }
        // SAFETY: the pointer was produced by CString::into_raw in to_owned_c and was still in
        // the owned set, which we just removed it from, so it is freed exactly once.
        drop(unsafe { CString::from_raw(string) });
    })
}
