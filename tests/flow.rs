//! Sign-in and presence through the Rust API against ucwa-sim: the whole flow, the topology
//! variants (layouts, redirects, pools, foreign origins), and every error the host can meet.
//! Each test asserts on what the simulator saw as well as on what the client returned.

mod common;

use std::time::Duration;

use common::*;
use ucwa::{Availability, Client, Event, Status};
use ucwa_sim::{Fault, FaultAction, Layout, SimConfig};

#[test]
fn full_flow_takes_eight_requests_then_one_per_change() {
    let sim = start(fast_config());
    let c = client(&sim);
    c.sign_in(ALICE, ALICE_PW).unwrap();
    c.make_me_available(Availability::Unspecified).unwrap();
    c.set_availability(Availability::Busy).unwrap();

    let log = foreground(&sim.log());
    let routes: Vec<(&str, &str, u16)> = log
        .iter()
        .map(|e| (e.method.as_str(), e.route.as_str(), e.status))
        .collect();
    assert_eq!(
        routes,
        [
            ("GET", "discovery", 200),
            ("GET", "user", 401),
            ("POST", "token", 200),
            ("GET", "user", 200),
            ("POST", "applications", 201),
            ("POST", "makeMeAvailable", 204),
            ("GET", "application", 200),
            ("POST", "presence", 204),
        ],
        "cold start to the first presence change is the protocol minimum"
    );
    assert!(log[1..]
        .iter()
        .filter(|e| e.route != "token" && e.seq > log[2].seq)
        .all(|e| e.authorization));
    assert!(!log[0].authorization && !log[1].authorization);
    assert!(log[7].body.as_deref().unwrap().contains("\"Busy\""));

    sim.clear_log();
    c.set_availability(Availability::DoNotDisturb).unwrap();
    let later = foreground(&sim.log());
    assert_eq!(
        later.len(),
        1,
        "a later presence change is one request: {later:?}"
    );
    assert_eq!(later[0].route, "presence");

    let p = c.presence().unwrap();
    assert_eq!(p.availability, Availability::DoNotDisturb);
    let user = sim.user(ALICE).unwrap();
    assert_eq!(user.availability, "DoNotDisturb");

    c.sign_out().unwrap();
    let log = sim.log();
    let delete = log
        .iter()
        .rev()
        .find(|e| e.method == "DELETE")
        .expect("a DELETE");
    assert_eq!((delete.route.as_str(), delete.status), ("application", 204));
    assert!(sim.user(ALICE).unwrap().applications.is_empty());
    assert_eq!(c.presence().unwrap_err().status(), Status::InvalidState);
}

#[test]
fn note_and_location_round_trip_utf8_and_clear() {
    let sim = start(fast_config());
    let c = available(&sim);
    let note = "Heads down — Zürich 会議中 🚀";
    c.set_note(note).unwrap();
    c.set_location("Bâtiment 4, étage 2").unwrap();
    assert_eq!(c.note().unwrap().as_deref(), Some(note));
    assert_eq!(
        c.location().unwrap().as_deref(),
        Some("Bâtiment 4, étage 2")
    );
    let user = sim.user(ALICE).unwrap();
    assert_eq!(user.note.as_deref(), Some(note));
    assert_eq!(user.location.as_deref(), Some("Bâtiment 4, étage 2"));

    c.set_note("").unwrap();
    c.set_location("").unwrap();
    assert_eq!(c.note().unwrap(), None);
    assert_eq!(c.location().unwrap(), None);
    let user = sim.user(ALICE).unwrap();
    assert!(user.note.as_deref().unwrap_or("").is_empty());
}

#[test]
fn reset_and_report_activity_reach_the_server() {
    let sim = start(fast_config());
    let c = available(&sim);
    c.set_availability(Availability::Away).unwrap();
    sim.clear_log();
    c.reset_availability().unwrap();
    c.report_activity().unwrap();
    let log = foreground(&sim.log());
    assert_eq!(on_route(&log, "presence").len(), 1);
    assert!(on_route(&log, "presence")[0]
        .body
        .as_deref()
        .unwrap_or("")
        .is_empty());
    assert_eq!(on_route(&log, "reportMyActivity")[0].status, 204);
    assert_eq!(c.presence().unwrap().availability, Availability::Online);
}

