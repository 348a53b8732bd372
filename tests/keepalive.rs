//! Keeping presence true: with accelerated simulator timers, the supervisor must hold the host's
//! availability through inactivity, application expiry, server-side deletion, token expiry,
//! replaced P-GETs, stale acks and a restarted server — with no host call — and report each
//! step as an event.

mod common;

use std::time::{Duration, Instant};

use common::*;
use ucwa::{Availability, ConnectionState, Event, Status};
use ucwa_sim::{Fault, FaultAction, Sim, SimConfig};

/// Timers several times faster than the keep-alive can afford to miss.
fn accelerated() -> SimConfig {
    SimConfig {
        inactive_s: 1.5,
        away_s: 1.5,
        app_expiry_s: 2.5,
        ..fast_config()
    }
}

fn kept_alive(sim: &Sim, availability: Availability) -> ucwa::Client {
    let c = client(sim);
    c.set_option("keepalive_interval_s", "0.5").unwrap();
    c.sign_in(ALICE, ALICE_PW).unwrap();
    c.make_me_available(availability).unwrap();
    c
}

#[test]
fn presence_stays_busy_across_many_inactivity_and_expiry_periods_without_host_calls() {
    let sim = start(accelerated());
    let c = kept_alive(&sim, Availability::Busy);
    let app_id = sim.user(ALICE).unwrap().applications[0].id.clone();
    let end = Instant::now() + Duration::from_secs(10);
    let mut samples = 0;
    while Instant::now() < end {
        let user = sim.user(ALICE).unwrap();
        assert_eq!(user.availability, "Busy", "decayed after {samples} samples");
        assert_eq!(user.applications.len(), 1);
        assert_eq!(
            user.applications[0].id, app_id,
            "the application was never lost"
        );
        assert_eq!(user.applications[0].availability.as_deref(), Some("Busy"));
        samples += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    let app = &sim.user(ALICE).unwrap().applications[0];
    assert!(
        app.activity_reports >= 10,
        "activity was reported on the timer: {}",
        app.activity_reports
    );
    assert!(
        on_route(&sim.log(), "events").len() >= 5,
        "the event channel kept cycling"
    );
    drop(c);
}

#[test]
fn without_keepalive_the_simulator_does_decay_presence() {
    // The control experiment for the test above: the simulator's inactivity model is real.
    let sim = start(accelerated());
    let c = client(&sim);
    c.set_option("keepalive_interval_s", "0").unwrap();
    c.set_option("event_channel", "0").unwrap();
    c.sign_in(ALICE, ALICE_PW).unwrap();
    c.make_me_available(Availability::Online).unwrap();
    assert!(eventually(Duration::from_secs(6), || {
        sim.user(ALICE)
            .map(|u| u.availability != "Online")
            .unwrap_or(true)
    }));
}

#[test]
fn application_deleted_server_side_is_recreated_with_the_desired_state() {
    let sim = start(accelerated());
    let c = kept_alive(&sim, Availability::DoNotDisturb);
    c.set_note("in the zone").unwrap();
    c.set_location("Lab 3").unwrap();
    let old = sim.user(ALICE).unwrap().applications[0].id.clone();
    sim.delete_applications(ALICE);
    let events = wait_event(&c, Duration::from_secs(8), |e| {
        matches!(e, Event::ApplicationRecreated)
    });
    let recovering = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::ConnectionStateChanged {
                    state: ConnectionState::Recovering,
                    reason: Some(r),
                } if r.subcode() == Some("ApplicationNotFound")
            )
        })
        .count();
    assert_eq!(
        recovering, 1,
        "one Recovering with the 404 as reason: {events:?}"
    );
    assert!(
        eventually(Duration::from_secs(5), || {
            let u = sim.user(ALICE).unwrap();
            u.applications.len() == 1
                && u.applications[0].id != old
                && u.applications[0].made_available
                && u.availability == "DoNotDisturb"
                && u.note.as_deref() == Some("in the zone")
                && u.location.as_deref() == Some("Lab 3")
        }),
        "{:?}",
        sim.user(ALICE)
    );
}

#[test]
fn token_is_renewed_before_it_expires() {
    let sim = start(SimConfig {
        token_lifetime_s: 3.0,
        ..accelerated()
    });
    let c = client(&sim);
    // The floor under token lifetimes (60 s by default) would otherwise plan renewal by it.
    c.set_option("min_token_lifetime_s", "1").unwrap();
    c.set_option("keepalive_interval_s", "0.5").unwrap();
    c.sign_in(ALICE, ALICE_PW).unwrap();
    c.make_me_available(Availability::Online).unwrap();
    std::thread::sleep(Duration::from_secs(8));
    let log = sim.log();
    let tokens = on_route(&log, "token");
    assert!(tokens.len() >= 3, "renewed repeatedly: {}", tokens.len());
    let after_sign_in = log
        .iter()
        .filter(|e| e.status == 401 && e.seq > tokens[0].seq)
        .count();
    assert_eq!(after_sign_in, 0, "no request ever met an expired token");
    assert_eq!(sim.user(ALICE).unwrap().availability, "Online");
}

