//! The C ABI's fixed promises, checked from Rust: the header is current, every export runs
//! inside the panic boundary, numeric values never move, and bad handles and arguments give
//! clear statuses instead of crashes.

use std::ffi::CStr;
use std::path::Path;

use ucwa::ffi::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn committed_header_matches_cbindgen_output() {
    let config = cbindgen::Config::from_file(Path::new(ROOT).join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(ROOT)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let path = Path::new(ROOT).join("include/ucwa.h");
    if std::env::var_os("UCWA_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read(&path).unwrap();
    assert!(
        committed == generated,
        "include/ucwa.h is stale: run `UCWA_BLESS=1 cargo test --test abi committed_header` and commit it"
    );
    let text = String::from_utf8(committed).unwrap();
    assert!(
        text.contains(&format!(
            "#define UCWA_VERSION_STRING \"{}\"",
            env!("CARGO_PKG_VERSION")
        )),
        "version macro matches Cargo.toml"
    );
}

/// Every `extern "C" fn` body must start with one of the boundary macros.
#[test]
fn every_export_runs_inside_the_panic_boundary() {
    let mut exports = 0;
    for entry in std::fs::read_dir(Path::new(ROOT).join("src/ffi")).unwrap() {
        let path = entry.unwrap().path();
        let src = std::fs::read_to_string(&path).unwrap();
        let mut rest = src.as_str();
        while let Some(i) = rest.find("extern \"C\" fn ") {
            let after = &rest[i..];
            let name: String = after["extern \"C\" fn ".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let body_start = after.find('{').unwrap();
            let body = after[body_start + 1..].trim_start();
            assert!(
                body.starts_with("ffi_status!(") || body.starts_with("ffi_value!("),
                "{name} in {} lacks the panic boundary",
                path.display()
            );
            let before = &rest[..i];
            assert!(
                before.trim_end().ends_with("pub") || before.trim_end().ends_with("pub unsafe"),
                "{name} is exported"
            );
            assert!(
                before
                    .rsplit("\n\n")
                    .next()
                    .unwrap()
                    .contains("#[no_mangle]"),
                "{name} is #[no_mangle]"
            );
            exports += 1;
            rest = &after[body_start..];
        }
    }
    let header = std::fs::read_to_string(Path::new(ROOT).join("include/ucwa.h")).unwrap();
    let declared = header.matches("ucwa_").count();
    assert!(exports >= 30, "found {exports} exports");
    assert!(declared > exports);
}

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
    for (i, a) in ucwa::Availability::ALL.iter().enumerate() {
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
fn garbage_freed_and_null_handles_are_invalid_handle_never_a_crash() {
    let garbage = 0xdead_beef_usize as *mut ucwa_client;
    let mut err: *mut ucwa_error = std::ptr::null_mut();
    assert_eq!(
        ucwa_sign_out(garbage, &mut err),
        ucwa_status::UCWA_ERROR_INVALID_HANDLE
    );
    assert_eq!(ucwa_error_status(err), 2);
    ucwa_error_free(err);
    ucwa_error_free(err); // double free: no-op
    assert_eq!(
        ucwa_error_status(err),
        2,
        "a freed error handle reads as invalid"
    );
    assert!(ucwa_error_code(err).is_null());
    assert_eq!(ucwa_error_http_status(err), 0);

    let mut c: *mut ucwa_client = std::ptr::null_mut();
    assert_eq!(
        ucwa_client_new(
            c"http://127.0.0.1:9/".as_ptr(),
            &mut c,
            std::ptr::null_mut()
        ),
        ucwa_status::UCWA_OK
    );
    ucwa_client_free(c);
    ucwa_client_free(c);
    let mut avail = 77u32;
    assert_eq!(
        ucwa_get_presence(c, &mut avail, std::ptr::null_mut(), std::ptr::null_mut()),
        ucwa_status::UCWA_ERROR_INVALID_HANDLE
    );
    assert_eq!(avail, 77, "outputs are untouched on failure");
    assert_eq!(
        ucwa_set_note(std::ptr::null_mut(), std::ptr::null(), std::ptr::null_mut()),
        ucwa_status::UCWA_ERROR_INVALID_HANDLE
    );
    ucwa_client_free(std::ptr::null_mut());
    ucwa_string_free(0x1234_5678 as *mut _);
    ucwa_event_free(0x1234_5678 as *mut _);
    assert_eq!(ucwa_event_get_kind(std::ptr::null()), 0);
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
