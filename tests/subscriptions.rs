//! Watching other people's presence through the Rust API against ucwa-sim: changes made
//! elsewhere arrive as contact events, unsubscribe stops them, the subscription is extended
//! before it runs out and made again after it expired or the application was recreated, and
//! what the server refuses subscribes nothing, and a memberships list that repeats itself costs
//! one DELETE per contact. Each test checks the requests the simulator saw.

mod common;

use std::time::{Duration, Instant};

use common::*;
use ucwa::{Availability, Client, Event, Status, MAX_CONTACTS_PER_CALL};
use ucwa_sim::{Fault, FaultAction, LogEntry, Sim, SimConfig};

const BOB: &str = "bob@contoso.com";
const CAROL: &str = "carol@contoso.com";

fn config_with(users: &[&str]) -> SimConfig {
    let mut config = fast_config();
    config.users = std::iter::once((ALICE.to_owned(), ALICE_PW.to_owned()))
        .chain(users.iter().map(|u| (u.to_string(), "pw".to_owned())))
        .collect();
    config
}

/// Alice's requests to the presence subscription resources.
fn subscription_requests(log: &[LogEntry]) -> Vec<LogEntry> {
    log.iter()
        .filter(|e| e.user.as_deref() == Some(ALICE) && e.path.contains("presenceSubscriptions"))
        .cloned()
        .collect()
}

/// The contact events that arrive within `limit`.
fn contact_events(c: &Client, limit: Duration) -> Vec<Event> {
    let end = Instant::now() + limit;
    let mut seen = Vec::new();
    while Instant::now() < end {
        if let Ok(Some(e)) = c.next_event(Duration::from_millis(50)) {
            if e.contact().is_some() {
                seen.push(e);
            }
        }
    }
    seen
}

fn wait_contact(c: &Client, want: impl Fn(&Event) -> bool) -> Event {
    let seen = wait_event(c, Duration::from_secs(10), |e| want(e));
    seen.last().cloned().expect("an event")
}

fn is_presence(e: &Event, contact: &str, a: Availability) -> bool {
    matches!(e, Event::ContactPresenceChanged { contact: c, presence } if c == contact && presence.availability == a)
}

/// Bob and Carol both change; only Carol's change reaches the host.
fn carol_heard_bob_not(sim: &Sim, alice: &Client) {
    sim.set_presence_elsewhere(BOB, "Busy", None);
    sim.set_presence_elsewhere(CAROL, "Away", None);
    let seen = contact_events(alice, Duration::from_millis(1500));
    assert!(
        seen.iter()
            .any(|e| is_presence(e, "sip:carol@contoso.com", Availability::Away)),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .all(|e| e.contact() != Some("sip:bob@contoso.com")),
        "{seen:?}"
    );
}

fn watching_alice(sim: &Sim) -> Client {
    let alice = signed_in(sim);
    alice.set_option("subscription_refresh_s", "300").unwrap();
    alice
}

#[test]
fn changes_made_elsewhere_arrive_as_contact_events_without_make_me_available() {
    let sim = start(config_with(&[BOB, CAROL]));
    let alice = watching_alice(&sim);
    sim.clear_log();
    alice
        .subscribe_presence(&["sip:bob@contoso.com", CAROL])
        .unwrap();
    assert_eq!(alice.subscribed_contacts(), 2);
    let subs = subscription_requests(&sim.log());
    assert_eq!(subs.len(), 1, "one create for two contacts: {subs:?}");
    assert_eq!((subs[0].method.as_str(), subs[0].status), ("POST", 201));
    let body = subs[0].body.as_deref().unwrap_or_default();
    assert!(body.contains("sip:bob@contoso.com") && body.contains("sip:carol@contoso.com"));
    assert!(body.contains("\"duration\":30"), "{body}");

    sim.set_presence_elsewhere(BOB, "Busy", Some("in-a-meeting"));
    let e = wait_contact(&alice, |e| {
        is_presence(e, "sip:bob@contoso.com", Availability::Busy)
    });
    match e {
        Event::ContactPresenceChanged { presence, .. } => {
            assert_eq!(presence.activity.as_deref(), Some("in-a-meeting"))
        }
        other => panic!("{other:?}"),
    }
    sim.set_note_elsewhere(CAROL, Some("Back at 3"));
    wait_contact(
        &alice,
        |e| matches!(e, Event::ContactNoteChanged { contact, note } if contact == "sip:carol@contoso.com" && note.as_deref() == Some("Back at 3")),
    );
    sim.set_location_elsewhere(BOB, Some("Building 7"));
    wait_contact(
        &alice,
        |e| matches!(e, Event::ContactLocationChanged { contact, location } if contact == "sip:bob@contoso.com" && location.as_deref() == Some("Building 7")),
    );
    // The real-server shape: bare events, each followed by one GET of the contact's resource.
    let log = sim.log();
    assert!(log.iter().any(|e| e.method == "GET"
        && e.user.as_deref() == Some(ALICE)
        && e.path.ends_with("/people/bob@contoso.com/presence")));
    assert!(log.iter().any(|e| e.method == "GET"
        && e.user.as_deref() == Some(ALICE)
        && e.path.ends_with("/people/carol@contoso.com/note")));
}

