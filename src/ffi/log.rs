//! `ucwa_log_*`: the library's log records, pulled by the host like events (no library thread
//! ever runs host code): set a level, take records one by one with a timeout, read them with
//! accessors, free them. The records are process-wide; each names the client it is about.

use std::ffi::{c_char, CString};
use std::time::Duration;

use super::client::write_out;
use super::handles::Handled;
use super::strings::lendable;
use super::{ucwa_error, ucwa_status};
use crate::error::Error;
use crate::log::{self, Level, Record};

/// How severe a log record is; also the level set with ucwa_log_set_level (a record is kept
/// when its level is at most the level set).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ucwa_log_level {
    /// No records (the default); as a record's level: an invalid handle.
    UCWA_LOG_LEVEL_OFF = 0,
    /// A call or the keep-alive failed in a way the host will see.
    UCWA_LOG_LEVEL_ERROR = 1,
    /// Something went wrong and was handled: a retry, a recovery, a connection lost.
    UCWA_LOG_LEVEL_WARN = 2,
    /// The steps of a session: discovery, sign-in, the grant chosen, state changes.
    UCWA_LOG_LEVEL_INFO = 3,
    /// Every HTTP exchange and every decision the library takes on its own.
    UCWA_LOG_LEVEL_DEBUG = 4,
    /// Everything, including each event received and each timer.
    UCWA_LOG_LEVEL_TRACE = 5,
}

/// One log record. Opaque; read it with the ucwa_log_record_* accessors and free it with
/// ucwa_log_record_free.
pub struct ucwa_log_record {
    _private: (),
}

pub(crate) struct RecordObj {
    record: Record,
    target: CString,
    message: CString,
}

handled!(RecordObj => ucwa_log_record);

/// Sets the level of the records kept for ucwa_log_next (a ucwa_log_level value; OFF, the
/// default, keeps none). Independent of the UCWA_LOG environment variable, which writes a
/// readable log to stderr or UCWA_LOG_FILE on its own. Records are process-wide: every
/// client's go to the same buffer, each naming its client (ucwa_log_record_client).
///
/// Records never hold a secret (password, token, cookie, NTLM/Negotiate data, proxy
/// credentials); user names and SIP URIs appear as pseudonyms (`~1a2b3c`) unless
/// ucwa_log_show_identity(1) or UCWA_LOG_IDENTITY=1.
///
/// Errors: INVALID_ARGUMENT (a level over UCWA_LOG_LEVEL_TRACE).
#[no_mangle]
pub extern "C" fn ucwa_log_set_level(level: u32, out_error: *mut *mut ucwa_error) -> ucwa_status {
    ffi_status!(out_error, {
        let level = Level::from_number(level).ok_or_else(|| {
            Error::InvalidArgument(format!("log level {level}: expected 0 (off) to 5 (trace)"))
        })?;
        log::set_level(level);
        Ok(())
    })
}

/// Shows user names and SIP URIs in log records (show != 0) instead of stable pseudonyms
/// (show == 0, the default unless UCWA_LOG_IDENTITY=1). Applies to records made afterwards.
#[no_mangle]
pub extern "C" fn ucwa_log_show_identity(show: u32) {
    ffi_value!((), {
        log::show_identity(show != 0);
    })
}

/// Waits up to timeout_ms for the next log record (0 = just look).
///
/// - out_record: required; on success receives an owned record (free with
///   ucwa_log_record_free), or NULL when none arrived in time.
///
/// At most 4096 unread records are kept; past that the oldest are dropped, counted by
/// ucwa_log_dropped, and the next record taken is a WARN (target "ucwa::log") that says how
/// many were lost. Each record goes to one caller.
///
/// Errors: INVALID_ARGUMENT (out_record is NULL).
#[no_mangle]
pub extern "C" fn ucwa_log_next(
    timeout_ms: u32,
    out_record: *mut *mut ucwa_log_record,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_status!(out_error, {
        if out_record.is_null() {
            return Err(Error::InvalidArgument("out_record is NULL".into()));
        }
        let handle = match log::next(Duration::from_millis(timeout_ms as u64)) {
            None => std::ptr::null_mut(),
            Some(record) => RecordObj {
                target: lendable(record.target),
                message: lendable(&record.message),
                record,
            }
            .into_handle(),
        };
        write_out(out_record, handle);
        Ok(())
    })
}

/// How many records were dropped since the process started because the buffer was full.
#[no_mangle]
pub extern "C" fn ucwa_log_dropped() -> u64 {
    ffi_value!(0, { log::dropped() })
}

/// The record's level (a ucwa_log_level value); UCWA_LOG_LEVEL_OFF (0) for an invalid handle.
#[no_mangle]
pub extern "C" fn ucwa_log_record_level(record: *const ucwa_log_record) -> u32 {
    let none = ucwa_log_level::UCWA_LOG_LEVEL_OFF as u32;
    ffi_read!(record => RecordObj, none, |r: &RecordObj| ucwa_log_level::from(
        r.record.level
    ) as u32)
}

/// When the record was made, in milliseconds since the Unix epoch (UTC); 0 for an invalid
/// handle.
#[no_mangle]
pub extern "C" fn ucwa_log_record_time_ms(record: *const ucwa_log_record) -> u64 {
    ffi_read!(record => RecordObj, 0, |r: &RecordObj| r.record.time_ms)
}

/// The client the record is about: the value of its ucwa_client handle
/// (`(uint64_t)(uintptr_t)client`), or 0 for a record of no client (such as the note of
/// dropped records) and for an invalid handle.
#[no_mangle]
pub extern "C" fn ucwa_log_record_client(record: *const ucwa_log_record) -> u64 {
    ffi_read!(record => RecordObj, 0, |r: &RecordObj| r.record.client)
}

/// The part of the library that made the record, e.g. "ucwa::transport". Returns a borrowed
/// string, valid until ucwa_log_record_free(record); NULL for an invalid handle.
#[no_mangle]
pub extern "C" fn ucwa_log_record_target(record: *const ucwa_log_record) -> *const c_char {
    ffi_read!(record => RecordObj, std::ptr::null(), |r: &RecordObj| r
        .target
        .as_ptr())
}

/// The record's text, one line (at most 4096 bytes). Returns a borrowed string, valid until
/// ucwa_log_record_free(record); NULL for an invalid handle.
#[no_mangle]
pub extern "C" fn ucwa_log_record_message(record: *const ucwa_log_record) -> *const c_char {
    ffi_read!(record => RecordObj, std::ptr::null(), |r: &RecordObj| r
        .message
        .as_ptr())
}

/// Frees a record; its borrowed strings die with it.
/// NULL, an already-freed or a garbage handle: no-op.
#[no_mangle]
pub extern "C" fn ucwa_log_record_free(record: *mut ucwa_log_record) {
    ffi_value!((), {
        RecordObj::release(record);
    })
}
