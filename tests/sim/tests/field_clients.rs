//! A client written like the field clients that ran against real servers (Python standard
//! library, `tests/field/field_client.py`) runs end to end against the default simulator in
//! both layouts; the simulator's log shows the field habits arrived as such (doubled slashes,
//! `DOMAIN\user`, `<application>/reportMyActivity`) and were served.

mod support;

use std::process::Command;

use serde_json::{json, Value};
use support::*;
use ucwa_sim::{Layout, SimConfig};

fn run_field_client(layout: Layout) -> (Value, Vec<ucwa_sim::LogEntry>) {
    let sim = start(SimConfig { layout, ..fast() });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/field/field_client.py");
    let out = Command::new("python3")
        .args([script, &sim.root_url(), "CONTOSO\\alice", ALICE_PW, ALICE])
        .output()
        .expect("python3 runs (scripts/test-all.sh installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{layout}: field client failed: {}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    (summary, sim.log())
}

fn check(layout: Layout) {
    let (summary, log) = run_field_client(layout);
    assert_eq!(summary["followed_availability"], "Away", "{summary}");
    assert_eq!(summary["own_availability"], "Busy", "{summary}");
    assert_eq!(summary["expires_in"], 28800);
    // The four self events are bare, the communication event embeds its resource.
    assert_eq!(
        summary["first_events"],
        json!([
            ["me", "updated", false],
            ["presence", "added", false],
            ["note", "added", false],
            ["location", "added", false],
            ["communication", "updated", true]
        ])
    );
    let token = log.iter().find(|e| e.route == "token").unwrap();
    assert_eq!(
        (token.user.as_deref(), token.status),
        (Some("CONTOSO\\alice"), 200)
    );
    // Every in-resource request went to a doubled-slash path and was understood.
    let joined: Vec<&ucwa_sim::LogEntry> =
        log.iter().filter(|e| e.path.starts_with("//")).collect();
    assert!(joined.len() >= 6, "{layout}: {log:?}");
    assert!(joined.iter().all(|e| e.status / 100 == 2), "{joined:?}");
    let report = log
        .iter()
        .find(|e| e.route == "reportMyActivity")
        .expect("reportMyActivity reached");
    assert_eq!(report.status, 204);
    let apps: Vec<u16> = log
        .iter()
        .filter(|e| e.route == "applications")
        .map(|e| e.status)
        .collect();
    assert_eq!(apps, [201, 200]);
    let followed = log
        .iter()
        .filter(|e| e.route == "presence" && e.method == "GET")
        .count();
    assert_eq!(followed, 2, "one GET after the event, one after the POST");
}

#[test]
fn field_style_python_client_runs_end_to_end_in_the_standard_layout() {
    check(Layout::Standard);
}

#[test]
fn field_style_python_client_runs_end_to_end_in_the_alt_layout() {
    check(Layout::Alt);
}