#[test]
fn alternative_path_layout_works_by_following_links() {
    let sim = start(SimConfig {
        layout: Layout::Alt,
        ..fast_config()
    });
    let c = available(&sim);
    c.set_availability(Availability::BeRightBack).unwrap();
    c.set_note("alt").unwrap();
    c.report_activity().unwrap();
    assert_eq!(
        c.presence().unwrap().availability,
        Availability::BeRightBack
    );
    let log = sim.log();
    assert!(
        log.iter().all(|e| e.status != 404),
        "no built URL missed: {log:?}"
    );
    assert!(!log.iter().any(|e| e.path.contains("/ucwa/oauth/v1/")));
    c.sign_out().unwrap();
}

#[test]
fn discovery_redirects_are_followed() {
    let sim = start(SimConfig {
        discovery_redirects: 2,
        ..fast_config()
    });
    let c = available(&sim);
    c.set_availability(Availability::Busy).unwrap();
    let discovery = on_route(&sim.log(), "discovery").len();
    assert_eq!(discovery, 3, "two redirect hops, then the root");
}

#[test]
fn user_homed_on_another_pool_gets_that_pools_own_token() {
    let sim = start(SimConfig {
        pool2_users: vec![ALICE.into()],
        ..fast_config()
    });
    let c = available(&sim);
    c.set_availability(Availability::Busy).unwrap();
    let log = sim.log();
    let tokens: Vec<&str> = on_route(&log, "token")
        .iter()
        .map(|e| e.pool.as_str())
        .collect();
    assert_eq!(tokens, ["pool1", "pool2"], "one token per pool");
    let first_pool2_auth = log
        .iter()
        .find(|e| e.pool == "pool2" && e.authorization)
        .unwrap()
        .seq;
    let pool2_token = log
        .iter()
        .find(|e| e.pool == "pool2" && e.route == "token")
        .unwrap()
        .seq;
    assert!(
        first_pool2_auth > pool2_token,
        "no pool 1 token was sent to pool 2"
    );
    assert!(log
        .iter()
        .filter(|e| e.pool == "pool2")
        .all(|e| e.status != 500));
    assert_eq!(sim.user(ALICE).unwrap().applications[0].pool, "pool2");
}

#[test]
fn applications_on_another_pool_trigger_that_pools_challenge() {
    let sim = start(SimConfig {
        pool2_apps_users: vec![ALICE.into()],
        ..fast_config()
    });
    let c = available(&sim);
    c.set_note("across pools").unwrap();
    let log = sim.log();
    let first_pool2 = log.iter().find(|e| e.pool == "pool2").unwrap();
    assert!(
        !first_pool2.authorization,
        "the pool 1 token never goes to pool 2"
    );
    assert_eq!(first_pool2.status, 401);
    assert_eq!(on_route(&log, "token").len(), 2);
}

#[test]
fn link_to_a_foreign_origin_is_refused_and_gets_no_token() {
    let sim = start(SimConfig {
        foreign_apps_users: vec![ALICE.into()],
        ..fast_config()
    });
    if sim.foreign_url().is_none() {
        eprintln!("127.0.0.2 cannot be bound here; the foreign listener is off");
        return;
    }
    let c = client(&sim);
    let e = c.sign_in(ALICE, ALICE_PW).unwrap_err();
    assert_eq!(e.status(), Status::Insecure, "{e}");
    let log = sim.log();
    let foreign: Vec<_> = log.iter().filter(|e| e.pool == "foreign").collect();
    assert!(!foreign.is_empty(), "the client did try the link");
    assert!(
        foreign.iter().all(|e| !e.authorization),
        "no Authorization to a foreign origin"
    );
    assert!(
        foreign.iter().all(|e| e.route != "token"),
        "no password to a foreign origin"
    );
}

#[test]
fn wrong_password_is_an_authentication_error_that_never_shows_the_password() {
    let sim = start(fast_config());
    let c = client(&sim);
    let secret = "Sup3r-Secret-Guess";
    let e = c.sign_in(ALICE, secret).unwrap_err();
    assert_eq!(e.status(), Status::Authentication);
    assert!(!e.to_string().contains(secret), "{e}");
    assert!(!format!("{e:?}").contains(secret));
    let log = sim.log();
    assert_eq!(on_route(&log, "token")[0].status, 400);
    assert!(log
        .iter()
        .all(|e| e.body.as_deref().is_none_or(|b| !b.contains(secret))));
    assert!(on_route(&log, "applications").is_empty());
    // the client can try again with the right password
    c.sign_in(ALICE, ALICE_PW).unwrap();
}

