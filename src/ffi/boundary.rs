//! The panic boundary every exported function runs inside: a caught panic becomes
//! `UCWA_ERROR_INTERNAL` (with an error object) or a neutral value, never an abort across the
//! C boundary. A test checks that no export lacks it.
//!
//! Four forms: `ffi_status!` (a fallible call), `ffi_client!` (a fallible call on a client:
//! lookup, boundary and `out_error` in one), `ffi_read!` (an accessor: lookup and boundary,
//! its neutral value written once) and `ffi_value!` (anything else).

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

/// A call on a client: looks the handle up (INVALID_HANDLE when it is not live), then runs the
/// body as `ffi_status!` does, with the client bound to `$c`.
macro_rules! ffi_client {
    ($client:expr, $out_error:expr, |$c:ident| $body:block) => {
        ffi_status!($out_error, {
            let $c = $crate::ffi::client::lookup($client)?;
            $body
        })
    };
}

/// An accessor: looks `$handle` up as a `$ty` and reads it with `$read`; an invalid handle or a
/// caught panic gives `$neutral`.
macro_rules! ffi_read {
    ($handle:expr => $ty:ty, $neutral:expr, $read:expr) => {{
        let neutral = $neutral;
        let read = ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| {
            <$ty as $crate::ffi::handles::Handled>::lookup($handle).map(|obj| ($read)(&*obj))
        }));
        match read {
            Ok(Some(v)) => v,
            _ => neutral,
        }
    }};
}
