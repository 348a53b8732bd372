//! Unit tests of the C ABI that read the C strings it returns (and so need `unsafe`, which
//! this crate allows only under `src/ffi/` and `src/sys/`): fixed numeric values and texts,
//! and the messages of argument errors.

use std::ffi::CStr;

use super::*;

#[test]
fn status_and_enum_values_are_fixed() {
    use ucwa_status::*;
    let expected = [
        (UCWA_OK, 0, "ok"),
        (UCWA_ERROR_INVALID_ARGUMENT, 1, "invalid argument"),
        (UCWA_ERROR_INVALID_HANDLE, 2, "invalid handle"),
        (UCWA_ERROR_INVALID_STATE, 3, "invalid state"),
        (UCWA_ERROR_NETWORK, 4, "network error"),
        (UCWA_ERROR_TIMEOUT, 5, "timed out"),
        (UCWA_ERROR_TLS, 6, "TLS error"),
        (UCWA_ERROR_AUTHENTICATION, 7, "authentication failed"),
        (UCWA_ERROR_SERVER, 8, "server error"),
        (UCWA_ERROR_PROTOCOL, 9, "protocol error"),
        (UCWA_ERROR_INSECURE, 10, "refused as insecure"),
        (UCWA_ERROR_INTERNAL, 11, "internal error"),
    ];
    for (s, n, text) in expected {
        assert_eq!(s as u32, n);
        // SAFETY: ucwa_status_str returns a static NUL-terminated string.
        assert_eq!(
            unsafe { CStr::from_ptr(ucwa_status_str(n)) }
                .to_str()
                .unwrap(),
            text
        );
    }
    // SAFETY: as above.
    assert_eq!(
        unsafe { CStr::from_ptr(ucwa_status_str(12)) }
            .to_str()
            .unwrap(),
        "unknown status"
    );
    assert_eq!(ucwa_availability::UCWA_AVAILABILITY_OFF_WORK as u32, 6);
    assert_eq!(ucwa_availability::UCWA_AVAILABILITY_UNKNOWN as u32, 10);
    assert_eq!(
        ucwa_event_kind::UCWA_EVENT_KIND_EFFECTIVE_PRESENCE_CHANGED as u32,
        11
    );
    assert_eq!(
        ucwa_presence_cause::UCWA_PRESENCE_CAUSE_CHANGED_ELSEWHERE as u32,
        4
    );
    for (i, a) in crate::Availability::ALL.iter().enumerate() {
        assert_eq!(*a as u32, i as u32);
    }
    assert_eq!(ucwa_abi_version(), UCWA_ABI_VERSION);
    // SAFETY: static NUL-terminated string.
    assert_eq!(
        unsafe { CStr::from_ptr(ucwa_version()) }.to_str().unwrap(),
        env!("CARGO_PKG_VERSION")
    );
}

