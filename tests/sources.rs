//! Presence from several sources: the preferred choice, named sources with expiry and a timed
//! note composed into the one presence the library keeps, proven by what the simulator stored,
//! the presence POSTs it saw, and the `EffectivePresenceChanged` events the host got.

mod common;

use std::time::{Duration, Instant};

use common::*;
use ucwa::{Availability, Decider, Event, PresenceCause, Status};
use ucwa_sim::{Sim, SimConfig};

fn sim_with_fast_timers() -> Sim {
    start(SimConfig {
        app_expiry_s: 30.0,
        ..fast_config()
    })
}

/// The simulator's availability and note for Alice (an empty note counts as none).
fn stored(sim: &Sim) -> (String, Option<String>) {
    let u = sim.user(ALICE).unwrap();
    (u.availability, u.note.filter(|n| !n.is_empty()))
}

fn lands(sim: &Sim, availability: &str, note: Option<&str>) -> bool {
    eventually(Duration::from_secs(5), || {
        stored(sim) == (availability.to_string(), note.map(str::to_string))
    })
}

fn presence_posts(sim: &Sim) -> usize {
    sim.log()
        .iter()
        .filter(|e| e.route == "presence" && e.method == "POST")
        .count()
}

/// Waits for the `EffectivePresenceChanged` that `want` accepts; returns its fields.
fn effective_event(
    c: &ucwa::Client,
    mut want: impl FnMut(Option<Availability>, Option<&str>, PresenceCause) -> bool,
) -> (
    Option<Availability>,
    Option<String>,
    Option<String>,
    Decider,
) {
    let seen = wait_event(c, Duration::from_secs(6), |e| match e {
        Event::EffectivePresenceChanged {
            availability,
            source,
            cause,
            ..
        } => want(*availability, source.as_deref(), *cause),
        _ => false,
    });
    match seen.last() {
        Some(Event::EffectivePresenceChanged {
            availability,
            note,
            source,
            decider,
            ..
        }) => (*availability, note.clone(), source.clone(), *decider),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sources_compose_by_precedence_and_only_effective_changes_reach_the_server() {
    let sim = sim_with_fast_timers();
    let c = available(&sim);
    c.set_source_presence("lock", Availability::Away, None, None)
        .unwrap();
    assert!(lands(&sim, "Away", None));
    c.set_source_presence("calendar", Availability::Busy, Some("Meeting"), None)
        .unwrap();
    assert!(lands(&sim, "Busy", Some("Meeting")));
    c.set_source_presence("phone", Availability::DoNotDisturb, Some("On a call"), None)
        .unwrap();
    assert!(lands(&sim, "DoNotDisturb", Some("On a call")));
    let (a, note, source, decider) = effective_event(&c, |_, s, cause| {
        s == Some("phone") && cause == PresenceCause::Set
    });
    assert_eq!(
        (a, note.as_deref(), decider),
        (
            Some(Availability::DoNotDisturb),
            Some("On a call"),
            Decider::Source
        )
    );
    assert_eq!(source.as_deref(), Some("phone"));

    let posts = presence_posts(&sim);
    // Beneath the deciding source: nothing to send.
    c.set_source_presence("lock", Availability::Online, None, None)
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        presence_posts(&sim),
        posts,
        "a change below the top sends nothing"
    );

    c.clear_source_presence("phone").unwrap();
    assert!(lands(&sim, "Busy", Some("Meeting")), "{:?}", stored(&sim));
    c.clear_source_presence("calendar").unwrap();
    assert!(lands(&sim, "Online", None), "{:?}", stored(&sim));
    let e = c.effective_presence();
    assert_eq!(e.source.as_deref(), Some("lock"));
    assert_eq!(e.sources.len(), 1);
    c.clear_source_presence("lock").unwrap();
    assert_eq!(c.effective_presence().decider, Decider::Nobody);
    assert_eq!(c.effective_presence().availability, None);
}

#[test]
fn the_preferred_choice_overrides_every_source_then_hands_back() {
    let sim = sim_with_fast_timers();
    let c = available(&sim);
    c.set_source_presence("phone", Availability::Busy, Some("On a call"), None)
        .unwrap();
    assert!(lands(&sim, "Busy", Some("On a call")));
    c.set_note("Working from home").unwrap();
    c.set_availability(Availability::DoNotDisturb).unwrap();
    assert!(lands(&sim, "DoNotDisturb", Some("Working from home")));
    let e = c.effective_presence();
    assert_eq!((e.decider, e.source), (Decider::Preferred, None));
    c.set_source_presence("phone", Availability::BeRightBack, None, None)
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        stored(&sim).0,
        "DoNotDisturb",
        "the preferred choice still decides"
    );
    c.reset_availability().unwrap();
    assert!(lands(&sim, "BeRightBack", Some("Working from home")));
    let (a, _, source, decider) =
        effective_event(&c, |_, _, cause| cause == PresenceCause::Cleared);
    assert_eq!(
        (a, source.as_deref(), decider),
        (
            Some(Availability::BeRightBack),
            Some("phone"),
            Decider::Source
        )
    );
    c.set_preferred_availability(Availability::Away, None)
        .unwrap();
    assert!(lands(&sim, "Away", Some("Working from home")));
    c.clear_preferred_availability().unwrap();
    assert!(lands(&sim, "BeRightBack", Some("Working from home")));
}