#[test]
fn unsubscribe_stops_the_events_and_removes_the_membership_on_the_server() {
    let sim = start(config_with(&[BOB, CAROL]));
    let alice = watching_alice(&sim);
    alice.subscribe_presence(&[BOB, CAROL]).unwrap();
    sim.clear_log();
    alice
        .unsubscribe_presence(&["SIP:Bob@contoso.com"])
        .unwrap();
    assert_eq!(alice.subscribed_contacts(), 1);
    let subs = subscription_requests(&sim.log());
    let methods: Vec<(&str, u16)> = subs.iter().map(|e| (e.method.as_str(), e.status)).collect();
    assert_eq!(methods, [("GET", 200), ("DELETE", 204)], "{subs:?}");
    assert!(subs[1].path.contains("/memberships/"));

    carol_heard_bob_not(&sim, &alice);

    // The last one: the whole subscription goes, and nothing more arrives.
    sim.clear_log();
    alice
        .unsubscribe_presence(&[CAROL, "dave@contoso.com"])
        .unwrap();
    let subs = subscription_requests(&sim.log());
    assert_eq!(subs.len(), 1);
    assert_eq!((subs[0].method.as_str(), subs[0].status), ("DELETE", 204));
    sim.set_presence_elsewhere(CAROL, "Busy", None);
    assert!(contact_events(&alice, Duration::from_millis(800)).is_empty());
}

/// A fault on every request of `method` whose path holds `path`, answering `status` and `body`.
fn on_path(path: &str, method: &str, count: u32, status: u16, body: &str) -> Fault {
    Fault {
        route: None,
        path_contains: Some(path.into()),
        method: Some(method.into()),
        count,
        action: FaultAction::Respond {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
        },
    }
}

#[test]
fn a_memberships_list_repeating_a_contact_costs_one_delete_per_contact() {
    const DAVE: &str = "dave@contoso.com";
    const STAY: [&str; 2] = ["erin@contoso.com", "frank@contoso.com"];
    let sim = start(config_with(&[BOB, CAROL, DAVE, STAY[0], STAY[1]]));
    let alice = watching_alice(&sim);
    // Two contacts stay, so the subscription does too and memberships go one by one.
    alice
        .subscribe_presence(&[BOB, CAROL, DAVE, STAY[0], STAY[1]])
        .unwrap();
    // A plain unsubscribe shows where the server keeps memberships.
    sim.clear_log();
    alice.unsubscribe_presence(&[CAROL]).unwrap();
    let carol = subscription_requests(&sim.log())
        .into_iter()
        .find(|e| e.method == "DELETE")
        .expect("carol's membership was deleted")
        .path;
    let prefix = carol.strip_suffix(CAROL).expect("a membership path");
    let people = &carol[..carol.find("/presenceSubscriptions").expect("below people")];
    let membership = |own: &str, contact: &str| {
        format!(
            r#"{{"_links":{{"self":{{"href":"{own}"}},"contact":{{"href":"{people}/{contact}"}}}},"rel":"presenceSubscriptionMembership"}}"#
        )
    };
    // Bob 3,000 times under one href, 3,000 more under hrefs of their own, then Dave once.
    let bob = format!("{prefix}{BOB}");
    let mut entries: Vec<String> = (0..3000).map(|_| membership(&bob, BOB)).collect();
    entries.extend((0..3000).map(|i| membership(&format!("{bob}?copy={i}"), BOB)));
    entries.push(membership(&format!("{prefix}{DAVE}"), DAVE));
    let list = format!(
        r#"{{"_embedded":{{"presenceSubscriptionMembership":[{}]}},"rel":"memberships"}}"#,
        entries.join(",")
    );
    sim.inject_fault(on_path("/memberships", "GET", 1, 200, &list));
    // A server that says yes to every DELETE, as the one in the report did.
    sim.inject_fault(on_path("/memberships/", "DELETE", 0, 204, ""));
    sim.clear_log();
    alice.unsubscribe_presence(&[BOB, DAVE]).unwrap();
    let deletes: Vec<String> = sim
        .log()
        .into_iter()
        .filter(|e| e.method == "DELETE" && e.path.contains("/memberships/"))
        .map(|e| e.path)
        .collect();
    assert_eq!(
        deletes,
        [bob, format!("{prefix}{DAVE}")],
        "one DELETE per contact asked for"
    );
    assert_eq!(alice.subscribed_contacts(), 2);
}

