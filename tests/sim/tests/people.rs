//! People and contact presence: search over the configured users, contact resources with
//! presence, note and location, presence subscriptions with durations, memberships and expiry,
//! contact events for subscribers (bare, as real servers send them), and batch reads of
//! contact presence.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::*;
use ucwa_sim::SimConfig;

fn people_link(s: &Session, rel: &str) -> String {
    s.url(&href_at(
        &s.app,
        &format!("/_embedded/people/_links/{rel}/href"),
    ))
}

fn search(s: &Session, query: &str) -> Value {
    let url = format!("{}?query={}", people_link(s, "search"), query);
    let r = s.get(&url);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn found(v: &Value) -> Vec<String> {
    v["_embedded"]["contact"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["uri"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn search_finds_users_by_name_sip_uri_or_e_mail() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    for query in ["Bob", "sip%3Abob%40contoso.com", "bob%40contoso.com", "BOB"] {
        assert_eq!(
            found(&search(&s, query)),
            ["sip:bob@contoso.com"],
            "{query}"
        );
    }
    let both = search(&s, "contoso");
    assert_eq!(
        found(&both),
        ["sip:alice@contoso.com", "sip:bob@contoso.com"]
    );
    assert_eq!(both["moreResultsAvailable"], false);
    let one = s.get(&format!(
        "{}?query=contoso&limit=1",
        people_link(&s, "search")
    ));
    assert_eq!(found(&one.json()).len(), 1);
    assert_eq!(one.json()["moreResultsAvailable"], true);
    assert!(found(&search(&s, "carol")).is_empty());
    let bob = &search(&s, "bob")["_embedded"]["contact"][0];
    assert_eq!(bob["name"], "Bob");
    assert_eq!(bob["emailAddresses"], json!([BOB]));
    let presence = bob["_links"]["contactPresence"]["href"].as_str().unwrap();
    assert!(
        presence.starts_with("/ucwa/oauth/v1/applications/")
            && presence.ends_with("/people/bob@contoso.com/presence"),
        "{presence}"
    );
    let log = sim.log();
    assert!(log
        .iter()
        .filter(|e| e.path.contains("/people/search"))
        .all(|e| e.route == "people" && e.status == 200));
}

#[test]
fn contact_presence_note_and_location_follow_the_other_user() {
    let sim = start(fast());
    let alice = Session::available(&sim, ALICE, ALICE_PW);
    let bob_contact = &search(&alice, "bob")["_embedded"]["contact"][0];
    let link = |rel: &str| alice.url(bob_contact["_links"][rel]["href"].as_str().unwrap());
    let presence = alice.get(&link("contactPresence"));
    assert_eq!(presence.content_type(), "application/json; charset=utf-8");
    assert_eq!(presence.json()["availability"], "Offline");
    assert_eq!(presence.json()["rel"], "contactPresence");

    let bob = Session::available(&sim, BOB, BOB_PW);
    bob.post_json(
        &bob.link("me", "presence"),
        &json!({"availability": "Busy"}),
    );
    bob.post_json(&bob.link("me", "note"), &json!({"message": "in the lab"}));
    bob.post_json(
        &bob.link("me", "location"),
        &json!({"location": "Building 4"}),
    );
    assert_eq!(
        alice.get(&link("contactPresence")).json()["availability"],
        "Busy"
    );
    assert_eq!(
        alice.get(&link("contactNote")).json()["message"],
        "in the lab"
    );
    assert_eq!(
        alice.get(&link("contactLocation")).json()["location"],
        "Building 4"
    );
    let contact = alice.get(&link("self")).json();
    assert_eq!(contact["uri"], "sip:bob@contoso.com");
    let unknown = alice.get(&link("self").replace("bob@", "carol@"));
    unknown.assert_error(404, "NotFound", Some("ResourceNotFound"));
}

fn subscribe(s: &Session, uris: &[&str], duration: u64) -> Value {
    let r = s.post_json(
        &people_link(s, "presenceSubscriptions"),
        &json!({ "duration": duration, "uris": uris }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

/// The contact events (sender `people`) in everything the channel holds now.
fn contact_events(s: &Session, next: &mut String) -> Vec<(String, Value)> {
    let (senders, after) = s.drain_events(next.clone());
    *next = after;
    senders
        .iter()
        .filter(|x| x["rel"] == "people")
        .flat_map(|x| x["events"].as_array().cloned().unwrap_or_default())
        .map(|e| (e["link"]["rel"].as_str().unwrap().to_owned(), e))
        .collect()
}

#[test]
fn subscribers_hear_bare_contact_events_and_follow_them_with_a_get() {
    let sim = start(fast());
    let alice = Session::available(&sim, ALICE, ALICE_PW);
    let sub = subscribe(&alice, &["sip:bob@contoso.com"], 11);
    assert_eq!(sub["duration"], 11);
    assert_eq!(sub["rel"], "presenceSubscription");
    let (_, mut next) = alice.drain_events(alice.events_url());

    sim.set_presence_elsewhere(BOB, "Away", Some("in-a-meeting"));
    let bob = Session::available(&sim, BOB, BOB_PW);
    bob.post_json(&bob.link("me", "note"), &json!({"message": "back at 3"}));
    let events = contact_events(&alice, &mut next);
    let rels: Vec<&str> = events.iter().map(|(r, _)| r.as_str()).collect();
    assert!(rels.contains(&"contactPresence"), "{events:?}");
    assert!(rels.contains(&"contactNote"), "{events:?}");
    for (_, e) in &events {
        assert_eq!(e["type"], "updated");
        assert!(e.get("_embedded").is_none(), "bare like real servers: {e}");
    }
    let note = &events.iter().find(|(r, _)| r == "contactNote").unwrap().1;
    let got = alice.get(&alice.url(note["link"]["href"].as_str().unwrap()));
    assert_eq!(got.json()["message"], "back at 3");
    // Bob never subscribed to anyone: he hears no contact events.
    let (bob_senders, _) = bob.drain_events_quick();
    assert!(bob_senders.iter().all(|x| x["rel"] != "people"));
}

#[test]
fn memberships_can_be_listed_added_and_removed() {
    let sim = start(fast());
    let alice = Session::available(&sim, ALICE, ALICE_PW);
    let sub = subscribe(&alice, &[], 11);
    let memberships = alice.url(sub["_links"]["memberships"]["href"].as_str().unwrap());
    let listed = |s: &Session| -> Vec<String> {
        s.get(&memberships).json()["_embedded"]["presenceSubscriptionMembership"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["_links"]["contact"]["href"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(listed(&alice).is_empty());
    let (_, mut next) = alice.drain_events(alice.events_url());
    sim.set_presence_elsewhere(BOB, "Busy", None);
    assert!(
        contact_events(&alice, &mut next).is_empty(),
        "not a member yet"
    );

    let add = alice.url(
        sub["_links"]["addToPresenceSubscription"]["href"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(
        alice
            .post_json(&add, &json!({"uris": ["sip:bob@contoso.com"]}))
            .status,
        204
    );
    let members = listed(&alice);
    assert_eq!(members.len(), 1);
    assert!(members[0].ends_with("/people/bob@contoso.com"));
    sim.set_presence_elsewhere(BOB, "Away", None);
    assert_eq!(contact_events(&alice, &mut next).len(), 1);

    let membership = alice.get(&memberships).json()["_embedded"]["presenceSubscriptionMembership"]
        [0]["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(alice.delete(&alice.url(&membership)).status, 204);
    assert!(listed(&alice).is_empty());
    sim.set_presence_elsewhere(BOB, "Online", None);
    assert!(contact_events(&alice, &mut next).is_empty(), "removed");

    let r = alice.post_json(&add, &json!({"uris": ["sip:carol@contoso.com"]}));
    r.assert_error(400, "BadRequest", Some("ParameterValidationFailure"));
}

#[test]
fn subscriptions_expire_after_their_duration_unless_extended() {
    let sim = start(SimConfig {
        // A "minute" of 0.05 s: duration 11 lasts 0.55 s.
        subscription_minute_s: 0.05,
        ..fast()
    });
    let alice = Session::available(&sim, ALICE, ALICE_PW);
    let short = subscribe(&alice, &["sip:bob@contoso.com"], 11);
    let kept = subscribe(&alice, &["sip:bob@contoso.com"], 11);
    let short_url = alice.url(short["_links"]["self"]["href"].as_str().unwrap());
    let kept_url = alice.url(kept["_links"]["self"]["href"].as_str().unwrap());
    std::thread::sleep(Duration::from_millis(350));
    // The captured extension: POST <subscription>?duration=11.
    let extended = alice.post_empty(&format!("{kept_url}?duration=11"));
    assert_eq!(extended.status, 204);
    std::thread::sleep(Duration::from_millis(400));
    alice
        .get(&short_url)
        .assert_error(404, "NotFound", Some("ResourceNotFound"));
    assert_eq!(alice.get(&kept_url).status, 200);
    let listed = alice
        .get(&people_link(&alice, "presenceSubscriptions"))
        .json();
    assert_eq!(
        listed["_embedded"]["presenceSubscription"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(alice.delete(&kept_url).status, 204);
    assert_eq!(alice.get(&kept_url).status, 404);
    let (_, mut next) = alice.drain_events(alice.events_url());
    sim.set_presence_elsewhere(BOB, "Busy", None);
    assert!(
        contact_events(&alice, &mut next).is_empty(),
        "no live subscription"
    );

    let bad = alice.post_json(
        &people_link(&alice, "presenceSubscriptions"),
        &json!({"duration": 0, "uris": []}),
    );
    bad.assert_error(400, "BadRequest", Some("ParameterValidationFailure"));
}

#[test]
fn batch_reads_contact_presence_of_several_people() {
    let sim = start(fast());
    let alice = Session::available(&sim, ALICE, ALICE_PW);
    sim.set_presence_elsewhere(BOB, "DoNotDisturb", None);
    let presence_of = |q: &str| {
        search(&alice, q)["_embedded"]["contact"][0]["_links"]["contactPresence"]["href"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (bob, me) = (presence_of("bob"), presence_of("alice"));
    let b = "5e0d3f5a-0d67-4a55-9f3c-0b59c3d0b2a1";
    let part = |path: &str| {
        format!(
            "--{b}\r\nContent-Type: application/http; msgtype=request\r\n\r\nGET {path} HTTP/1.1\r\nHost: fe1.contoso.com\r\nAccept: application/json\r\n\r\n"
        )
    };
    let body = format!("{}{}--{b}--\r\n", part(&bob), part(&me));
    let r = alice
        .http
        .send(
            "POST",
            &alice.link("", "batch"),
            &[
                ("Authorization", &alice.auth),
                ("Content-Type", &format!("multipart/batching;boundary={b}")),
                ("Accept", "multipart/batching"),
            ],
            body.as_bytes(),
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let bodies: Vec<Value> = text
        .split("\r\n\r\n")
        .filter_map(|chunk| {
            let start = chunk.find('{')?;
            let end = chunk.rfind('}')?;
            serde_json::from_str(&chunk[start..=end]).ok()
        })
        .collect();
    let availabilities: Vec<&str> = bodies
        .iter()
        .filter(|v| v["rel"] == "contactPresence")
        .map(|v| v["availability"].as_str().unwrap())
        .collect();
    assert_eq!(availabilities, ["DoNotDisturb", "Online"], "{text}");
    let batch = sim.log().into_iter().rfind(|e| e.route == "batch").unwrap();
    assert_eq!(batch.status, 200);
}