#[test]
fn expiries_restore_the_right_state_and_note_without_a_host_call() {
    let sim = sim_with_fast_timers();
    let c = available(&sim);
    c.set_source_presence("calendar", Availability::Busy, None, None)
        .unwrap();
    c.set_source_presence(
        "phone",
        Availability::DoNotDisturb,
        None,
        Some(Duration::from_secs(2)),
    )
    .unwrap();
    c.set_preferred_availability(Availability::Online, Some(Duration::from_secs(1)))
        .unwrap();
    c.set_note("Back at 3").unwrap();
    c.set_note_until("Lunch", Some(Duration::from_secs(1)))
        .unwrap();
    assert!(lands(&sim, "Online", Some("Lunch")), "{:?}", stored(&sim));
    let t0 = Instant::now();
    // The preferred choice and the timed note run out first, then the phone's source.
    let (_, _, source, _) = effective_event(&c, |a, _, cause| {
        cause == PresenceCause::Expired && a == Some(Availability::DoNotDisturb)
    });
    assert_eq!(source.as_deref(), Some("phone"));
    assert!(
        lands(&sim, "DoNotDisturb", Some("Back at 3")),
        "{:?}",
        stored(&sim)
    );
    let e = c.effective_presence();
    assert_eq!(
        (e.availability, e.note.as_deref()),
        (Some(Availability::DoNotDisturb), Some("Back at 3"))
    );
    let (a, _, source, _) = effective_event(&c, |a, _, cause| {
        cause == PresenceCause::Expired && a == Some(Availability::Busy)
    });
    assert_eq!(
        (a, source.as_deref()),
        (Some(Availability::Busy), Some("calendar"))
    );
    assert!(lands(&sim, "Busy", Some("Back at 3")), "{:?}", stored(&sim));
    assert!(t0.elapsed() < Duration::from_secs(6));
    let e = c.effective_presence();
    assert_eq!(e.sources.len(), 1);
    assert_eq!(e.preferred, None);
}

#[test]
fn a_recreated_application_gets_the_effective_state() {
    let sim = sim_with_fast_timers();
    let c = available(&sim);
    c.set_note("Base").unwrap();
    c.set_source_presence("calendar", Availability::Busy, Some("Meeting"), None)
        .unwrap();
    c.set_source_presence("lock", Availability::Away, None, None)
        .unwrap();
    assert!(lands(&sim, "Busy", Some("Meeting")));
    let old = sim.user(ALICE).unwrap().applications[0].id.clone();
    sim.delete_applications(ALICE);
    wait_event(&c, Duration::from_secs(8), |e| {
        matches!(e, Event::ApplicationRecreated)
    });
    assert!(eventually(Duration::from_secs(5), || {
        let u = sim.user(ALICE).unwrap();
        u.applications.len() == 1
            && u.applications[0].id != old
            && u.availability == "Busy"
            && u.note.as_deref() == Some("Meeting")
    }));
    c.clear_source_presence("calendar").unwrap();
    assert!(lands(&sim, "Away", Some("Base")), "{:?}", stored(&sim));
}