#[test]
fn expired_token_mid_session_is_renewed_transparently() {
    let sim = start(fast_config());
    let c = available(&sim);
    sim.expire_tokens(None);
    sim.clear_log();
    c.set_availability(Availability::Busy).unwrap();
    let log = foreground(&sim.log());
    let seq: Vec<(&str, u16)> = log.iter().map(|e| (e.route.as_str(), e.status)).collect();
    assert!(seq.contains(&("token", 200)), "{seq:?}");
    assert_eq!(seq.last(), Some(&("presence", 204)));
    assert_eq!(sim.user(ALICE).unwrap().availability, "Busy");
}

#[test]
fn application_expired_mid_session_is_recreated_and_the_call_succeeds() {
    let sim = start(SimConfig {
        expired_status: ucwa_sim::ExpiredStatus::NotFound,
        ..fast_config()
    });
    let c = available(&sim);
    c.set_note("keep me").unwrap();
    let old = sim.user(ALICE).unwrap().applications[0].id.clone();
    sim.delete_applications(ALICE);
    c.set_availability(Availability::Busy).unwrap();
    let user = sim.user(ALICE).unwrap();
    assert_eq!(user.applications.len(), 1);
    assert_ne!(user.applications[0].id, old);
    assert!(user.applications[0].made_available);
    assert_eq!(user.availability, "Busy");
    assert_eq!(user.note.as_deref(), Some("keep me"));
    wait_event(&c, Duration::from_secs(5), |e| {
        matches!(e, Event::ApplicationRecreated)
    });
}

