//! The C ABI's fixed promises, checked from Rust: the header is current, every export runs
//! inside the panic boundary, and bad handles give clear statuses instead of crashes. (Checks
//! that must read C strings live in `src/ffi/tests.rs`, under `src/ffi/` where `unsafe` is
//! allowed.)

use std::path::Path;

use ucwa::ffi::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

// Not on Windows (see Cargo.toml): the Linux suite regenerates the header for every platform.
#[cfg(not(windows))]
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

/// Every `extern "C" fn` body must start with one of the boundary macros (see src/ffi/boundary.rs).
#[test]
fn every_export_runs_inside_the_panic_boundary() {
    let mut exports = 0;
    let mut files = Vec::new();
    let mut dirs = vec![Path::new(ROOT).join("src/ffi")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    for path in files {
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
            // Accessors may bind their neutral value first (`let none = …;`): it is written
            // once, and the boundary follows at once.
            let body = match body.strip_prefix("let ") {
                Some(rest) => rest[rest.find(';').unwrap() + 1..].trim_start(),
                None => body,
            };
            assert!(
                ["ffi_status!(", "ffi_value!(", "ffi_client!(", "ffi_read!("]
                    .iter()
                    .any(|m| body.starts_with(m)),
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
    // The presence layers: NULL, freed and garbage clients, with NULL and garbage-free
    // arguments, are INVALID_HANDLE; outputs and state untouched.
    for client in [std::ptr::null_mut(), c, garbage] {
        let invalid = ucwa_status::UCWA_ERROR_INVALID_HANDLE;
        let null = std::ptr::null();
        for (source, note) in [(null, null), (c"phone".as_ptr(), c"On a call".as_ptr())] {
            assert_eq!(
                ucwa_set_source_presence(client, source, 2, note, 0, std::ptr::null_mut()),
                invalid
            );
            assert_eq!(
                ucwa_set_source_presence(client, source, 99, note, u32::MAX, &mut err),
                invalid
            );
            ucwa_error_free(err);
            assert_eq!(
                ucwa_clear_source_presence(client, source, std::ptr::null_mut()),
                invalid
            );
            assert_eq!(
                ucwa_set_note_until(client, note, 60, std::ptr::null_mut()),
                invalid
            );
        }
        for (availability, expires) in [(0, 0), (3, 60), (u32::MAX, u32::MAX)] {
            assert_eq!(
                ucwa_set_preferred_availability(
                    client,
                    availability,
                    expires,
                    std::ptr::null_mut()
                ),
                invalid
            );
        }
        assert_eq!(
            ucwa_clear_preferred_availability(client, std::ptr::null_mut()),
            invalid
        );
    }
    for event in [std::ptr::null(), 0x1234_5678 as *const ucwa_event] {
        assert!(ucwa_event_source(event).is_null());
        assert_eq!(ucwa_event_cause(event), 0);
        assert!(ucwa_event_note(event).is_null());
        assert_eq!(ucwa_event_availability(event), 0);
    }
    ucwa_client_free(std::ptr::null_mut());
    ucwa_string_free(0x1234_5678 as *mut _);
    ucwa_event_free(0x1234_5678 as *mut _);
    assert_eq!(ucwa_event_get_kind(std::ptr::null()), 0);
}
