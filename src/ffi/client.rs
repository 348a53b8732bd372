//! `ucwa_client`: the client handle and the exported client functions, one concern a file, in
//! the order the header lists them (cbindgen reads them in this order): `sign_in` (creating a
//! client, its options, the three sign-ins and host tokens), `presence` (the user's own
//! presence, note and location), `contacts` (other people's, read and subscribed) and
//! `lifetime` (the activity report, sign-out, free and the request count). Each export
//! validates its handle and arguments, delegates to `crate::Client`, and writes outputs only on
//! success.

use std::ffi::c_char;
use std::sync::Arc;

use super::handles::Handled;
use super::strings::to_owned_c;
use crate::error::{Error, Step};
use crate::Client;

// One group each, so that rustfmt keeps them in the header's order instead of sorting them.
mod sign_in;

mod presence;

mod contacts;

mod lifetime;

pub use contacts::*;
pub use lifetime::*;
pub use presence::*;
pub use sign_in::*;

/// A client for one user on one server. Opaque: create it with ucwa_client_new, free it with
/// ucwa_client_free. Every function may be called on it from any thread, concurrently.
pub struct ucwa_client {
    _private: (),
}

handled!(Client => ucwa_client);

/// The live client behind a handle, or INVALID_HANDLE.
pub(crate) fn lookup(handle: *const ucwa_client) -> Result<Arc<Client>, Error> {
    Client::lookup(handle).ok_or_else(|| {
        Error::InvalidHandle(
            "the ucwa_client handle is NULL, freed or not one this library made".into(),
        )
    })
}

/// Writes an output parameter that the caller promised is writable (checked for NULL first).
pub(crate) fn write_out<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: not NULL, and the header requires every out-parameter that is not NULL to
        // point to writable storage of its type.
        unsafe { out.write(value) };
    }
}

/// Writes an owned copy of a text the server sent (or NULL for none) to a checked output.
fn write_text(out: *mut *mut c_char, step: Step, text: Option<String>) -> Result<(), Error> {
    let s = match text {
        Some(t) => to_owned_c(step, &t)?,
        None => std::ptr::null_mut(),
    };
    write_out(out, s);
    Ok(())
}

fn require_out<T>(out: *mut T, name: &str) -> Result<(), Error> {
    if out.is_null() {
        Err(Error::InvalidArgument(format!("{name} is NULL")))
    } else {
        Ok(())
    }
}