#[test]
fn gone_410_ends_the_session_and_reports_the_subcode() {
    let sim = start(fast_config());
    let c = available(&sim);
    sim.inject_fault(respond(
        "presence",
        1,
        410,
        &[("Content-Type", "application/json")],
        r#"{"code":"Gone","subcode":"TooManyApplications","message":"too many"}"#,
    ));
    let e = c.set_availability(Availability::Busy).unwrap_err();
    assert_eq!(e.status(), Status::Server);
    assert_eq!(e.http_status(), Some(410));
    assert_eq!(e.subcode(), Some("TooManyApplications"));
    let events = wait_event(&c, Duration::from_secs(5), |e| {
        matches!(e, Event::SignedOut { .. })
    });
    match events.last() {
        Some(Event::SignedOut { reason: Some(r) }) => {
            assert_eq!(r.subcode(), Some("TooManyApplications"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.presence().unwrap_err().status(), Status::InvalidState);
}

#[test]
fn service_unavailable_with_retry_after_is_retried() {
    let sim = start(fast_config());
    let c = available(&sim);
    sim.clear_log();
    sim.inject_fault(respond("presence", 1, 503, &[("Retry-After", "1")], ""));
    let t = std::time::Instant::now();
    c.set_availability(Availability::Busy).unwrap();
    assert!(t.elapsed() >= Duration::from_millis(900), "waited as asked");
    let presence: Vec<u16> = on_route(&foreground(&sim.log()), "presence")
        .iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(presence, [503, 204]);
}

#[test]
fn retry_after_is_bounded() {
    let sim = start(fast_config());
    let c = available(&sim);
    c.set_option("retry_after_max_s", "0").unwrap();
    sim.inject_fault(Fault {
        count: 0,
        ..respond("presence", 1, 429, &[("Retry-After", "3600")], "")
    });
    let e = c.set_availability(Availability::Busy).unwrap_err();
    assert_eq!(e.http_status(), Some(429));
    assert_eq!(
        on_route(&foreground(&sim.log()), "presence").len(),
        3,
        "two bounded retries, then the error"
    );
}

#[test]
fn html_500_is_a_server_error_without_a_ucwa_code() {
    let sim = start(fast_config());
    let c = available(&sim);
    sim.inject_fault(respond(
        "presence",
        1,
        500,
        &[("Content-Type", "text/html")],
        "<html><body>Server Error</body></html>",
    ));
    let e = c.set_availability(Availability::Busy).unwrap_err();
    assert_eq!(e.status(), Status::Server);
    assert_eq!(e.http_status(), Some(500));
    assert_eq!(e.code(), None);
}

#[test]
fn malformed_json_is_a_protocol_error() {
    let sim = start(fast_config());
    let c = available(&sim);
    sim.inject_fault(respond(
        "presence",
        1,
        200,
        &[("Content-Type", "application/json")],
        "{\"availability\": Onl",
    ));
    let e = c.presence().unwrap_err();
    assert_eq!(e.status(), Status::Protocol, "{e}");
}

#[test]
fn a_slow_server_times_out_within_timeout_ms() {
    let sim = start(fast_config());
    let c = available(&sim);
    c.set_option("timeout_ms", "300").unwrap();
    sim.inject_fault(Fault {
        route: Some("presence".into()),
        path_contains: None,
        method: Some("GET".into()),
        count: 1,
        action: FaultAction::Delay { ms: 3000 },
    });
    let t = std::time::Instant::now();
    let e = c.presence().unwrap_err();
    assert_eq!(e.status(), Status::Timeout, "{e}");
    assert!(t.elapsed() < Duration::from_millis(2500));
}

#[test]
fn a_closed_connection_is_a_network_error() {
    let sim = start(fast_config());
    let c = available(&sim);
    sim.inject_fault(Fault {
        route: Some("note".into()),
        path_contains: None,
        method: None,
        count: 0,
        action: FaultAction::Close,
    });
    let e = c.note().unwrap_err();
    assert_eq!(e.status(), Status::Network, "{e}");
}

#[test]
fn conflict_is_exposed_with_code_and_subcode() {
    let sim = start(fast_config());
    let c = available(&sim);
    sim.inject_fault(Fault {
        // POST only: the client's background GET of the note (following the bare `added`
        // event) must not take the fault meant for set_note.
        method: Some("POST".into()),
        ..respond(
            "note",
            1,
            409,
            &[
                ("Content-Type", "application/json"),
                ("X-Ms-diagnostics", "1000;reason=\"test\""),
            ],
            r#"{"code":"Conflict","subcode":"TooManyGroups","message":"Too many groups."}"#,
        )
    });
    let e = c.set_note("x").unwrap_err();
    assert_eq!(
        (e.status(), e.http_status(), e.code(), e.subcode()),
        (
            Status::Server,
            Some(409),
            Some("Conflict"),
            Some("TooManyGroups")
        )
    );
    let text = e.to_string();
    assert!(
        text.starts_with("note: server answered 409 Conflict/TooManyGroups: Too many groups."),
        "{text}"
    );
    assert!(text.contains("X-Ms-diagnostics"));
}

#[test]
fn presence_before_make_me_available_is_invalid_state_and_sends_nothing() {
    let sim = start(fast_config());
    let c = signed_in(&sim);
    sim.clear_log();
    for e in [
        c.set_availability(Availability::Busy).unwrap_err(),
        c.presence().unwrap_err(),
        c.set_note("x").unwrap_err(),
        c.location().unwrap_err(),
        c.report_activity().unwrap_err(),
    ] {
        assert_eq!(e.status(), Status::InvalidState, "{e}");
    }
    assert!(foreground(&sim.log()).is_empty(), "nothing was sent");
}

#[test]
fn read_only_and_out_of_range_availabilities_are_refused_without_a_request() {
    let sim = start(fast_config());
    let c = available(&sim);
    sim.clear_log();
    for a in [
        Availability::IdleOnline,
        Availability::IdleBusy,
        Availability::Offline,
        Availability::Unknown,
        Availability::Unspecified,
    ] {
        assert_eq!(
            c.set_availability(a).unwrap_err().status(),
            Status::InvalidArgument
        );
    }
    for raw in [0u32, 7, 10, 11, 0xFFFF_FFFF] {
        let mut err = std::ptr::null_mut();
        let client_handle = {
            let mut h = std::ptr::null_mut();
            assert_eq!(
                ucwa::ffi::ucwa_client_new(
                    c"http://127.0.0.1:9/".as_ptr(),
                    &mut h,
                    std::ptr::null_mut()
                ),
                ucwa::ffi::ucwa_status::UCWA_OK
            );
            h
        };
        let s = ucwa::ffi::ucwa_set_availability(client_handle, raw, &mut err);
        assert_eq!(
            s,
            ucwa::ffi::ucwa_status::UCWA_ERROR_INVALID_ARGUMENT,
            "{raw}"
        );
        assert_eq!(ucwa::ffi::ucwa_error_status(err), 1);
        ucwa::ffi::ucwa_error_free(err);
        ucwa::ffi::ucwa_client_free(client_handle);
    }
    assert!(foreground(&sim.log()).is_empty());
}

#[test]
fn plain_http_to_a_non_loopback_host_is_insecure() {
    let e = Client::new("http://lyncdiscover.contoso.com/").unwrap_err();
    assert_eq!(e.status(), Status::Insecure);
    assert_eq!(
        Client::new("").unwrap_err().status(),
        Status::InvalidArgument
    );
    assert!(Client::new("contoso.com").is_ok());
}

#[test]
fn sign_in_twice_is_invalid_state_and_sign_in_again_after_sign_out_works() {
    let sim = start(fast_config());
    let c = signed_in(&sim);
    assert_eq!(
        c.sign_in(ALICE, ALICE_PW).unwrap_err().status(),
        Status::InvalidState
    );
    c.sign_out().unwrap();
    assert_eq!(c.sign_out().unwrap_err().status(), Status::InvalidState);
    c.sign_in(ALICE, ALICE_PW).unwrap();
    c.make_me_available(Availability::Busy).unwrap();
    assert_eq!(c.presence().unwrap().availability, Availability::Busy);
    let mma = on_route(&sim.log(), "makeMeAvailable")[0]
        .body
        .clone()
        .unwrap();
    assert!(
        mma.contains("\"signInAs\":\"Busy\"") && mma.contains("Messaging"),
        "{mma}"
    );
}

#[test]
fn https_with_the_simulators_ca_is_trusted_and_without_it_is_a_tls_error() {
    let (sim, ca) = tls_sim("ca-trusted");
    assert!(sim.root_url().starts_with("https://"));
    let untrusting = Client::new(&sim.root_url()).unwrap();
    let e = untrusting.sign_in(ALICE, ALICE_PW).unwrap_err();
    assert_eq!(e.status(), Status::Tls, "{e}");

    let c = client(&sim);
    c.set_option("ca_file", ca.to_str().unwrap()).unwrap();
    c.sign_in(ALICE, ALICE_PW).unwrap();
    c.make_me_available(Availability::Online).unwrap();
    assert_eq!(c.presence().unwrap().availability, Availability::Online);
}

#[test]
fn concurrent_calls_on_one_client_all_succeed() {
    let sim = start(fast_config());
    let c = available(&sim);
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let c = c.clone();
            std::thread::spawn(move || {
                for _ in 0..5 {
                    if i % 2 == 0 {
                        c.set_availability(Availability::Busy).unwrap();
                    } else {
                        c.presence().unwrap();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let log = sim.log();
    let presence = on_route(&log, "presence");
    // Busy set 20 times is one change of the presence the library keeps: one POST. 20 host
    // GETs plus the client's GETs following bare `updated` events.
    assert_eq!(presence.iter().filter(|e| e.method == "POST").count(), 1);
    assert!(presence.iter().filter(|e| e.method == "GET").count() >= 20);
    assert!(presence.iter().all(|e| e.status / 100 == 2), "{presence:?}");
}

#[test]
fn a_call_after_the_server_dropped_its_kept_alive_connections_succeeds() {
    let sim = start(fast_config());
    let addr = sim.addr();
    let c = client(&sim);
    c.set_option("event_channel", "0").unwrap();
    c.set_option("keepalive_interval_s", "0").unwrap();
    c.sign_in(ALICE, ALICE_PW).unwrap();
    c.make_me_available(Availability::Busy).unwrap();
    c.set_note("before").unwrap();
    // A restart closes every kept-alive connection (and forgets tokens and applications).
    sim.stop();
    let sim = start(SimConfig {
        listen: addr,
        ..fast_config()
    });
    c.set_note("after").unwrap();
    let user = sim.user(ALICE).unwrap();
    assert_eq!(user.note.as_deref(), Some("after"));
    assert_eq!(user.availability, "Busy");
}