#[test]
fn restarted_simulator_on_the_same_port_is_reconnected_and_state_reapplied() {
    let sim = start(accelerated());
    let addr = sim.addr();
    let c = kept_alive(&sim, Availability::Busy);
    c.set_note("survives restarts").unwrap();
    sim.stop();
    std::thread::sleep(Duration::from_millis(1500));
    let sim = start(SimConfig {
        listen: addr,
        ..accelerated()
    });
    assert!(
        eventually(Duration::from_secs(20), || {
            sim.user(ALICE).is_some_and(|u| {
                u.applications.iter().any(|a| a.made_available)
                    && u.availability == "Busy"
                    && u.note.as_deref() == Some("survives restarts")
            })
        }),
        "{:?}",
        sim.user(ALICE)
    );
    let events = wait_event(&c, Duration::from_secs(5), |e| {
        matches!(
            e,
            Event::ConnectionStateChanged {
                state: ConnectionState::Recovered,
                ..
            }
        )
    });
    assert!(events.iter().any(|e| matches!(
        e,
        Event::ConnectionStateChanged {
            state: ConnectionState::Recovering,
            ..
        }
    )));
    c.set_availability(Availability::Away).unwrap();
    assert_eq!(sim.user(ALICE).unwrap().availability, "Away");
}

#[test]
fn replaced_pget_is_taken_back_and_events_keep_flowing() {
    let sim = start(accelerated());
    let c = kept_alive(&sim, Availability::Online);
    sim.inject_fault(Fault {
        route: Some("events".into()),
        path_contains: None,
        method: None,
        count: 1,
        action: FaultAction::Respond {
            status: 409,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: r#"{"code":"Conflict","subcode":"PGetReplaced"}"#.into(),
        },
    });
    std::thread::sleep(Duration::from_millis(1500));
    sim.set_presence_elsewhere(ALICE, "Away", Some("in-a-meeting"));
    wait_event(
        &c,
        Duration::from_secs(6),
        |e| matches!(e, Event::PresenceChanged(p) if p.availability == Availability::Away && p.activity.as_deref() == Some("in-a-meeting")),
    );
    assert!(sim
        .log()
        .iter()
        .any(|e| e.route == "events" && e.status == 409));
}