#[test]
fn unsubscribe_stops_the_events_even_when_the_server_refuses_and_the_server_is_fixed_later() {
    let sim = start(config_with(&[BOB, CAROL]));
    let alice = watching_alice(&sim);
    alice.subscribe_presence(&[BOB, CAROL]).unwrap();
    sim.inject_fault(Fault {
        route: None,
        path_contains: Some("/memberships/".into()),
        method: Some("DELETE".into()),
        count: 1,
        action: FaultAction::Respond {
            status: 500,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: r#"{"code":"ServiceFailure","message":"broken"}"#.into(),
        },
    });
    sim.clear_log();
    let e = alice.unsubscribe_presence(&[BOB]).unwrap_err();
    assert_eq!((e.status(), e.http_status()), (Status::Server, Some(500)));
    assert_eq!(alice.subscribed_contacts(), 1);
    // The server still has Bob's membership and tells us; the host hears nothing of him.
    carol_heard_bob_not(&sim, &alice);
    // The housekeeper starts the subscription again with Carol alone.
    let fixed = eventually(Duration::from_secs(5), || {
        let subs = subscription_requests(&sim.log());
        subs.iter().any(|e| e.method == "DELETE" && e.status == 204)
            && subs.iter().any(|e| {
                e.status == 201
                    && e.body
                        .as_deref()
                        .is_some_and(|b| b.contains("sip:carol@contoso.com") && !b.contains("bob"))
            })
    });
    assert!(fixed, "{:?}", subscription_requests(&sim.log()));
}

#[test]
fn subscribing_twice_is_harmless_and_many_contacts_go_in_chunks() {
    let names: Vec<String> = (0..250)
        .map(|i| format!("user{i:03}@contoso.com"))
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let sim = start(config_with(&refs));
    let alice = watching_alice(&sim);
    sim.clear_log();
    alice.subscribe_presence(&names).unwrap();
    let subs = subscription_requests(&sim.log());
    let shape: Vec<(&str, u16)> = subs.iter().map(|e| (e.method.as_str(), e.status)).collect();
    assert_eq!(
        shape,
        [("POST", 201), ("POST", 204), ("POST", 204)],
        "one create and two adds of at most 100 URIs each"
    );
    sim.clear_log();
    alice.subscribe_presence(&names[..10]).unwrap();
    assert!(subscription_requests(&sim.log()).is_empty());
    assert_eq!(alice.subscribed_contacts(), 250);
    sim.set_presence_elsewhere(&names[249], "DoNotDisturb", None);
    wait_contact(&alice, |e| {
        is_presence(e, "sip:user249@contoso.com", Availability::DoNotDisturb)
    });
}

#[test]
fn the_subscription_is_extended_before_it_runs_out() {
    let mut config = config_with(&[BOB]);
    // A "minute" of 0.1 s: the 30 minutes asked for last 3 s.
    config.subscription_minute_s = 0.1;
    let sim = start(config);
    let alice = signed_in(&sim);
    alice.set_option("subscription_refresh_s", "1").unwrap();
    alice.subscribe_presence(&[BOB]).unwrap();
    std::thread::sleep(Duration::from_secs(5));
    let subs = subscription_requests(&sim.log());
    let extensions = subs
        .iter()
        .filter(|e| e.method == "POST" && e.path.contains("duration=30") && e.status == 204)
        .count();
    assert!(extensions >= 3, "about one a second: {subs:?}");
    let creates = subs
        .iter()
        .filter(|e| e.method == "POST" && e.status == 201)
        .count();
    assert_eq!(creates, 1, "never ran out: {subs:?}");
    sim.set_presence_elsewhere(BOB, "Away", None);
    wait_contact(&alice, |e| {
        is_presence(e, "sip:bob@contoso.com", Availability::Away)
    });
}

