//! The one-shot commands without a service, driven as a user would: what they print, their
//! exit codes (usage errors 2, failures 1 with one line on stderr), what the simulator saw,
//! the credential sources, and help on every subcommand.
// Unix only: the suite drives the control socket, file modes and signals.
#![cfg(unix)]

mod common;

use common::*;

fn posted(sim: &Sim, route: &str, needle: &str) -> bool {
    sim.log().iter().any(|e| {
        e.route == route
            && e.method == "POST"
            && e.body.as_deref().is_some_and(|b| b.contains(needle))
    })
}

#[test]
fn presence_set_without_a_service_posts_it_warns_it_is_short_lived_and_deletes_the_application() {
    let sim = sim();
    let dir = temp_dir("set-direct");
    let r = run(
        &mut ucwa(&dir, &sim),
        &["presence", "set", "dnd", "--password-env", "PW"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "", "set prints nothing on stdout");
    assert!(
        r.stderr.contains("lasts only as long as the application"),
        "{}",
        r.stderr
    );
    assert!(
        posted(&sim, "presence", "DoNotDisturb"),
        "the server was told DoNotDisturb"
    );
    assert!(sim
        .log()
        .iter()
        .any(|e| e.route == "application" && e.method == "DELETE"));
    assert!(
        sim.user(ALICE).unwrap().applications.is_empty(),
        "signed out on exit"
    );
}

#[test]
fn presence_get_prints_the_availability_as_text_and_as_json() {
    let sim = sim();
    let dir = temp_dir("get");
    let r = run(
        &mut ucwa(&dir, &sim),
        &["presence", "get", "--password-env", "PW"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), "Online");
    let r = run(
        &mut ucwa(&dir, &sim),
        &["presence", "get", "--json", "--password-env", "PW"],
    );
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["availability"], "Online");
    assert!(
        r.stderr.is_empty(),
        "a read says nothing on stderr: {}",
        r.stderr
    );
}