#[test]
fn bad_arguments_are_invalid_argument_with_a_message() {
    let mut err: *mut ucwa_error = std::ptr::null_mut();
    let mut c: *mut ucwa_client = std::ptr::null_mut();
    assert_eq!(
        ucwa_client_new(std::ptr::null(), &mut c, &mut err),
        ucwa_status::UCWA_ERROR_INVALID_ARGUMENT
    );
    assert!(c.is_null());
    // SAFETY: the message is a NUL-terminated string borrowed until ucwa_error_free.
    let msg = unsafe { CStr::from_ptr(ucwa_error_message(err)) }
        .to_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("server is NULL"), "{msg}");
    ucwa_error_free(err);

    let bad_utf8 = [0x68u8, 0xff, 0xfe, 0];
    assert_eq!(
        ucwa_client_new(bad_utf8.as_ptr().cast(), &mut c, std::ptr::null_mut()),
        ucwa_status::UCWA_ERROR_INVALID_ARGUMENT
    );
    assert_eq!(
        ucwa_client_new(c"http://10.1.2.3/".as_ptr(), &mut c, std::ptr::null_mut()),
        ucwa_status::UCWA_ERROR_INSECURE
    );
    assert_eq!(
        ucwa_client_new(
            c"http://127.0.0.1:9/".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut()
        ),
        ucwa_status::UCWA_ERROR_INVALID_ARGUMENT
    );

    assert_eq!(
        ucwa_client_new(
            c"http://127.0.0.1:9/".as_ptr(),
            &mut c,
            std::ptr::null_mut()
        ),
        ucwa_status::UCWA_OK
    );
    assert_eq!(
        ucwa_client_set_option(c, c"no_such".as_ptr(), c"1".as_ptr(), &mut err),
        ucwa_status::UCWA_ERROR_INVALID_ARGUMENT
    );
    ucwa_error_free(err);
    assert_eq!(
        ucwa_client_set_option(
            c,
            c"timeout_ms".as_ptr(),
            std::ptr::null(),
            std::ptr::null_mut()
        ),
        ucwa_status::UCWA_ERROR_INVALID_ARGUMENT
    );
    assert_eq!(
        ucwa_make_me_available(c, 7, std::ptr::null_mut()),
        ucwa_status::UCWA_ERROR_INVALID_ARGUMENT
    );
    assert_eq!(
        ucwa_make_me_available(c, 0, std::ptr::null_mut()),
        ucwa_status::UCWA_ERROR_INVALID_STATE
    );
    assert_eq!(
        ucwa_set_availability(c, 1, std::ptr::null_mut()),
        ucwa_status::UCWA_ERROR_INVALID_STATE
    );
    // The presence layers check their arguments before the state: bad ones are
    // INVALID_ARGUMENT, good ones before makeMeAvailable INVALID_STATE.
    let bad_utf8 = bad_utf8.as_ptr().cast();
    let arg = ucwa_status::UCWA_ERROR_INVALID_ARGUMENT;
    let null = std::ptr::null();
    for (source, availability, expires_s) in [
        (null, 2, 0),
        (bad_utf8, 2, 0),
        (c"".as_ptr(), 2, 0),
        (c"a\tb".as_ptr(), 2, 0),
        (c"phone".as_ptr(), 0, 0),
        (c"phone".as_ptr(), 7, 0),
        (c"phone".as_ptr(), 2, UCWA_MAX_EXPIRY_S + 1),
    ] {
        assert_eq!(
            ucwa_set_source_presence(c, source, availability, null, expires_s, &mut err),
            arg
        );
        ucwa_error_free(err);
    }
    assert_eq!(
        ucwa_set_source_presence(c, c"phone".as_ptr(), 2, bad_utf8, 0, std::ptr::null_mut()),
        arg
    );
    assert_eq!(
        ucwa_clear_source_presence(c, null, std::ptr::null_mut()),
        arg
    );
    assert_eq!(
        ucwa_set_preferred_availability(c, 9, 0, std::ptr::null_mut()),
        arg
    );
    assert_eq!(
        ucwa_set_preferred_availability(c, 2, u32::MAX, std::ptr::null_mut()),
        arg
    );
    assert_eq!(ucwa_set_note_until(c, null, 5, std::ptr::null_mut()), arg);
    let state = ucwa_status::UCWA_ERROR_INVALID_STATE;
    assert_eq!(
        ucwa_set_source_presence(c, c"phone".as_ptr(), 2, null, 60, std::ptr::null_mut()),
        state
    );
    assert_eq!(
        ucwa_clear_source_presence(c, c"phone".as_ptr(), std::ptr::null_mut()),
        state
    );
    assert_eq!(
        ucwa_set_preferred_availability(c, 2, 60, std::ptr::null_mut()),
        state
    );
    assert_eq!(
        ucwa_clear_preferred_availability(c, std::ptr::null_mut()),
        state
    );
    assert_eq!(
        ucwa_set_note_until(c, c"Lunch".as_ptr(), 60, std::ptr::null_mut()),
        state
    );
    let mut ev: *mut ucwa_event = std::ptr::null_mut();
    assert_eq!(
        ucwa_client_next_event(c, 10, &mut ev, std::ptr::null_mut()),
        ucwa_status::UCWA_ERROR_INVALID_STATE
    );
    assert_eq!(
        ucwa_client_next_event(c, 10, std::ptr::null_mut(), std::ptr::null_mut()),
        ucwa_status::UCWA_ERROR_INVALID_ARGUMENT
    );
    let mut n = 5u64;
    assert_eq!(
        ucwa_client_request_count(c, &mut n, std::ptr::null_mut()),
        ucwa_status::UCWA_OK
    );
    assert_eq!(n, 0);
    ucwa_client_free(c);
}
