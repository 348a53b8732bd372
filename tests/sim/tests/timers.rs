//! Time-driven behaviour with sub-second timers: the inactivity model (Idle then Away, and
//! back on activity), application expiry and what keeps an application alive, the medium
//! priority hold, the `timeout` clamp, and presence events reaching every endpoint of a user.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::*;
use ucwa_sim::SimConfig;

fn availability(sim: &ucwa_sim::Sim) -> String {
    sim.user(ALICE).unwrap().availability
}

#[test]
fn without_activity_online_goes_idle_online_then_away_and_activity_brings_it_back() {
    let sim = start(SimConfig {
        embed_self_events: true,
        inactive_s: 0.6,
        away_s: 0.6,
        app_expiry_s: 30.0,
        ..fast()
    });
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let (_, next) = s.drain_events_quick();
    assert_eq!(availability(&sim), "Online");
    assert!(eventually(Duration::from_secs(3), || availability(&sim)
        == "IdleOnline"));
    assert_eq!(
        sim.user(ALICE).unwrap().applications[0]
            .availability
            .as_deref(),
        Some("IdleOnline")
    );
    assert_eq!(
        s.get(&s.link("me", "presence")).json()["availability"],
        "IdleOnline"
    );
    assert!(eventually(Duration::from_secs(3), || availability(&sim) == "Away"));
    assert_eq!(s.post_empty(&s.link("me", "reportMyActivity")).status, 204);
    assert_eq!(availability(&sim), "Online");
    // Each transition was announced on the event channel.
    let (senders, _) = s.drain_events(next);
    let seen: Vec<String> = events_of(&senders)
        .iter()
        .filter(|(_, rel, kind, _)| rel == "presence" && kind == "updated")
        .map(|e| {
            e.3["_embedded"]["presence"]["availability"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(seen, ["IdleOnline", "Away", "Online"]);
}

#[test]
fn busy_and_do_not_disturb_go_idle_busy_while_be_right_back_stays_until_away() {
    let sim = start(SimConfig {
        inactive_s: 0.5,
        away_s: 1.5,
        app_expiry_s: 30.0,
        ..fast()
    });
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let presence = s.link("me", "presence");
    for (chosen, idle) in [
        ("Busy", "IdleBusy"),
        ("DoNotDisturb", "IdleBusy"),
        ("BeRightBack", "BeRightBack"),
    ] {
        assert_eq!(
            s.post_json(&presence, &json!({ "availability": chosen }))
                .status,
            204
        );
        assert_eq!(
            availability(&sim),
            chosen,
            "a presence POST counts as activity"
        );
        std::thread::sleep(Duration::from_millis(800));
        assert_eq!(availability(&sim), idle, "{chosen}");
    }
    assert!(eventually(Duration::from_secs(3), || availability(&sim) == "Away"));
}

#[test]
fn reporting_activity_keeps_the_chosen_availability() {
    let sim = start(SimConfig {
        inactive_s: 0.8,
        away_s: 0.4,
        app_expiry_s: 30.0,
        ..fast()
    });
    let s = Session::available(&sim, ALICE, ALICE_PW);
    s.post_json(&s.link("me", "presence"), &json!({"availability": "Busy"}));
    let report = s.link("me", "reportMyActivity");
    let end = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < end {
        assert_eq!(s.post_empty(&report).status, 204);
        assert_eq!(availability(&sim), "Busy");
        std::thread::sleep(Duration::from_millis(150));
    }
    assert!(sim.user(ALICE).unwrap().applications[0].activity_reports >= 5);
}

#[test]
fn a_parked_pget_keeps_the_application_alive_and_its_release_restarts_the_expiry_clock() {
    let sim = start(SimConfig {
        app_expiry_s: 0.8,
        event_timeout_s: 1.5,
        event_timeout_min_s: 0.1,
        ..fast()
    });
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let (_, next) = s.drain_events_quick();
    // Parked for 1.5 s, longer than the expiry time: the application survives.
    let t = Instant::now();
    let r = s.get(&next);
    assert!(t.elapsed() >= Duration::from_millis(1400));
    assert_eq!(r.status, 200);
    assert_eq!(sim.user(ALICE).unwrap().applications.len(), 1);
    // Then nothing parked: it ends 0.8 s after that release.
    assert!(eventually(Duration::from_secs(3), || sim
        .user(ALICE)
        .unwrap()
        .applications
        .is_empty()));
    s.get(&s.app_url)
        .assert_error(404, "NotFound", Some("ApplicationNotFound"));
}

#[test]
fn timeout_parameter_is_clamped_to_the_configured_minimum() {
    let sim = start(SimConfig {
        event_timeout_s: 5.0,
        event_timeout_min_s: 0.5,
        ..fast()
    });
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let (_, next) = s.drain_events_quick();
    let t = Instant::now();
    let r = s.get(&format!("{next}&timeout=0.01"));
    let waited = t.elapsed();
    assert_eq!(r.status, 200);
    assert!(
        waited >= Duration::from_millis(480) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
}

#[test]
fn medium_priority_events_are_held_and_the_medium_parameter_overrides_the_hold() {
    let sim = start(SimConfig {
        event_hold_s: 0.3,
        event_timeout_s: 5.0,
        ..fast()
    });
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let t = Instant::now();
    let r = s.get(&s.events_url());
    assert!(
        t.elapsed() >= Duration::from_millis(200),
        "held: {:?}",
        t.elapsed()
    );
    assert!(r.json()["sender"].is_array());
    let next = s.url(&href_at(&r.json(), "/_links/next/href"));
    sim.set_presence_elsewhere(ALICE, "Busy", None);
    let t = Instant::now();
    let r = s.get(&format!("{next}&medium=1"));
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
    assert!(r.json()["sender"].is_array());
}

#[test]
fn presence_changes_reach_every_made_available_application_of_the_user() {
    // With the resources embedded, each event shows the value it announced.
    let sim = start(SimConfig {
        embed_self_events: true,
        ..fast()
    });
    let first = Session::available(&sim, ALICE, ALICE_PW);
    let second = {
        let mut s = Session::sign_in_with(
            &Http::plain(),
            &sim.root_url(),
            ALICE,
            ALICE_PW,
            "second-device",
        );
        s.post_empty(&s.link("me", "makeMeAvailable"));
        s.refresh();
        s
    };
    let lurker = Session::sign_in_with(&Http::plain(), &sim.root_url(), ALICE, ALICE_PW, "lurker");
    let (_, next1) = first.drain_events_quick();
    let (_, next2) = second.drain_events_quick();
    let (_, next3) = lurker.drain_events_quick();

    first.post_json(
        &first.link("me", "presence"),
        &json!({"availability": "Busy"}),
    );
    first.post_json(&first.link("me", "note"), &json!({"message": "shared"}));
    sim.set_presence_elsewhere(ALICE, "Away", Some("in-a-meeting"));

    for (s, next) in [(&first, next1), (&second, next2)] {
        let (senders, _) = s.drain_events(next);
        let kinds: Vec<(String, String)> = events_of(&senders)
            .into_iter()
            .map(|(_, rel, _, e)| {
                let embedded = &e["_embedded"][&rel];
                let value = embedded
                    .get("availability")
                    .or(embedded.get("message"))
                    .cloned()
                    .unwrap_or_default();
                (rel, value.as_str().unwrap_or("").to_owned())
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("presence".to_owned(), "Busy".to_owned()),
                ("note".to_owned(), "shared".to_owned()),
                ("presence".to_owned(), "Away".to_owned()),
            ]
        );
    }
    let (senders, _) = lurker.drain_events(next3);
    assert!(
        senders.is_empty(),
        "an application not made available hears nothing: {senders:?}"
    );
    assert_eq!(
        second.get(&second.link("me", "presence")).json()["activity"],
        "in-a-meeting"
    );
}

#[test]
fn presence_set_from_another_device_is_visible_without_any_endpoint() {
    let sim = start(fast());
    assert_eq!(availability(&sim), "Offline");
    sim.set_presence_elsewhere(ALICE, "DoNotDisturb", None);
    assert_eq!(availability(&sim), "DoNotDisturb");
    sim.set_presence_elsewhere("nobody@contoso.com", "Busy", None);
    assert!(sim.user("nobody@contoso.com").is_none());
}