#[test]
fn an_expired_subscription_is_made_again_with_every_contact() {
    let mut config = config_with(&[BOB]);
    // 30 "minutes" last 1.5 s, and the client extends only every 3 s: it finds it gone.
    config.subscription_minute_s = 0.05;
    let sim = start(config);
    let alice = signed_in(&sim);
    alice.set_option("subscription_refresh_s", "3").unwrap();
    alice.subscribe_presence(&[BOB]).unwrap();
    let remade = eventually(Duration::from_secs(8), || {
        let subs = subscription_requests(&sim.log());
        subs.iter().any(|e| e.method == "POST" && e.status == 404)
            && subs.iter().filter(|e| e.status == 201).count() >= 2
    });
    assert!(remade, "{:?}", subscription_requests(&sim.log()));
    let subs = subscription_requests(&sim.log());
    let second = subs.iter().filter(|e| e.status == 201).nth(1).unwrap();
    assert!(second
        .body
        .as_deref()
        .unwrap_or_default()
        .contains("sip:bob@contoso.com"));
    sim.set_presence_elsewhere(BOB, "Busy", None);
    wait_contact(&alice, |e| {
        is_presence(e, "sip:bob@contoso.com", Availability::Busy)
    });
}

#[test]
fn the_subscription_survives_application_recovery() {
    let sim = start(config_with(&[BOB]));
    let alice = available(&sim);
    alice.subscribe_presence(&[BOB]).unwrap();
    sim.clear_log();
    sim.delete_applications(ALICE);
    wait_event(&alice, Duration::from_secs(10), |e| {
        matches!(e, Event::ApplicationRecreated)
    });
    let remade = eventually(Duration::from_secs(5), || {
        subscription_requests(&sim.log())
            .iter()
            .any(|e| e.method == "POST" && e.status == 201)
    });
    assert!(remade, "{:?}", subscription_requests(&sim.log()));
    assert_eq!(sim.user(ALICE).unwrap().applications.len(), 1);
    sim.set_presence_elsewhere(BOB, "BeRightBack", None);
    wait_contact(&alice, |e| {
        is_presence(e, "sip:bob@contoso.com", Availability::BeRightBack)
    });
}

#[test]
fn an_unknown_contact_is_the_servers_error_and_subscribes_nothing() {
    let sim = start(config_with(&[BOB]));
    let alice = watching_alice(&sim);
    sim.clear_log();
    let e = alice
        .subscribe_presence(&[BOB, "nobody@contoso.com"])
        .unwrap_err();
    assert_eq!(e.status(), Status::Server);
    assert_eq!(e.http_status(), Some(400));
    assert_eq!(alice.subscribed_contacts(), 0);
    let subs = subscription_requests(&sim.log());
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].status, 400);
    // Nothing was left behind for the housekeeper to repeat.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(subscription_requests(&sim.log()).len(), 1);
    alice.subscribe_presence(&[BOB]).unwrap();
    assert_eq!(alice.subscribed_contacts(), 1);
}

#[test]
fn bad_arguments_and_no_sign_in_are_refused_before_anything_is_sent() {
    let sim = start(config_with(&[BOB]));
    let c = client(&sim);
    assert_eq!(
        c.subscribe_presence(&[BOB]).unwrap_err().status(),
        Status::InvalidState
    );
    let alice = watching_alice(&sim);
    sim.clear_log();
    let many: Vec<String> = (0..=MAX_CONTACTS_PER_CALL)
        .map(|i| format!("u{i}@contoso.com"))
        .collect();
    for bad in [
        alice.subscribe_presence(&many),
        alice.subscribe_presence(&["not-an-address"]),
        alice.subscribe_presence(&["bob@contoso.com/../x"]),
        alice.unsubscribe_presence(&["sip:"]),
    ] {
        assert_eq!(bad.unwrap_err().status(), Status::InvalidArgument);
    }
    alice.subscribe_presence::<&str>(&[]).unwrap();
    assert!(subscription_requests(&sim.log()).is_empty());
}