#[test]
fn stale_ack_resync_is_followed() {
    let sim = start(accelerated());
    let c = kept_alive(&sim, Availability::Online);
    // The first P-GET is logged when it is answered (by the makeMeAvailable events).
    assert!(eventually(Duration::from_secs(5), || sim
        .log()
        .iter()
        .any(|e| e.route == "events")));
    let events_path = sim
        .log()
        .iter()
        .find(|e| e.route == "events")
        .unwrap()
        .path
        .clone();
    let base = events_path.split('?').next().unwrap().to_string();
    sim.inject_fault(Fault {
        route: Some("events".into()),
        path_contains: None,
        method: None,
        count: 1,
        action: FaultAction::Respond {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: format!(r#"{{"_links":{{"resync":{{"href":"{base}?ack=1"}}}}}}"#),
        },
    });
    std::thread::sleep(Duration::from_millis(1500));
    sim.set_presence_elsewhere(ALICE, "BeRightBack", None);
    wait_event(
        &c,
        Duration::from_secs(6),
        |e| matches!(e, Event::PresenceChanged(p) if p.availability == Availability::BeRightBack),
    );
    assert!(sim
        .log()
        .iter()
        .any(|e| e.route == "events" && e.path.contains("ack=1") && e.seq > 5));
}

#[test]
fn events_arrive_in_order_with_the_right_kinds() {
    let sim = start(accelerated());
    let c = kept_alive(&sim, Availability::Online);
    let first = c.next_event(Duration::from_secs(1)).unwrap();
    assert!(
        matches!(
            first,
            Some(Event::ConnectionStateChanged {
                state: ConnectionState::Connected,
                reason: None
            })
        ),
        "sign-in reports Connected first: {first:?}"
    );
    std::thread::sleep(Duration::from_millis(300));
    while let Ok(Some(_)) = c.next_event(Duration::from_millis(200)) {}
    sim.set_presence_elsewhere(ALICE, "Away", None);
    wait_event(
        &c,
        Duration::from_secs(5),
        |e| matches!(e, Event::PresenceChanged(p) if p.availability == Availability::Away),
    );
    sim.set_presence_elsewhere(ALICE, "Busy", Some("on-the-phone"));
    wait_event(
        &c,
        Duration::from_secs(5),
        |e| matches!(e, Event::PresenceChanged(p) if p.availability == Availability::Busy),
    );
    c.set_note("ordered").unwrap();
    wait_event(
        &c,
        Duration::from_secs(5),
        |e| matches!(e, Event::NoteChanged(Some(n)) if n == "ordered"),
    );
    c.set_location("Desk 7").unwrap();
    wait_event(
        &c,
        Duration::from_secs(5),
        |e| matches!(e, Event::LocationChanged(Some(l)) if l == "Desk 7"),
    );
    c.sign_out().unwrap();
    wait_event(&c, Duration::from_secs(5), |e| {
        matches!(e, Event::SignedOut { reason: None })
    });
    assert_eq!(
        c.next_event(Duration::from_secs(5)).unwrap_err().status(),
        Status::InvalidState
    );
}

#[test]
fn enforce_presence_overrides_changes_made_elsewhere() {
    let sim = start(accelerated());
    let c = kept_alive(&sim, Availability::Busy);
    c.set_option("enforce_presence", "1").unwrap();
    sim.set_presence_elsewhere(ALICE, "Away", None);
    assert!(eventually(Duration::from_secs(6), || {
        let presence_posts = sim
            .log()
            .iter()
            .filter(|e| e.route == "presence" && e.method == "POST")
            .count();
        presence_posts >= 1 && sim.user(ALICE).unwrap().availability == "Busy"
    }));
}

#[test]
fn without_enforce_presence_a_change_elsewhere_is_reported_not_overridden() {
    let sim = start(accelerated());
    let c = kept_alive(&sim, Availability::Busy);
    sim.set_presence_elsewhere(ALICE, "DoNotDisturb", None);
    wait_event(
        &c,
        Duration::from_secs(5),
        |e| matches!(e, Event::PresenceChanged(p) if p.availability == Availability::DoNotDisturb),
    );
    std::thread::sleep(Duration::from_millis(800));
    assert!(!sim
        .log()
        .iter()
        .any(|e| e.route == "presence" && e.method == "POST"));
}

#[test]
fn next_event_returns_promptly_when_the_client_is_closed_from_another_thread() {
    let sim = start(accelerated());
    let c = kept_alive(&sim, Availability::Online);
    while let Ok(Some(_)) = c.next_event(Duration::from_millis(100)) {}
    let waiter = {
        let c = c.clone();
        std::thread::spawn(move || {
            let t = Instant::now();
            let r = c.next_event(Duration::from_secs(30));
            (r.map(|e| e.is_some()), t.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    c.close();
    let closed_in = t.elapsed();
    let (r, waited) = waiter.join().unwrap();
    assert!(
        waited < Duration::from_secs(10),
        "the waiter returned promptly: {waited:?}"
    );
    assert!(
        closed_in < Duration::from_secs(6),
        "close is bounded: {closed_in:?}"
    );
    assert!(matches!(r, Ok(true) | Err(_)), "{r:?}");
    assert!(
        eventually(Duration::from_secs(3), || sim
            .user(ALICE)
            .unwrap()
            .applications
            .is_empty()),
        "close signed out"
    );
}

#[test]
fn the_hosts_own_changes_are_never_mistaken_for_changes_made_elsewhere() {
    let sim = start(accelerated());
    let c = client(&sim);
    c.set_option("keepalive_interval_s", "0").unwrap();
    c.set_option("enforce_presence", "1").unwrap();
    c.sign_in(ALICE, ALICE_PW).unwrap();
    c.make_me_available(Availability::Online).unwrap();
    sim.clear_log();
    for i in 0..20 {
        let a = if i % 2 == 0 {
            Availability::Away
        } else {
            Availability::Busy
        };
        c.set_availability(a).unwrap();
    }
    std::thread::sleep(Duration::from_millis(800));
    let log = sim.log();
    let bodies: Vec<Option<&str>> = log
        .iter()
        .filter(|e| e.route == "presence" && e.method == "POST")
        .map(|e| e.body.as_deref())
        .collect();
    // Each of the host's own choices is a change, sent by its own call (a host's choice is
    // not held to the pace sources are), and never the same state twice in a row: no echo of
    // our own change was 'enforced' again.
    assert_eq!(bodies.len(), 20, "{} presence POSTs", bodies.len());
    assert!(
        bodies.windows(2).all(|w| w[0] != w[1]),
        "an echo of our own change was 'enforced' again: {:?}",
        log.iter()
            .filter(|e| e.route == "presence")
            .map(|e| (e.seq, &e.method, &e.body))
            .collect::<Vec<_>>()
    );
    assert!(on_route(&log, "reportMyActivity").is_empty());
    assert_eq!(sim.user(ALICE).unwrap().availability, "Busy");
}