#[test]
fn a_change_made_elsewhere_becomes_the_preferred_choice() {
    let sim = sim_with_fast_timers();
    let c = available(&sim);
    c.set_source_presence("phone", Availability::Busy, None, None)
        .unwrap();
    assert!(lands(&sim, "Busy", None));
    std::thread::sleep(Duration::from_millis(2500)); // past the echo window of our own POST
    let posts = presence_posts(&sim);
    sim.set_presence_elsewhere(ALICE, "DoNotDisturb", None);
    let (a, _, source, decider) =
        effective_event(&c, |_, _, cause| cause == PresenceCause::ChangedElsewhere);
    assert_eq!(
        (a, source, decider),
        (Some(Availability::DoNotDisturb), None, Decider::Preferred)
    );
    c.clear_source_presence("phone").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        presence_posts(&sim),
        posts,
        "the person's choice was kept, not overwritten"
    );
    assert_eq!(stored(&sim).0, "DoNotDisturb");
}

#[test]
fn with_enforce_presence_a_change_made_elsewhere_is_overwritten() {
    let sim = sim_with_fast_timers();
    let c = available(&sim);
    c.set_option("enforce_presence", "1").unwrap();
    c.set_source_presence("phone", Availability::Busy, None, None)
        .unwrap();
    assert!(lands(&sim, "Busy", None));
    std::thread::sleep(Duration::from_millis(2500));
    sim.set_presence_elsewhere(ALICE, "Away", None);
    assert!(eventually(Duration::from_secs(3), || stored(&sim).0 == "Away"));
    assert!(lands(&sim, "Busy", None), "{:?}", stored(&sim));
    let e = c.effective_presence();
    assert_eq!(
        (e.decider, e.source.as_deref()),
        (Decider::Source, Some("phone"))
    );
}

