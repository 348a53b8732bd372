//! The panic boundary every exported function runs inside: a caught panic becomes
//! `UCWA_ERROR_INTERNAL` (with an error object) or a neutral value, never an abort across the
//! C boundary. A test checks that no export lacks it.

/// Runs a body that returns `Result<(), Error>` and turns it into a `ucwa_status`, writing an
/// owned error object to `out_error` (when not NULL) on failure and NULL on success.
macro_rules! ffi_status {
    ($out_error:expr, $body:block) => {{
        let out_error: *mut *mut $crate::ffi::ucwa_error = $out_error;
        let result = ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(
            || -> ::std::result::Result<(), $crate::Error> { $body },
        ));
        $crate::ffi::error::finish(out_error, result)
    }};
}

/// Runs a body that returns a plain value; a panic yields `$neutral`.
macro_rules! ffi_value {
    ($neutral:expr, $body:block) => {{
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(v) => v,
            Err(_) => $neutral,
        }
    }};
}
