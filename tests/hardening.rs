//! The client is never a danger to its host or to the pool: tried as a hostile or misbehaving
//! server would (the simulator's fault kinds), every response body stays within its cap,
//! tokens go only where they came from, every loop stays paced, secrets never reach host
//! text, no application is left behind, the CA file is read once and safely, and header-bound
//! strings are checked. Each test asserts on what the simulator saw as well as on what the
//! client returned.

mod common;

use std::time::Duration;

use common::*;
use ucwa::{Availability, ConnectionState, Event, Status};
use ucwa_sim::{Fault, FaultAction, ForeignChallenge, Sim, SimConfig};

const JSON: (&str, &str) = ("Content-Type", "application/json");

fn count(sim: &Sim, method: &str, route: &str) -> usize {
    sim.log()
        .iter()
        .filter(|e| e.method == method && e.route == route)
        .count()
}

/// Every event that arrives within `limit`.
fn drain_events(c: &ucwa::Client, limit: Duration) -> Vec<Event> {
    let end = std::time::Instant::now() + limit;
    let mut seen = Vec::new();
    while std::time::Instant::now() < end {
        match c.next_event(Duration::from_millis(50)) {
            Ok(Some(e)) => seen.push(e),
            Ok(None) => {}
            Err(_) => break,
        }
    }
    seen
}

/// Every text an error carries, as the host can read it.
fn error_text(e: &ucwa::Error) -> String {
    format!("{e} | code={:?} subcode={:?} {e:?}", e.code(), e.subcode())
}

// ----- 1. bounded bodies -------------------------------------------------------------------

#[test]
fn a_300_mib_presence_body_is_refused_as_protocol_without_being_read() {
    let sim = start(fast_config());
    let c = available(&sim);
    // Counted from here: available() waited for the GETs that follow makeMeAvailable's events.
    let before = count(&sim, "GET", "presence");
    sim.inject_fault(fault(
        "presence",
        1,
        FaultAction::Oversized {
            status: 200,
            bytes: 300 * 1024 * 1024,
        },
    ));
    let e = c.presence().unwrap_err();
    assert_eq!(e.status(), Status::Protocol, "{e}");
    assert!(e.to_string().contains("larger than 4194304 bytes"), "{e}");
    // The client goes on with its next call on a fresh connection.
    assert_eq!(c.presence().unwrap().availability, Availability::Online);
    assert_eq!(count(&sim, "GET", "presence") - before, 2);
}

#[test]
fn an_endless_body_on_discovery_token_or_error_is_cut_at_the_cap() {
    for route in ["discovery", "token"] {
        let sim = start(fast_config());
        sim.inject_fault(fault(route, 1, FaultAction::Endless { status: 200 }));
        let c = client(&sim);
        c.set_option("max_body_bytes", "65536").unwrap();
        let e = c.sign_in(ALICE, ALICE_PW).unwrap_err();
        assert_eq!(e.status(), Status::Protocol, "{route}: {e}");
        assert!(e.to_string().contains("larger than 65536 bytes"), "{e}");
        assert_eq!(
            count(&sim, if route == "token" { "POST" } else { "GET" }, route),
            1
        );
    }
    // An error body (a 500 that never ends) is refused the same way.
    let sim = start(fast_config());
    let c = available(&sim);
    sim.inject_fault(Fault {
        method: Some("POST".into()),
        ..fault("note", 1, FaultAction::Endless { status: 500 })
    });
    let e = c.set_note("x").unwrap_err();
    assert_eq!(e.status(), Status::Protocol, "{e}");
}

#[test]
fn an_endless_event_channel_answer_is_cut_and_the_channel_recovers() {
    let sim = start(fast_config());
    let c = available(&sim);
    sim.inject_fault(fault("events", 1, FaultAction::Endless { status: 200 }));
    let seen = wait_event(&c, Duration::from_secs(10), |e| {
        matches!(
            e,
            Event::ConnectionStateChanged {
                state: ConnectionState::Recovered,
                ..
            }
        )
    });
    let reason = seen.iter().find_map(|e| match e {
        Event::ConnectionStateChanged {
            state: ConnectionState::Recovering,
            reason: Some(r),
        } => Some(r.clone()),
        _ => None,
    });
    let reason = reason.expect("the cut answer is reported");
    assert_eq!(reason.status(), Status::Protocol, "{reason}");
    assert!(eventually(Duration::from_secs(5), || {
        sim.user(ALICE).unwrap().applications[0].parked_pgets == 1
    }));
}

// ----- 2. tokens bound to where they came from -----------------------------------------------