#[test]
fn note_and_location_set_reach_the_server_and_get_reads_them() {
    let sim = sim();
    let dir = temp_dir("note");
    let r = run(
        &mut ucwa(&dir, &sim),
        &["note", "set", "Back at 3", "--password-env", "PW"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(posted(&sim, "note", "Back at 3"));
    let r = run(
        &mut ucwa(&dir, &sim),
        &["location", "set", "Building 7", "--password-env", "PW"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(posted(&sim, "location", "Building 7"));
    sim.set_note_elsewhere(ALICE, Some("Set elsewhere"));
    let r = run(
        &mut ucwa(&dir, &sim),
        &["note", "get", "--password-env", "PW"],
    );
    assert_eq!(r.stdout.trim(), "Set elsewhere", "{}", r.stderr);
    let r = run(
        &mut ucwa(&dir, &sim),
        &["note", "get", "--json", "--password-env", "PW"],
    );
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["note"], "Set elsewhere");
}

#[test]
fn contacts_get_prints_a_table_or_json_lines_with_unknown_contacts_as_unknown() {
    let sim = sim();
    sim.set_note_elsewhere(BOB, Some("Back at 3"));
    sim.set_presence_elsewhere(BOB, "Away", Some("in-a-meeting"));
    let dir = temp_dir("contacts");
    let args = [
        "contacts",
        "get",
        BOB,
        "sip:nobody@contoso.com",
        "--password-env",
        "PW",
    ];
    let r = run(&mut ucwa(&dir, &sim), &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(lines[0].starts_with("CONTACT"), "{}", r.stdout);
    assert!(lines[1].contains("sip:bob@contoso.com") && lines[1].contains("Away"));
    assert!(lines[2].contains("Unknown"));
    let r = run(&mut ucwa(&dir, &sim), &[&args[..], &["--json"]].concat());
    let rows: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["note"], "Back at 3");
    assert_eq!(rows[0]["activity"], "in-a-meeting");
    assert_eq!(rows[1]["availability"], "Unknown");
}

#[test]
fn usage_errors_exit_2_and_failures_exit_1_with_one_line() {
    let sim = sim();
    let dir = temp_dir("usage");
    for args in [
        &["bogus"][..],
        &["presence", "set", "Idle"],
        &["presence", "set"],
        &["source", "set", "phone", "Busy", "--for", "8d"],
        &["contacts", "get"],
        &["serve"],
        &["presence", "get", "--no-such-flag"],
    ] {
        let r = run(&mut ucwa(&dir, &sim), args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}: usage errors go to stderr");
    }
    let r = run(
        ucwa(&dir, &sim).env("PW", "wrong"),
        &["presence", "get", "--password-env", "PW"],
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.starts_with("ucwa: sign-in failed"), "{}", r.stderr);
    let r = run(
        ucwa(&dir, &sim).env_remove("UCWA_SERVER"),
        &["presence", "get"],
    );
    assert_eq!((r.code, r.stderr.lines().count()), (1, 1), "{}", r.stderr);
    assert!(r.stderr.contains("--server"), "{}", r.stderr);
}

#[test]
fn every_subcommand_has_a_help_page_with_examples_exit_codes_and_environment() {
    let sim = sim();
    let dir = temp_dir("help");
    let top = run(&mut ucwa(&dir, &sim), &["--help"]);
    assert_eq!(top.code, 0);
    for sub in [
        "presence", "note", "location", "contacts", "source", "watch", "serve", "status", "login",
        "doctor",
    ] {
        assert!(top.stdout.contains(sub), "--help lists {sub}");
        let r = run(&mut ucwa(&dir, &sim), &["help", sub]);
        assert_eq!(r.code, 0, "{sub}");
        for part in ["EXAMPLES:", "EXIT CODES:", "ENVIRONMENT:"] {
            assert!(
                r.stdout.contains(part),
                "{sub} --help has {part}:\n{}",
                r.stdout
            );
        }
    }
    let r = run(&mut ucwa(&dir, &sim), &["presence", "set", "--help"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("DoNotDisturb"));
    let v = run(&mut ucwa(&dir, &sim), &["--version"]);
    assert_eq!((v.code, v.stdout.trim()), (0, "ucwa 0.1.0"));
}

#[test]
fn a_password_file_open_to_others_is_refused_before_anything_is_sent() {
    use std::os::unix::fs::PermissionsExt;
    let sim = sim();
    let dir = temp_dir("loose");
    let pw = dir.join("pw");
    std::fs::write(&pw, ALICE_PW).unwrap();
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).unwrap();
    let file = pw.to_str().unwrap();
    let r = run(
        &mut ucwa(&dir, &sim),
        &["presence", "get", "--password-file", file],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("chmod 600"), "{}", r.stderr);
    assert!(!r.stderr.contains(ALICE_PW));
    assert!(sim.log().is_empty(), "nothing reached the server");
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = run(
        &mut ucwa(&dir, &sim),
        &["presence", "get", "--password-file", file],
    );
    assert_eq!((r.code, r.stdout.trim()), (0, "Online"), "{}", r.stderr);
}

#[test]
fn no_password_appears_in_any_output_even_at_trace_level() {
    let sim = sim();
    let dir = temp_dir("nopw");
    for args in [
        &[
            "presence",
            "set",
            "Busy",
            "--password-env",
            "PW",
            "--verbose",
        ][..],
        &["note", "get", "--password-env", "PW"],
    ] {
        let r = run(ucwa(&dir, &sim).env("UCWA_LOG", "trace"), args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(!r.stdout.contains(ALICE_PW) && !r.stderr.contains(ALICE_PW));
    }
    let r = run(
        ucwa(&dir, &sim).env("PW", "not-her-password"),
        &["presence", "get", "--password-env", "PW", "-v"],
    );
    assert_eq!(r.code, 1);
    assert!(!r.stderr.contains("not-her-password") && !r.stdout.contains("not-her-password"));
}

#[test]
fn login_stores_the_password_in_the_os_store_or_names_the_alternatives() {
    use std::io::Write;
    let sim = sim();
    let dir = temp_dir("login");
    let user = format!("alice-{}@contoso.com", std::process::id());
    let mut child = ucwa(&dir, &sim)
        .args(["login", "--user", &user, "--no-verify"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{ALICE_PW}").unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains(ALICE_PW));
    if out.status.code() == Some(0) {
        // Stored: a later command finds it (and forgets it again).
        let r = run(
            &mut ucwa(&dir, &sim),
            &["login", "--user", &user, "--forget"],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
    } else {
        // No usable OS store on this machine (e.g. a container without a persistent keyring).
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr.contains("--password-env") && stderr.contains("--password-file"),
            "{stderr}"
        );
    }
}

#[test]
fn status_without_a_service_fails_with_a_clear_reason() {
    let sim = sim();
    let dir = temp_dir("nostatus");
    let r = run(&mut ucwa(&dir, &sim), &["status"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("no ucwa service is running"),
        "{}",
        r.stderr
    );
}

#[test]
fn doctor_runs_the_diagnosis_with_its_own_exit_statuses() {
    let sim = sim();
    let dir = temp_dir("doctor");
    let url = sim.root_url();
    let args = [
        "doctor",
        "--server",
        &url,
        "--user",
        ALICE,
        "--password-env",
        "PW",
        // The simulator holds a P-GET 180 s as real pools do: the doctor's own tests cover the
        // hold; here a short wait keeps the run short.
        "--quick",
    ];
    let r = run(&mut ucwa(&dir, &sim), &args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains(ALICE_PW) && !r.stderr.contains(ALICE_PW));
    assert!(
        sim.log().iter().any(|e| e.route == "token"),
        "the doctor signed in"
    );
    let r = run(ucwa(&dir, &sim).env("PW", "wrong"), &args);
    assert_eq!(r.code, 1, "a failed step: {}", r.stdout);
    let r = run(&mut ucwa(&dir, &sim), &["doctor", "--no-such-flag"]);
    assert_eq!(r.code, 2);
}
