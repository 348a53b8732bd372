//! `ucwa watch --json`: one JSON object a line on stdout, flushed as events come, checked
//! against changes made through the simulator's control API.
// Unix only: the suite drives the control socket, file modes and signals.
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use serde_json::Value;

/// Starts `ucwa watch` with `args`; its stdout lines arrive on the channel as JSON.
fn watch(
    dir: &std::path::Path,
    sim: &Sim,
    args: &[&str],
) -> (std::process::Child, mpsc::Receiver<Value>) {
    let mut child = ucwa(dir, sim)
        .args(["watch", "--password-env", "PW"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let v: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"));
            if tx.send(v).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// The next line whose `event` is `kind` (and that passes `f`), within 15 s.
fn next(rx: &mpsc::Receiver<Value>, kind: &str, f: impl Fn(&Value) -> bool) -> Value {
    let end = std::time::Instant::now() + Duration::from_secs(15);
    while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(v) if v["event"] == kind && f(&v) => return v,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    panic!("no {kind} event came");
}

#[test]
fn watch_json_prints_own_and_contacts_changes_made_elsewhere_one_object_a_line() {
    let sim = sim();
    let dir = temp_dir("watch");
    let (mut child, rx) = watch(&dir, &sim, &["--json", "--contacts", BOB]);
    let first = next(&rx, "presence", |_| true);
    assert_eq!(first["availability"], "Online");
    assert!(first["ts"].as_f64().is_some_and(|t| t > 1.6e9), "{first}");
    let bob = next(&rx, "contact_presence", |_| true);
    assert_eq!(bob["contact"], "sip:bob@contoso.com");
    sim.set_note_elsewhere(BOB, Some("Back at 3"));
    let n = next(&rx, "contact_note", |v| v["note"] == "Back at 3");
    assert_eq!(n["contact"], "sip:bob@contoso.com");
    sim.set_presence_elsewhere(BOB, "Away", Some("in-a-meeting"));
    next(&rx, "contact_presence", |v| {
        v["availability"] == "Away" && v["activity"] == "in-a-meeting"
    });
    sim.set_presence_elsewhere(ALICE, "BeRightBack", None);
    next(&rx, "presence", |v| v["availability"] == "BeRightBack");
    sim.set_note_elsewhere(ALICE, Some("Mine"));
    next(&rx, "note", |v| v["note"] == "Mine");
    sim.delete_applications(ALICE);
    next(&rx, "application_recreated", |_| true);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn watch_count_stops_after_that_many_lines_and_signs_out() {
    let sim = sim();
    let dir = temp_dir("watch-count");
    let (mut child, rx) = watch(&dir, &sim, &["--json", "--count", "2", "--contacts", BOB]);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let lines: Vec<Value> = rx.try_iter().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(wait_for(Duration::from_secs(5), || sim
        .user(ALICE)
        .unwrap()
        .applications
        .is_empty()));
}

#[test]
fn watch_without_json_on_a_pipe_still_prints_json() {
    let sim = sim();
    let dir = temp_dir("watch-pipe");
    let (mut child, rx) = watch(&dir, &sim, &["--count", "1"]);
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let v = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(v["event"], "presence");
}

#[test]
fn watch_streams_the_services_events_with_the_account_and_the_deciding_source() {
    let sim = sim();
    let dir = temp_dir("watch-service");
    let cfg = two_accounts_config(&dir, &sim, "");
    let svc = Service::start(&dir, &sim, &cfg);
    svc.wait_connected(&sim, 2);
    let apps = sim.user(ALICE).unwrap().applications.len();
    let (mut child, rx) = watch(&dir, &sim, &["--json"]);
    std::thread::sleep(Duration::from_millis(300));
    let args = ["source", "set", "phone", "DoNotDisturb", "--account", "a"];
    assert_eq!(run(&mut ucwa(&dir, &sim), &args).code, 0);
    let e = next(&rx, "effective_presence", |v| v["account"] == "a");
    assert_eq!(
        (&e["availability"], &e["source"]),
        (&"DoNotDisturb".into(), &"phone".into())
    );
    assert_eq!(
        (&e["decider"], &e["cause"]),
        (&"source".into(), &"set".into())
    );
    sim.set_note_elsewhere(ALICE, Some("seen by b"));
    let n = next(&rx, "contact_note", |v| v["account"] == "b");
    assert_eq!(n["contact"], "sip:alice@contoso.com");
    assert_eq!(
        sim.user(ALICE).unwrap().applications.len(),
        apps,
        "no sign-in of its own"
    );
    let _ = child.kill();
    let _ = child.wait();
    drop(svc);
}