#[test]
fn a_foreign_origin_reflecting_the_pools_challenge_gets_no_token() {
    let sim = start(SimConfig {
        foreign_challenge: ForeignChallenge::Reflect,
        ..fast_config()
    });
    let foreign = sim.foreign_url().expect("the foreign listener runs");
    let c = available(&sim);
    let tokens_before = count(&sim, "POST", "token");
    // The event channel's `next` points at the foreign origin, which answers with pool 1's
    // own challenge: a naive client fetches a fresh pool-1 token and hands it over.
    let next = format!("{}ucwa/oauth/v1/applications/1/events?ack=2", foreign);
    sim.inject_fault(respond(
        "events",
        1,
        200,
        &[JSON],
        &format!(r#"{{"_links":{{"next":{{"href":"{next}"}}}},"sender":[]}}"#),
    ));
    let seen = wait_event(
        &c,
        Duration::from_secs(10),
        |e| matches!(e, Event::ConnectionStateChanged { state: ConnectionState::Recovering, reason: Some(r) } if r.status() == Status::Insecure),
    );
    assert!(
        seen.iter().any(|e| matches!(e, Event::ConnectionStateChanged { reason: Some(r), .. } if r.status() == Status::Insecure)),
        "the reflected challenge is refused as insecure: {seen:?}"
    );
    let log = sim.log();
    let at_foreign: Vec<_> = log.iter().filter(|e| e.pool == "foreign").collect();
    assert!(!at_foreign.is_empty(), "the client did follow the link");
    assert!(
        at_foreign.iter().all(|e| !e.authorization),
        "no request to the foreign origin carried a token: {at_foreign:?}"
    );
    assert_eq!(
        count(&sim, "POST", "token"),
        tokens_before,
        "no token was fetched for the foreign origin"
    );
}

#[test]
fn sign_in_through_a_reflecting_foreign_applications_link_is_insecure_and_sends_no_token() {
    let sim = start(SimConfig {
        foreign_challenge: ForeignChallenge::Reflect,
        foreign_apps_users: vec![ALICE.into()],
        ..fast_config()
    });
    let c = client(&sim);
    let e = c.sign_in(ALICE, ALICE_PW).unwrap_err();
    assert_eq!(e.status(), Status::Insecure, "{e}");
    let log = sim.log();
    assert!(log.iter().any(|e| e.pool == "foreign"));
    assert!(log
        .iter()
        .filter(|e| e.pool == "foreign")
        .all(|e| !e.authorization));
    assert_eq!(count(&sim, "POST", "token"), 1, "only the pool's own token");
}

// ----- 3. every loop paced and bounded ---------------------------------------------------------

/// Requests of every kind the client sent in the window.
fn requests_between(sim: &Sim, from_seq: u64) -> Vec<ucwa_sim::LogEntry> {
    sim.log().into_iter().filter(|e| e.seq > from_seq).collect()
}

fn last_seq(sim: &Sim) -> u64 {
    sim.log().last().map_or(0, |e| e.seq)
}

#[test]
fn every_pget_answering_application_not_found_creates_only_a_handful_of_applications() {
    let sim = start(fast_config());
    let c = available(&sim);
    let from = last_seq(&sim);
    sim.inject_fault(respond(
        "events",
        0,
        404,
        &[JSON],
        r#"{"code":"NotFound","subcode":"ApplicationNotFound","message":"gone"}"#,
    ));
    std::thread::sleep(Duration::from_secs(12));
    let window = requests_between(&sim, from);
    let created = window
        .iter()
        .filter(|e| e.route == "applications" && e.method == "POST")
        .count();
    assert!(
        (1..=4).contains(&created),
        "at most the recreation budget: {created}"
    );
    assert!(
        window.len() < 80,
        "the ladder is paced, not a storm: {} requests in 12 s",
        window.len()
    );
    let seen = drain_events(&c, Duration::from_millis(200));
    let lost = seen.iter().any(|e| {
        matches!(
            e,
            Event::ConnectionStateChanged {
                state: ConnectionState::Lost,
                ..
            }
        )
    });
    assert!(
        lost || created < 4,
        "a spent budget is reported as Lost: {seen:?}"
    );
    sim.clear_faults();
    drop(c);
    assert!(eventually(Duration::from_secs(5), || sim
        .user(ALICE)
        .unwrap()
        .applications
        .is_empty()));
}

#[test]
fn every_pget_answering_make_me_available_required_is_paced() {
    let sim = start(fast_config());
    let _c = available(&sim);
    let from = last_seq(&sim);
    sim.inject_fault(respond(
        "events",
        0,
        409,
        &[JSON],
        r#"{"code":"Conflict","subcode":"MakeMeAvailableRequired"}"#,
    ));
    std::thread::sleep(Duration::from_secs(10));
    let window = requests_between(&sim, from);
    let pgets = window.iter().filter(|e| e.route == "events").count();
    assert!(pgets <= 20, "{pgets} P-GETs in 10 s");
    assert!(window.len() <= 100, "{} requests in 10 s", window.len());
}

#[test]
fn instant_empty_pget_answers_and_self_resync_are_spaced_out() {
    for body in [
        r#"{"_links":{"next":{"href":"events?ack=7"}},"sender":[]}"#,
        r#"{"_links":{"resync":{"href":"events"}}}"#,
    ] {
        let sim = start(fast_config());
        let c = client(&sim);
        c.set_option("event_timeout_s", "4").unwrap();
        c.sign_in(ALICE, ALICE_PW).unwrap();
        c.make_me_available(Availability::Online).unwrap();
        let from = last_seq(&sim);
        sim.inject_fault(respond("events", 0, 200, &[JSON], body));
        // Release the P-GET parked before the fault, so the next ones meet it.
        sim.set_presence_elsewhere(ALICE, "Away", None);
        std::thread::sleep(Duration::from_secs(10));
        let pgets = requests_between(&sim, from)
            .iter()
            .filter(|e| e.route == "events")
            .count();
        // Unpaced, this is thousands per second; paced, a few free answers and then a
        // doubling spacing (0.5, 1, 2, 4 s: the requested timeout).
        assert!(pgets <= 15, "{body}: {pgets} P-GETs in 10 s");
        assert!(pgets >= 3, "{body}: the channel keeps trying: {pgets}");
    }
}

/// Every grant answers with a real (simulator-minted, hour-long) token whose `expires_in` claims
/// `expires_in` seconds.
fn hostile_lifetime(sim: &Sim, expires_in: &str) {
    let minted = sim.mint_token(ALICE, 3600.0).expect("minted");
    let body = format!(
        r#"{{"access_token":"{}","token_type":"Bearer","expires_in":{expires_in}}}"#,
        minted.access_token
    );
    sim.inject_fault(respond("token", 0, 200, &[JSON], &body));
}

#[test]
fn a_token_claiming_a_nanosecond_of_life_is_not_renewed_in_a_loop() {
    let sim = start(fast_config());
    hostile_lifetime(&sim, "1e-9");
    let c = available(&sim);
    c.set_availability(Availability::Busy).unwrap();
    std::thread::sleep(Duration::from_secs(8));
    let grants = count(&sim, "POST", "token");
    assert_eq!(grants, 1, "renewed at most at the floor rate (60 s)");
    assert_eq!(sim.user(ALICE).unwrap().availability, "Busy");
}

#[test]
fn a_run_of_short_lived_tokens_is_an_authentication_failure_with_a_clear_message() {
    let sim = start(fast_config());
    hostile_lifetime(&sim, "0.5");
    let c = client(&sim);
    c.set_option("min_token_lifetime_s", "1").unwrap();
    c.sign_in(ALICE, ALICE_PW).unwrap();
    c.make_me_available(Availability::Online).unwrap();
    let seen = wait_event(
        &c,
        Duration::from_secs(8),
        |e| matches!(e, Event::ConnectionStateChanged { state: ConnectionState::Lost, reason: Some(r) } if r.status() == Status::Authentication),
    );
    let reason = seen
        .iter()
        .find_map(|e| match e {
            Event::ConnectionStateChanged {
                state: ConnectionState::Lost,
                reason: Some(r),
            } => Some(r.to_string()),
            _ => None,
        })
        .expect("a Lost event with the reason");
    assert!(reason.contains("tokens in a row"), "{reason}");
    std::thread::sleep(Duration::from_secs(2));
    let grants = count(&sim, "POST", "token");
    assert!(
        grants <= 6,
        "renewals at the 1 s floor with backoff: {grants}"
    );
}

// ----- 4. secrets never leave in text ----------------------------------------------------------

const ODD_PASSWORD: &str = "p@ss w0rd/+&=ä";

fn odd_user_sim() -> Sim {
    start(SimConfig {
        users: vec![(ALICE.into(), ODD_PASSWORD.into())],
        ..fast_config()
    })
}

fn assert_no_password(text: &str) {
    let form: String = url::form_urlencoded::byte_serialize(ODD_PASSWORD.as_bytes()).collect();
    for needle in [ODD_PASSWORD, form.as_str(), "w0rd"] {
        assert!(!text.contains(needle), "{needle:?} leaked in {text}");
    }
}

#[test]
fn a_password_echoed_by_the_token_endpoint_is_redacted() {
    let sim = odd_user_sim();
    sim.inject_fault(fault("token", 1, FaultAction::EchoSecrets { status: 400 }));
    let c = client(&sim);
    let e = c.sign_in(ALICE, ODD_PASSWORD).unwrap_err();
    assert_eq!(e.status(), Status::Authentication);
    let text = error_text(&e);
    assert_no_password(&text);
    assert!(text.contains("[redacted]"), "{text}");
    assert_eq!(count(&sim, "POST", "token"), 1);
}

#[test]
fn a_token_echoed_in_a_ucwa_message_or_diagnostics_is_redacted_in_errors_and_events() {
    let sim = odd_user_sim();
    let c = client(&sim);
    c.sign_in(ALICE, ODD_PASSWORD).unwrap();
    c.make_me_available(Availability::Online).unwrap();
    // POST only: the client's background GET (following makeMeAvailable's bare presence event)
    // must not take the fault meant for set_availability.
    sim.inject_fault(Fault {
        method: Some("POST".into()),
        ..fault("presence", 1, FaultAction::EchoSecrets { status: 400 })
    });
    let e = c.set_availability(Availability::Busy).unwrap_err();
    assert_eq!(e.status(), Status::Server);
    let text = error_text(&e);
    assert!(!text.contains("cwt="), "the token leaked: {text}");
    assert!(text.contains("[redacted]"), "{text}");
    assert_no_password(&text);

    sim.inject_fault(fault("events", 1, FaultAction::EchoSecrets { status: 500 }));
    let seen = wait_event(&c, Duration::from_secs(10), |e| {
        matches!(
            e,
            Event::ConnectionStateChanged {
                reason: Some(_),
                ..
            }
        )
    });
    let reasons: Vec<String> = seen
        .iter()
        .filter_map(|e| match e {
            Event::ConnectionStateChanged {
                reason: Some(r), ..
            } => Some(error_text(r)),
            _ => None,
        })
        .collect();
    assert!(!reasons.is_empty(), "{seen:?}");
    for r in reasons {
        assert!(!r.contains("cwt="), "the token leaked in an event: {r}");
        assert!(r.contains("[redacted]"), "{r}");
    }
}

// ----- 5. no orphaned applications -------------------------------------------------------------

#[test]
fn three_hundred_sign_in_and_free_cycles_leave_no_application() {
    let sim = start(fast_config());
    for _ in 0..300 {
        let c = available(&sim);
        drop(c);
    }
    assert!(eventually(Duration::from_secs(10), || sim
        .user(ALICE)
        .unwrap()
        .applications
        .is_empty()));
    let created = count(&sim, "POST", "applications");
    assert_eq!(created, 300, "no application was recreated during free");
}

#[test]
fn three_hundred_sign_out_cycles_leave_no_application() {
    let sim = start(fast_config());
    let c = client(&sim);
    for _ in 0..300 {
        c.sign_in(ALICE, ALICE_PW).unwrap();
        c.make_me_available(Availability::Online).unwrap();
        c.sign_out().unwrap();
    }
    assert!(eventually(Duration::from_secs(10), || sim
        .user(ALICE)
        .unwrap()
        .applications
        .is_empty()));
    assert_eq!(count(&sim, "POST", "applications"), 300);
    assert_eq!(count(&sim, "DELETE", "application"), 300);
}

// ----- 6. ca_file read once, safely ------------------------------------------------------------

#[cfg(unix)]
#[test]
fn a_fifo_or_device_as_ca_file_is_refused_at_once_and_changes_nothing() {
    let dir = std::env::temp_dir().join(format!("ucwa-fifo-{}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    let made = std::process::Command::new("mkfifo").arg(&dir).status();
    let c = ucwa::Client::new("http://127.0.0.1:9/").unwrap();
    if made.is_ok_and(|s| s.success()) {
        let e = c.set_option("ca_file", dir.to_str().unwrap()).unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument);
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let _ = std::fs::remove_file(&dir);
    }
    let e = c.set_option("ca_file", "/dev/zero").unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
}

#[test]
fn the_ca_file_is_read_once_so_deleting_it_later_changes_nothing() {
    let (sim, ca) = tls_sim("ca-read-once");
    let c = client(&sim);
    c.set_option("ca_file", ca.to_str().unwrap()).unwrap();
    std::fs::remove_file(&ca).unwrap();
    c.sign_in(ALICE, ALICE_PW).unwrap();
    c.make_me_available(Availability::Busy).unwrap();
    assert_eq!(c.presence().unwrap().availability, Availability::Busy);
    // A large file is refused and the loaded bundle stays in use.
    std::fs::write(&ca, vec![b'A'; 2 * 1024 * 1024]).unwrap();
    let e = c.set_option("ca_file", ca.to_str().unwrap()).unwrap_err();
    assert!(e.to_string().contains("larger than"), "{e}");
    c.set_availability(Availability::Away).unwrap();
    assert_eq!(sim.user(ALICE).unwrap().availability, "Away");
    let _ = std::fs::remove_dir_all(ca.parent().unwrap());
}

// ----- 7. header-bound strings -----------------------------------------------------------------

#[test]
fn control_characters_in_header_bound_options_are_refused_and_change_nothing() {
    let sim = start(fast_config());
    let c = client(&sim);
    for (k, v) in [
        ("user_agent", "ok\r\nX-Evil: 1"),
        ("culture", "en-US\n"),
        ("endpoint_id", "id\u{7}"),
        ("allowed_hosts", "a.example,\r\nb"),
    ] {
        let e = c.set_option(k, v).unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument, "{k}");
    }
    c.sign_in(ALICE, ALICE_PW).unwrap();
    let apps = sim.user(ALICE).unwrap().applications;
    assert!(apps[0].user_agent.starts_with("ucwa/"), "{apps:?}");
}

#[test]
fn a_server_token_with_crlf_is_a_protocol_error_not_a_network_one() {
    let sim = start(fast_config());
    sim.inject_fault(respond(
        "token",
        1,
        200,
        &[JSON],
        r#"{"access_token":"abc\r\nX-Evil: 1","token_type":"Bearer","expires_in":3600}"#,
    ));
    let c = client(&sim);
    let e = c.sign_in(ALICE, ALICE_PW).unwrap_err();
    assert_eq!(e.status(), Status::Protocol, "{e}");
    let after: Vec<_> = sim
        .log()
        .into_iter()
        .filter(|e| e.route == "user")
        .collect();
    assert_eq!(after.len(), 1, "the bad token was never sent: {after:?}");
}

// ----- 8. event fan-out bounded ----------------------------------------------------------------

fn event_set(hrefs: impl Iterator<Item = String>) -> String {
    let events: Vec<String> = hrefs
        .map(|h| format!(r#"{{"link":{{"rel":"presence","href":"{h}"}},"type":"updated"}}"#))
        .collect();
    format!(
        r#"{{"_links":{{"next":{{"href":"events?ack=50"}}}},"sender":[{{"rel":"me","href":"me","events":[{}]}}]}}"#,
        events.join(",")
    )
}

#[test]
fn thousands_of_link_only_events_for_one_resource_cost_one_get() {
    let sim = start(fast_config());
    let c = available(&sim);
    let presence = sim
        .log()
        .iter()
        .find(|e| e.route == "presence")
        .map(|e| e.path.clone());
    let presence = presence.unwrap_or_else(|| {
        c.presence().unwrap();
        sim.log()
            .iter()
            .find(|e| e.route == "presence")
            .unwrap()
            .path
            .clone()
    });
    // Let the events that followed makeMeAvailable settle first.
    std::thread::sleep(Duration::from_millis(500));
    drain_events(&c, Duration::from_millis(100));
    let gets_before = count(&sim, "GET", "presence");
    sim.inject_fault(respond(
        "events",
        1,
        200,
        &[JSON],
        &event_set((0..3000).map(|_| presence.clone())),
    ));
    assert!(eventually(Duration::from_secs(5), || count(
        &sim, "GET", "presence"
    ) > gets_before));
    let seen = drain_events(&c, Duration::from_millis(500));
    assert_eq!(
        seen.iter()
            .filter(|e| matches!(e, Event::PresenceChanged(_)))
            .count(),
        1,
        "{seen:?}"
    );
    assert_eq!(count(&sim, "GET", "presence") - gets_before, 1);

    // Thousands of distinct resources: capped per set.
    let before = count(&sim, "GET", "presence") + count(&sim, "GET", "other");
    sim.inject_fault(respond(
        "events",
        1,
        200,
        &[JSON],
        &event_set((0..2000).map(|i| format!("{presence}?n={i}"))),
    ));
    std::thread::sleep(Duration::from_secs(3));
    let after = count(&sim, "GET", "presence") + count(&sim, "GET", "other");
    assert!(after - before <= 8, "{} follow-up GETs", after - before);
}

#[test]
fn thousands_of_presence_deleted_events_in_one_set_restore_availability_once() {
    let sim = start(fast_config());
    let c = available(&sim);
    std::thread::sleep(Duration::from_millis(500));
    drain_events(&c, Duration::from_millis(100));
    let from = last_seq(&sim);
    // Each under an href of its own, so only "once per set" holds them, not the target.
    let events: Vec<String> = (0..3000)
        .map(|i| {
            format!(
                r#"{{"link":{{"rel":"presence","href":"me/presence?n={i}"}},"type":"deleted"}}"#
            )
        })
        .collect();
    sim.inject_fault(respond(
        "events",
        1,
        200,
        &[JSON],
        &format!(
            r#"{{"_links":{{"next":{{"href":"events?ack=50"}}}},"sender":[{{"rel":"me","href":"me","events":[{}]}}]}}"#,
            events.join(",")
        ),
    ));
    // A restore reads the application back (and POSTs makeMeAvailable if it is not).
    let restores = || {
        requests_between(&sim, from)
            .iter()
            .filter(|e| e.route == "application" && e.method == "GET")
            .count()
    };
    assert!(eventually(Duration::from_secs(5), || restores() > 0));
    std::thread::sleep(Duration::from_secs(2));
    let window = requests_between(&sim, from);
    assert_eq!(restores(), 1, "one restore for the whole set");
    assert!(
        window.iter().filter(|e| e.route != "events").count() <= 4,
        "{window:?}"
    );
}

// ----- 9. parsing bounded: no hostile answer holds the engine ----------------------------------

const CAROL: &str = "carol@contoso.com";
const BOB: &str = "bob@contoso.com";

/// A `batch` answer built against a naive multipart reader: a 200 KB boundary (RFC 2046 allows
/// 70 characters) that a body just under the 4 MiB cap matches, but for its last character, at
/// every position.
fn hostile_batch() -> Fault {
    let boundary = format!("{}x", "-".repeat(200_000 - 1));
    fault(
        "batch",
        0,
        FaultAction::Respond {
            status: 200,
            headers: vec![(
                "Content-Type".into(),
                format!("multipart/batching; boundary={boundary}"),
            )],
            body: "-".repeat(4 * 1024 * 1024 - 4096),
        },
    )
}

/// The path of `user`'s application, as the simulator saw it in the event channel's P-GETs.
fn application_path(sim: &Sim, user: &str) -> String {
    let found = eventually(Duration::from_secs(5), || {
        sim.log()
            .iter()
            .any(|e| e.route == "events" && e.user.as_deref() == Some(user))
    });
    assert!(found, "{user}'s event channel runs");
    let log = sim.log();
    let pget = log
        .iter()
        .find(|e| e.route == "events" && e.user.as_deref() == Some(user))
        .unwrap();
    pget.path[..pget.path.find("/events").unwrap()].to_string()
}

/// One event set telling `user`'s client that `contacts`' presence changed, as bare links (what
/// real servers send): the client reads them together, through `batch`, on the engine.
fn contact_presence_events(app: &str, contacts: &[&str]) -> Fault {
    let events: Vec<String> = contacts
        .iter()
        .map(|c| {
            format!(
                r#"{{"link":{{"rel":"contactPresence","href":"{app}/people/{c}/presence"}},"type":"updated"}}"#
            )
        })
        .collect();
    let body = format!(
        r#"{{"_links":{{"next":{{"href":"{app}/events?ack=90"}}}},"sender":[{{"rel":"people","href":"{app}/people","events":[{}]}}]}}"#,
        events.join(",")
    );
    Fault {
        path_contains: Some(format!("{app}/events")),
        ..respond("events", 1, 200, &[JSON], &body)
    }
}

#[test]
fn hostile_batch_answers_to_two_users_leave_a_third_clients_keep_alive_on_time() {
    let sim = start(SimConfig {
        users: [
            (ALICE, ALICE_PW),
            (BOB, "bob-password"),
            (CAROL, "carol-password"),
        ]
        .iter()
        .map(|(u, p)| (u.to_string(), p.to_string()))
        .collect(),
        // Bob's availability decays and his application expires within seconds of a missed
        // keep-alive.
        inactive_s: 1.5,
        away_s: 1.5,
        app_expiry_s: 2.5,
        ..fast_config()
    });
    let bob = client(&sim);
    bob.set_option("keepalive_interval_s", "0.5").unwrap();
    bob.sign_in(BOB, "bob-password").unwrap();
    bob.make_me_available(Availability::Busy).unwrap();
    let bobs_app = sim.user(BOB).unwrap().applications[0].id.clone();
    // Two users of the same host, on the same pool, each watching the other two.
    let hostile: Vec<(ucwa::Client, [&str; 2], String)> = [
        (ALICE, ALICE_PW, [BOB, CAROL]),
        (CAROL, "carol-password", [ALICE, BOB]),
    ]
    .into_iter()
    .map(|(user, pw, watched)| {
        let c = client(&sim);
        c.set_option("timeout_ms", "2000").unwrap();
        c.sign_in(user, pw).unwrap();
        c.subscribe_presence(&watched).unwrap();
        (c, watched, application_path(&sim, user))
    })
    .collect();
    let batches_before = count(&sim, "POST", "batch");
    sim.inject_fault(hostile_batch());
    for (_, watched, app) in &hostile {
        sim.inject_fault(contact_presence_events(app, watched));
    }
    let calls: Vec<_> = hostile
        .into_iter()
        .map(|(c, watched, _)| {
            std::thread::spawn(move || {
                let started = std::time::Instant::now();
                let result = c.contacts_availability(&watched);
                (started.elapsed(), result, c)
            })
        })
        .collect();
    // Bob's keep-alive, sampled: his presence never decays, his application never expires,
    // and his activity reports and P-GETs never pause for long.
    let keep_alive = |sim: &Sim| {
        sim.log()
            .iter()
            .filter(|e| e.user.as_deref() == Some(BOB))
            .filter(|e| e.route == "reportMyActivity" || e.route == "events")
            .count()
    };
    let (mut seen, mut since, mut longest) =
        (keep_alive(&sim), std::time::Instant::now(), Duration::ZERO);
    let end = std::time::Instant::now() + Duration::from_secs(6);
    while std::time::Instant::now() < end {
        let user = sim.user(BOB).unwrap();
        assert_eq!(user.availability, "Busy", "bob's presence decayed");
        assert_eq!(user.applications.len(), 1);
        assert_eq!(
            user.applications[0].id, bobs_app,
            "bob's application expired"
        );
        let now = keep_alive(&sim);
        if now > seen {
            (seen, since) = (now, std::time::Instant::now());
        }
        longest = longest.max(since.elapsed());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        longest < Duration::from_secs(2),
        "bob's keep-alive paused for {longest:?}"
    );
    for call in calls {
        let (elapsed, result, _client) = call.join().unwrap();
        let e = result.unwrap_err();
        assert_eq!(e.status(), Status::Protocol, "{e}");
        assert!(e.to_string().contains("boundary"), "{e}");
        // Within the call's own bound: four times timeout_ms.
        assert!(
            elapsed < Duration::from_secs(8),
            "the hostile call took {elapsed:?}"
        );
    }
    // Both host calls and both event channels' follow-ups met the hostile answer.
    assert!(
        count(&sim, "POST", "batch") - batches_before >= 4,
        "{:?}",
        on_route(&sim.log(), "batch")
    );
}

// ----- 10. batch parts attributed only to their own contact ------------------------------------

const MALLORY: &str = "mallory@contoso.com";

/// A `batch` answer whose parts are 200s carrying `bodies`, once.
fn batch_answer(bodies: &[String]) -> Fault {
    let mut body = String::new();
    for b in bodies {
        body.push_str(&format!(
            "--p\r\nContent-Type: application/http; msgtype=response\r\n\r\n\
             HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{b}\r\n"
        ));
    }
    body.push_str("--p--\r\n");
    respond(
        "batch",
        1,
        200,
        &[("Content-Type", "multipart/batching; boundary=p")],
        &body,
    )
}

/// A contact resource for `who`, below the application at `app`, as the simulator writes one.
fn contact_resource(app: &str, who: &str) -> String {
    let link = |tail: &str| format!(r#"{{"href":"{app}/people/{who}{tail}"}}"#);
    format!(
        r#"{{"uri":"sip:{who}","_links":{{"self":{},"contactPresence":{},"contactNote":{},"contactLocation":{}}},"rel":"contact"}}"#,
        link(""),
        link("/presence"),
        link("/note"),
        link("/location")
    )
}

#[test]
fn a_batch_part_about_another_contact_is_not_attributed_nor_cached() {
    let sim = start(SimConfig {
        users: [(ALICE, ALICE_PW), (BOB, "b"), (CAROL, "c"), (MALLORY, "m")]
            .iter()
            .map(|(u, p)| (u.to_string(), p.to_string()))
            .collect(),
        ..fast_config()
    });
    sim.set_presence_elsewhere(BOB, "Busy", None);
    sim.set_presence_elsewhere(CAROL, "DoNotDisturb", None);
    sim.set_presence_elsewhere(MALLORY, "Away", None);
    let alice = signed_in(&sim);
    let app = application_path(&sim, ALICE);
    // The look-up of mallory answers with carol's contact resource.
    sim.inject_fault(batch_answer(&[
        contact_resource(&app, CAROL),
        contact_resource(&app, BOB),
    ]));
    let got = alice.contacts_availability(&[MALLORY, BOB]).unwrap();
    assert_eq!(got, [Availability::Unknown, Availability::Busy]);
    assert_eq!(alice.cached_contacts(), 1, "only bob's links are kept");
    // Mallory is looked up again, at her own resource, and read where it says.
    let before = last_seq(&sim);
    assert_eq!(
        alice.contact_presence(MALLORY).unwrap().availability,
        Availability::Away
    );
    let paths: Vec<String> = requests_between(&sim, before)
        .into_iter()
        .filter(|e| e.user.as_deref() == Some(ALICE) && e.route != "events")
        .map(|e| e.path)
        .collect();
    assert_eq!(
        paths,
        [
            format!("{app}/people/{MALLORY}"),
            format!("{app}/people/{MALLORY}/presence")
        ]
    );

    // A presence read of bob answered with carol's presence is not bob's either.
    sim.inject_fault(batch_answer(&[format!(
        r#"{{"availability":"DoNotDisturb","_links":{{"self":{{"href":"{app}/people/{CAROL}/presence"}}}},"rel":"contactPresence"}}"#
    )]));
    assert_eq!(
        alice.contacts_availability(&[BOB]).unwrap(),
        [Availability::Unknown]
    );
    // Without the fault, the same read is bob's.
    assert_eq!(
        alice.contacts_availability(&[BOB]).unwrap(),
        [Availability::Busy]
    );
}

/// `n` contact events about Bob's presence, each resource `twice` in a row, resource `k` at
/// `<bob's presence>?n=k`.
fn contact_events(presence: &str, n: usize, resources: usize) -> String {
    let events: Vec<String> = (0..n)
        .map(|i| {
            let k = i * resources / n;
            format!(r#"{{"link":{{"rel":"contactPresence","href":"{presence}?n={k}"}},"type":"updated"}}"#)
        })
        .collect();
    format!(
        r#"{{"_links":{{"next":{{"href":"events?ack=60"}}}},"sender":[{{"rel":"people","href":"people","events":[{}]}}]}}"#,
        events.join(",")
    )
}

/// 80,000 contact events of a watched contact: one read per resource, the reads capped per
/// set, in `batch`es of the part limit; and the work linear in the events, so the reads go
/// out while the answer is fresh (a quadratic de-duplication spent 65 s of CPU on 40,000
/// resources in a debug build, 13 s in a release one).
#[test]
fn eighty_thousand_contact_events_cost_one_read_per_resource_in_linear_work() {
    const BOB: &str = "bob@contoso.com";
    // MAX_CONTACT_FOLLOW_UPS: four batches of follow-up reads per event set.
    const CAPPED: usize = 4 * ucwa::MAX_BATCH_PARTS;
    let mut config = fast_config();
    config.users.push((BOB.to_owned(), "pw".to_owned()));
    let sim = start(config);
    let c = signed_in(&sim);
    c.set_option("max_body_bytes", &(64 * 1024 * 1024).to_string())
        .unwrap();
    c.subscribe_presence(&[BOB]).unwrap();
    sim.set_presence_elsewhere(BOB, "Busy", None);
    wait_event(&c, Duration::from_secs(10), |e| e.contact().is_some());
    let presence = sim
        .log()
        .into_iter()
        .find(|e| e.method == "GET" && e.path.ends_with("/people/bob@contoso.com/presence"))
        .expect("Bob's change was read")
        .path;
    let single_reads = || {
        sim.log()
            .iter()
            .filter(|e| e.method == "GET" && e.path.contains(&presence))
            .count()
    };
    let bobs = |seen: &[Event]| {
        seen.iter()
            .filter(|e| e.contact() == Some("sip:bob@contoso.com"))
            .count()
    };
    // 50 resources, each 1,600 times: 50 reads, in one batch.
    // 40,000 resources, each twice: the first CAPPED, in four batches.
    for (resources, reads) in [(50, 50), (40_000, CAPPED)] {
        std::thread::sleep(Duration::from_millis(300));
        drain_events(&c, Duration::from_millis(100));
        let batches = count(&sim, "POST", "batch");
        let gets = single_reads();
        sim.inject_fault(respond(
            "events",
            1,
            200,
            &[JSON],
            &contact_events(&presence, 80_000, resources),
        ));
        let want = reads.div_ceil(ucwa::MAX_BATCH_PARTS);
        assert!(
            eventually(Duration::from_secs(20), || count(&sim, "POST", "batch")
                >= batches + want),
            "{resources} resources: the follow-up reads went out while the answer was fresh"
        );
        let seen = drain_events(&c, Duration::from_secs(2));
        assert_eq!(count(&sim, "POST", "batch") - batches, want, "{resources}");
        assert_eq!(single_reads(), gets, "{resources}: no single reads");
        assert_eq!(
            bobs(&seen),
            reads,
            "{resources}: one event per resource read"
        );
    }
}