#[test]
fn a_flapping_source_is_paced_and_its_last_state_lands() {
    let sim = sim_with_fast_timers();
    let c = available(&sim);
    sim.clear_log();
    let t0 = Instant::now();
    for i in 0..200 {
        let a = if i % 2 == 0 {
            Availability::Away
        } else {
            Availability::Busy
        };
        c.set_source_presence("lock", a, None, None).unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    let flapped = t0.elapsed();
    c.set_source_presence("lock", Availability::BeRightBack, None, None)
        .unwrap();
    assert!(lands(&sim, "BeRightBack", None), "{:?}", stored(&sim));
    std::thread::sleep(Duration::from_millis(500));
    let posts = presence_posts(&sim);
    // A burst, then one per spacing over the flapping, and the last state.
    let bound = 5 + (flapped.as_millis() / 300) as usize + 3;
    assert!(
        posts <= bound,
        "{posts} presence POSTs for 201 changes in {flapped:?} (at most {bound})"
    );
    assert!(posts >= 2, "{posts}");
}

#[test]
fn the_hosts_own_choices_are_one_request_each_while_a_flapping_source_is_paced() {
    let sim = sim_with_fast_timers();
    let c = available(&sim);
    sim.clear_log();
    // The host's own choice is sent by its call (each change one POST, the server's answer
    // returned), as `ucwa_set_availability` always was: 30 alternating choices, 30 POSTs.
    for i in 0..30 {
        let a = if i % 2 == 0 {
            Availability::Away
        } else {
            Availability::Busy
        };
        c.set_availability(a).unwrap();
    }
    assert_eq!(presence_posts(&sim), 30, "{:?}", stored(&sim));
    // While it decides, a source flapping underneath changes nothing on the wire.
    for i in 0..40 {
        let a = if i % 2 == 0 {
            Availability::DoNotDisturb
        } else {
            Availability::Online
        };
        c.set_source_presence("lock", a, None, None).unwrap();
    }
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(presence_posts(&sim), 30, "the preferred choice decides");
    // Handed back to the source: its state lands.
    c.clear_preferred_availability().unwrap();
    assert!(lands(&sim, "Online", None), "{:?}", stored(&sim));
}

#[test]
fn every_bad_input_is_refused_and_changes_nothing() {
    let sim = sim_with_fast_timers();
    let c = signed_in(&sim);
    let refused = c
        .set_source_presence("phone", Availability::Busy, None, None)
        .unwrap_err();
    assert_eq!(
        refused.status(),
        Status::InvalidState,
        "before makeMeAvailable"
    );
    for e in [
        c.clear_source_presence("phone").unwrap_err(),
        c.set_preferred_availability(Availability::Busy, None)
            .unwrap_err(),
        c.clear_preferred_availability().unwrap_err(),
        c.set_note_until("x", Some(Duration::from_secs(5)))
            .unwrap_err(),
    ] {
        assert_eq!(e.status(), Status::InvalidState, "{e}");
    }
    c.make_me_available(Availability::Unspecified).unwrap();
    for i in 0..ucwa::MAX_SOURCES {
        c.set_source_presence(&format!("s{i}"), Availability::Online, None, None)
            .unwrap();
    }
    assert!(lands(&sim, "Online", None));
    std::thread::sleep(Duration::from_millis(400));
    let before = (c.effective_presence(), presence_posts(&sim), stored(&sim));
    let long_name = "n".repeat(ucwa::MAX_SOURCE_NAME + 1);
    let long_note = "n".repeat(ucwa::MAX_LAYER_NOTE + 1);
    let week = ucwa::MAX_EXPIRY + Duration::from_secs(1);
    let bad = [
        c.set_source_presence("s99", Availability::Busy, None, None),
        c.set_source_presence("", Availability::Busy, None, None),
        c.set_source_presence("a\u{7}b", Availability::Busy, None, None),
        c.set_source_presence(&long_name, Availability::Busy, None, None),
        c.set_source_presence("s1", Availability::Unspecified, None, None),
        c.set_source_presence("s1", Availability::IdleBusy, None, None),
        c.set_source_presence("s1", Availability::Busy, Some(&long_note), None),
        c.set_source_presence("s1", Availability::Busy, None, Some(Duration::ZERO)),
        c.set_source_presence("s1", Availability::Busy, None, Some(week)),
        c.clear_source_presence(""),
        c.set_preferred_availability(Availability::Offline, None),
        c.set_preferred_availability(Availability::Busy, Some(week)),
        c.set_note_until(&long_note, None),
        c.set_note_until("x", Some(Duration::from_millis(10))),
    ];
    for (i, r) in bad.into_iter().enumerate() {
        assert_eq!(
            r.unwrap_err().status(),
            Status::InvalidArgument,
            "bad input #{i}"
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        (c.effective_presence(), presence_posts(&sim), stored(&sim)),
        before
    );
}

#[test]
fn a_refused_change_is_sent_again_by_the_next_call_and_by_the_keep_alive() {
    let sim = sim_with_fast_timers();
    let c = available(&sim);
    sim.inject_fault(ucwa_sim::Fault {
        method: Some("POST".into()),
        ..respond("presence", 1, 409, &[], "")
    });
    assert_eq!(
        c.set_availability(Availability::Busy)
            .unwrap_err()
            .http_status(),
        Some(409)
    );
    c.set_availability(Availability::Busy).unwrap();
    assert_eq!(stored(&sim).0, "Busy", "the next call sent it at once");
    sim.inject_fault(ucwa_sim::Fault {
        method: Some("POST".into()),
        ..respond("presence", 1, 500, &[], "")
    });
    let r = c.set_availability(Availability::DoNotDisturb);
    assert!(
        r.is_err(),
        "{:?}",
        on_route(&sim.log(), "presence")
            .iter()
            .map(|e| (&e.method, e.status, &e.body))
            .collect::<Vec<_>>()
    );
    assert!(
        lands(&sim, "DoNotDisturb", None),
        "the keep-alive sent it after its backoff"
    );
}
