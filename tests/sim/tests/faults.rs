//! Fault injection: exact canned answers, delays, dropped connections, matching by route,
//! path and method, counted and unlimited faults, and faults that reach the log.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::*;
use ucwa_sim::{Fault, FaultAction};

fn fault(route: &str, count: u32, action: FaultAction) -> Fault {
    Fault {
        route: Some(route.into()),
        path_contains: None,
        method: None,
        count,
        action,
    }
}

#[test]
fn respond_answers_exactly_the_given_status_headers_and_body_then_is_used_up() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    sim.inject_fault(fault(
        "presence",
        2,
        FaultAction::Respond {
            status: 503,
            headers: vec![
                ("Retry-After".into(), "1".into()),
                ("Content-Type".into(), "text/html".into()),
            ],
            body: "<html>busy</html>".into(),
        },
    ));
    let presence = s.link("me", "presence");
    for _ in 0..2 {
        let r = s.get(&presence);
        assert_eq!(r.status, 503);
        assert_eq!(r.header("retry-after"), Some("1"));
        assert_eq!(r.content_type(), "text/html");
        assert_eq!(r.text(), "<html>busy</html>");
        assert!(
            r.header("x-ms-ucwaversion").is_none(),
            "nothing added to a canned answer"
        );
    }
    assert_eq!(s.get(&presence).status, 200, "count exhausted");
    let statuses: Vec<u16> = sim
        .log()
        .iter()
        .filter(|e| e.route == "presence")
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, [503, 503, 200]);
}

#[test]
fn malformed_json_can_be_served() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    sim.inject_fault(fault(
        "note",
        1,
        FaultAction::Respond {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: "{\"message\": tru".into(),
        },
    ));
    let r = s.get(&s.link("me", "note"));
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_err());
}

#[test]
fn delay_waits_then_handles_the_request_normally() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    sim.inject_fault(fault("presence", 1, FaultAction::Delay { ms: 400 }));
    let t = Instant::now();
    let r = s.post_json(&s.link("me", "presence"), &json!({"availability": "Busy"}));
    assert!(t.elapsed() >= Duration::from_millis(400));
    assert_eq!(r.status, 204);
    assert_eq!(sim.user(ALICE).unwrap().availability, "Busy");
}

#[test]
fn close_drops_the_connection_without_an_answer_and_logs_status_0() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    sim.inject_fault(fault("note", 0, FaultAction::Close));
    let note = s.link("me", "note");
    for _ in 0..3 {
        let raw = s
            .http
            .send_raw("GET", &note, &[("Authorization", &s.auth)], b"");
        assert!(
            raw.map(|b| b.is_empty()).unwrap_or(true),
            "no bytes answered"
        );
    }
    let closes = sim
        .log()
        .iter()
        .filter(|e| e.route == "note" && e.status == 0)
        .count();
    assert_eq!(closes, 3, "count 0 repeats until cleared");
    sim.clear_faults();
    assert_eq!(s.get(&note).status, 200);
}

#[test]
fn faults_match_on_path_substring_and_method() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    sim.inject_fault(Fault {
        route: None,
        path_contains: Some("/me/presence".into()),
        method: Some("post".into()),
        count: 0,
        action: FaultAction::Respond {
            status: 500,
            headers: vec![],
            body: String::new(),
        },
    });
    let presence = s.link("me", "presence");
    assert_eq!(s.get(&presence).status, 200, "GET does not match");
    assert_eq!(
        s.post_json(&presence, &json!({"availability": "Busy"}))
            .status,
        500
    );
    assert_eq!(
        s.post_json(&presence, &json!({"availability": "Busy"}))
            .status,
        500
    );
    assert_eq!(
        sim.user(ALICE).unwrap().availability,
        "Online",
        "the faulted POSTs were not applied"
    );
}

#[test]
fn faults_apply_to_the_token_endpoint_and_unauthenticated_routes() {
    let sim = start(fast());
    sim.inject_fault(fault(
        "token",
        1,
        FaultAction::Respond {
            status: 500,
            headers: vec![("X-Ms-diagnostics".into(), "28000;reason=\"test\"".into())],
            body: String::new(),
        },
    ));
    let url = format!("{}WebTicket/oauthtoken", sim.root_url());
    let r = password_token(&Http::plain(), &url, ALICE, ALICE_PW);
    assert_eq!(r.status, 500);
    assert_eq!(r.header("x-ms-diagnostics"), Some("28000;reason=\"test\""));
    assert_eq!(
        password_token(&Http::plain(), &url, ALICE, ALICE_PW).status,
        200
    );
}
