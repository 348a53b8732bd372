//! The HTTP control API under `/_sim/`, as C, Python and C# tests use it: info, log, state,
//! token expiry, server-side deletion, presence from another device, and faults as JSON.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::*;
use ucwa_sim::{Fault, FaultAction, LogEntry, UserState};

fn control(sim: &ucwa_sim::Sim, method: &str, path: &str, body: Option<Value>) -> Response {
    let url = format!("{}_sim/{path}", sim.root_url());
    let (headers, bytes): (&[(&str, &str)], Vec<u8>) = match body {
        Some(b) => (
            &[("Content-Type", "application/json")],
            b.to_string().into_bytes(),
        ),
        None => (&[], Vec::new()),
    };
    Http::plain().send(method, &url, headers, &bytes).unwrap()
}

#[test]
fn info_lists_the_three_urls() {
    let sim = start(fast());
    let r = control(&sim, "GET", "info", None);
    assert_eq!(r.status, 200);
    assert!(r.content_type().starts_with("application/json"));
    let v = r.json();
    assert_eq!(v["root_url"], sim.root_url());
    assert_eq!(v["pool2_url"], sim.pool2_url());
    assert_eq!(v["foreign_url"], Value::Null);
}

#[test]
fn log_is_json_log_entries_and_excludes_control_requests() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    s.post_json(&s.link("me", "note"), &json!({"message": "logged"}));
    let r = control(&sim, "GET", "log", None);
    let log: Vec<LogEntry> = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(log, sim.log());
    assert!(log.iter().all(|e| !e.path.starts_with("/_sim")));
    assert!(log.windows(2).all(|w| w[0].seq < w[1].seq), "arrival order");
    let note = log.iter().find(|e| e.route == "note").unwrap();
    assert_eq!(note.body.as_deref(), Some(r#"{"message":"logged"}"#));
    assert_eq!(note.user.as_deref(), Some(ALICE));
    assert!(note.authorization);
    assert_eq!(note.pool, "pool1");
    assert_eq!(control(&sim, "DELETE", "log", None).status, 204);
    assert!(sim.log().is_empty());
}

#[test]
fn users_and_state_report_presence_note_location_and_applications() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    s.post_json(&s.link("me", "location"), &json!({"location": "Desk 7"}));
    let alice: UserState = control(&sim, "GET", "users/alice%40contoso.com", None).json_as();
    assert_eq!(alice, sim.user(ALICE).unwrap());
    assert_eq!(alice.location.as_deref(), Some("Desk 7"));
    assert_eq!(alice.applications[0].user_agent, "sim-tests");
    assert_eq!(alice.applications[0].endpoint_id, "sim-test");
    let by_plain_name: UserState = control(&sim, "GET", "users/alice@contoso.com", None).json_as();
    assert_eq!(by_plain_name.name, ALICE);
    let state: Vec<UserState> = control(&sim, "GET", "state", None).json_as();
    assert_eq!(
        state.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        [ALICE, BOB]
    );
    assert_eq!(state[1].availability, "Offline");
    assert_eq!(
        control(&sim, "GET", "users/nobody@contoso.com", None).status,
        404
    );
}

#[test]
fn expire_tokens_per_user_and_for_everyone() {
    let sim = start(fast());
    let alice = Session::sign_in(&sim, ALICE, ALICE_PW);
    let bob = Session::sign_in(&sim, BOB, BOB_PW);
    assert_eq!(
        control(&sim, "POST", "users/bob@contoso.com/expire-tokens", None).status,
        204
    );
    assert_eq!(bob.get(&bob.app_url).status, 401);
    assert_eq!(alice.get(&alice.app_url).status, 200);
    assert_eq!(control(&sim, "POST", "expire-tokens", None).status, 204);
    assert_eq!(alice.get(&alice.app_url).status, 401);
}

#[test]
fn delete_applications_ends_them_server_side() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    assert_eq!(
        control(
            &sim,
            "POST",
            "users/alice@contoso.com/delete-applications",
            None
        )
        .status,
        204
    );
    s.get(&s.app_url)
        .assert_error(404, "NotFound", Some("ApplicationNotFound"));
    assert_eq!(
        control(&sim, "POST", "users/nobody/delete-applications", None).status,
        404
    );
}

#[test]
fn presence_from_another_device_emits_an_event() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let (_, next) = s.drain_events(s.events_url());
    let r = control(
        &sim,
        "POST",
        "users/alice@contoso.com/presence",
        Some(json!({"availability": "Away", "activity": "in-a-meeting"})),
    );
    assert_eq!(r.status, 204);
    let (senders, _) = s.drain_events(next);
    let events = events_of(&senders);
    let (_, rel, kind, ev) = &events[0];
    assert_eq!((rel.as_str(), kind.as_str()), ("presence", "updated"));
    assert!(
        ev.get("_embedded").is_none(),
        "real servers send it bare: {ev}"
    );
    let presence = &s.get(&s.url(ev["link"]["href"].as_str().unwrap())).json();
    assert_eq!(
        (
            presence["availability"].as_str(),
            presence["activity"].as_str()
        ),
        (Some("Away"), Some("in-a-meeting"))
    );
    assert_eq!(
        control(
            &sim,
            "POST",
            "users/alice@contoso.com/presence",
            Some(json!({"activity": "x"}))
        )
        .status,
        400
    );
}

#[test]
fn faults_are_posted_as_serde_json_and_cleared() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let fault = json!({"route": "presence", "count": 1, "action": {"Respond": {"status": 503, "headers": [["Retry-After", "1"]], "body": ""}}});
    assert_eq!(control(&sim, "POST", "faults", Some(fault)).status, 204);
    let r = s.get(&s.link("me", "presence"));
    assert_eq!((r.status, r.header("retry-after")), (503, Some("1")));
    assert_eq!(s.get(&s.link("me", "presence")).status, 200);

    let close = json!({"route": "note", "action": "Close"});
    assert_eq!(control(&sim, "POST", "faults", Some(close)).status, 204);
    let listed: Vec<Fault> = control(&sim, "GET", "faults", None).json_as();
    assert_eq!(listed[0].action, FaultAction::Close);
    assert_eq!(listed[0].count, 0);
    assert_eq!(control(&sim, "DELETE", "faults", None).status, 204);
    assert_eq!(s.get(&s.link("me", "note")).status, 200);

    let delay = json!({"path_contains": "/me/note", "method": "GET", "count": 1, "action": {"Delay": {"ms": 200}}});
    assert_eq!(control(&sim, "POST", "faults", Some(delay)).status, 204);
    let t = std::time::Instant::now();
    assert_eq!(s.get(&s.link("me", "note")).status, 200);
    assert!(t.elapsed() >= Duration::from_millis(200));

    let bad = control(
        &sim,
        "POST",
        "faults",
        Some(json!({"action": {"Explode": {}}})),
    );
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"].is_string());
}

#[test]
fn unknown_control_paths_are_json_404_and_control_is_only_on_pool1() {
    let sim = start(fast());
    let r = control(&sim, "GET", "nothing", None);
    assert_eq!(r.status, 404);
    assert!(r.json()["error"].is_string());
    let on_pool2 = Http::plain().get(&format!("{}_sim/info", sim.pool2_url()), &[]);
    assert_eq!(on_pool2.status, 404);
    assert!(
        on_pool2.json()["code"].is_string(),
        "a UCWA 404, not the control API"
    );
}

trait JsonAs {
    fn json_as<T: serde::de::DeserializeOwned>(&self) -> T;
}

impl JsonAs for Response {
    fn json_as<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }
}
