//! `ucwa_error`: an owned, immutable error object handed to the host on failure, read with
//! accessors and freed with `ucwa_error_free`.

use std::any::Any;
use std::ffi::{c_char, CString};

use super::handles::Handled;
use super::strings::{lendable, lent};
use super::ucwa_status;
use crate::error::{Error, Status};

/// An error returned by a failed call. Opaque; read it with the ucwa_error_* accessors and free
/// it with ucwa_error_free.
pub struct ucwa_error {
    _private: (),
}

pub(crate) struct ErrorObj {
    status: Status,
    message: CString,
    http_status: u16,
    code: Option<CString>,
    subcode: Option<CString>,
    auth_resource: Option<CString>,
    authorization_uri: Option<CString>,
}

handled!(ErrorObj => ucwa_error);

/// Registers an owned error object for `e` and returns its handle.
pub(crate) fn new_error(e: &Error) -> *mut ucwa_error {
    let obj = ErrorObj {
        status: e.status(),
        message: lendable(&e.to_string()),
        http_status: e.http_status().unwrap_or(0),
        code: e.code().map(lendable),
        subcode: e.subcode().map(lendable),
        auth_resource: e.auth_resource().map(lendable),
        authorization_uri: e.authorization_uri().map(lendable),
    };
    obj.into_handle()
}

/// Ends an `ffi_status!` body: the status, and the owned error (or NULL) in `out_error`.
pub(crate) fn finish(
    out_error: *mut *mut ucwa_error,
    result: std::thread::Result<Result<(), Error>>,
) -> ucwa_status {
    let outcome = result.unwrap_or_else(|payload| Err(Error::Internal(panic_text(payload))));
    let (status, err) = match outcome {
        Ok(()) => (ucwa_status::UCWA_OK, std::ptr::null_mut()),
        Err(e) => (e.status().into(), new_error(&e)),
    };
    if !out_error.is_null() {
        // SAFETY: not NULL, and the header requires out_error to point to writable storage for
        // one `ucwa_error *` when it is not NULL.
        unsafe { *out_error = err };
    } else if !err.is_null() {
        ErrorObj::release(err);
    }
    status
}

fn panic_text(payload: Box<dyn Any + Send>) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("a bug in ucwa was caught at the C boundary ({what}); please report it")
}

/// The status of an error (one of the ucwa_status values).
/// Returns UCWA_ERROR_INVALID_HANDLE for NULL, a freed or a garbage handle.
#[no_mangle]
pub extern "C" fn ucwa_error_status(error: *const ucwa_error) -> u32 {
    let invalid = ucwa_status::UCWA_ERROR_INVALID_HANDLE as u32;
    ffi_read!(error => ErrorObj, invalid, |e: &ErrorObj| ucwa_status::from(
        e.status
    ) as u32)
}

/// A message for people, e.g. "set presence: server answered 409 Conflict/MakeMeAvailableRequired: ...".
/// It never contains a token or a password: text quoted from a server (its message, OAuth
/// error description, X-Ms-diagnostics) has every secret the client holds replaced with
/// "[redacted]", control characters removed, and at most 300 characters.
/// Returns a borrowed string, valid until ucwa_error_free(error); for an invalid handle a static
/// "invalid ucwa_error handle".
#[no_mangle]
pub extern "C" fn ucwa_error_message(error: *const ucwa_error) -> *const c_char {
    let invalid = c"invalid ucwa_error handle".as_ptr();
    ffi_read!(error => ErrorObj, invalid, |e: &ErrorObj| e.message.as_ptr())
}

/// The HTTP status of the response behind the error; 0 when there was no HTTP response or the
/// handle is invalid.
#[no_mangle]
pub extern "C" fn ucwa_error_http_status(error: *const ucwa_error) -> u16 {
    ffi_read!(error => ErrorObj, 0, |e: &ErrorObj| e.http_status)
}

/// The UCWA error "code" (e.g. "Conflict"); NULL if the server sent none or the handle is
/// invalid. Returns a borrowed string, valid until ucwa_error_free(error).
#[no_mangle]
pub extern "C" fn ucwa_error_code(error: *const ucwa_error) -> *const c_char {
    ffi_read!(error => ErrorObj, std::ptr::null(), |e: &ErrorObj| lent(&e.code))
}

/// The UCWA error "subcode" (e.g. "MakeMeAvailableRequired"); NULL if the server sent none or
/// the handle is invalid. Returns a borrowed string, valid until ucwa_error_free(error).
#[no_mangle]
pub extern "C" fn ucwa_error_subcode(error: *const ucwa_error) -> *const c_char {
    ffi_read!(error => ErrorObj, std::ptr::null(), |e: &ErrorObj| lent(&e.subcode))
}

/// After ucwa_sign_in_with_tokens (or any call of a client signed in that way) failed with
/// UCWA_ERROR_AUTHENTICATION because a token is missing or was refused: the resource (an
/// origin such as "https://lyncweb.contoso.com") to acquire a token for and give with
/// ucwa_client_set_token. NULL for other errors or an invalid handle. Returns a borrowed
/// string, valid until ucwa_error_free(error).
#[no_mangle]
pub extern "C" fn ucwa_error_auth_resource(error: *const ucwa_error) -> *const c_char {
    ffi_read!(error => ErrorObj, std::ptr::null(), |e: &ErrorObj| lent(&e.auth_resource))
}

/// With ucwa_error_auth_resource: where the server says its tokens come from (the
/// authorization_uri of its Bearer challenge, e.g. an ADFS or Azure AD authorize endpoint);
/// NULL when it named none, for other errors or an invalid handle. Returns a borrowed string,
/// valid until ucwa_error_free(error).
#[no_mangle]
pub extern "C" fn ucwa_error_authorization_uri(error: *const ucwa_error) -> *const c_char {
    ffi_read!(error => ErrorObj, std::ptr::null(), |e: &ErrorObj| lent(
        &e.authorization_uri
    ))
}

/// Frees an error object; its borrowed strings die with it.
/// NULL, an already-freed or a garbage handle: no-op.
#[no_mangle]
pub extern "C" fn ucwa_error_free(error: *mut ucwa_error) {
    ffi_value!((), {
        ErrorObj::release(error);
    })
}
