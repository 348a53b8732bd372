//! The zero-code switch in a process of its own (it is read once, when the first client is
//! made): `UCWA_LOG=debug` with `UCWA_LOG_FILE` writes one readable record a line to that file,
//! user names pseudonymized, no secret.

mod common;

use common::*;

#[test]
fn ucwa_log_writes_readable_records_to_ucwa_log_file() {
    let path = std::env::temp_dir().join(format!("ucwa-log-env-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&path);
    std::env::set_var("UCWA_LOG", "debug");
    std::env::set_var("UCWA_LOG_FILE", &path);
    let sim = start(fast_config());
    let c = signed_in(&sim);
    c.sign_out().unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let id = c.log_id();
    let lines: Vec<&str> = written.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains(" INFO  ucwa::") && l.contains(&format!("client={id}: signed in"))),
        "{written}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(" DEBUG ucwa::transport::logged ") && l.contains("POST ")),
        "{written}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l.len() > 24 && l.as_bytes()[10] == b'T'),
        "timestamped: {written}"
    );
    assert!(
        !lines.iter().any(|l| l.contains(" TRACE ")),
        "nothing over debug: {written}"
    );
    assert!(
        !written.contains(ALICE_PW) && !written.contains("AAEB"),
        "{written}"
    );
    assert!(!written.to_ascii_lowercase().contains("alice"), "{written}");
    assert!(!on_route(&sim.log(), "applications").is_empty());
}
