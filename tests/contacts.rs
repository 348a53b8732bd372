//! Other people's presence through the Rust API against ucwa-sim: one contact's presence, note
//! and location (changed elsewhere: through the control API and by the contact's own client),
//! before and after makeMeAvailable; bulk reads through `batch` with the request counts the
//! simulator saw; unknown contacts; and the arguments refused before anything is sent.

mod common;

use common::*;
use ucwa::{Availability, Client, Status, MAX_BATCH_PARTS, MAX_CONTACTS_PER_CALL};
use ucwa_sim::LogEntry;

const BOB: &str = "bob@contoso.com";

/// Alice's own requests, without her event channel and its follow-ups.
fn alices(log: &[LogEntry]) -> Vec<LogEntry> {
    foreground(log)
        .into_iter()
        .filter(|e| e.user.as_deref() == Some(ALICE))
        .collect()
}

#[test]
fn a_contact_read_shows_what_was_changed_elsewhere_before_and_after_make_me_available() {
    let sim = start(fast_config());
    // Bob's note and location come from his own client; his presence from "another device".
    let bob = client(&sim);
    bob.sign_in(BOB, "bob-password").unwrap();
    bob.make_me_available(Availability::Unspecified).unwrap();
    bob.set_note("Heads down today").unwrap();
    bob.set_location("Building 7").unwrap();
    sim.set_presence_elsewhere(BOB, "Busy", Some("in-a-meeting"));

    let alice = signed_in(&sim);
    sim.clear_log();
    let p = alice.contact_presence("sip:bob@contoso.com").unwrap();
    assert_eq!(p.availability, Availability::Busy);
    assert_eq!(p.activity.as_deref(), Some("in-a-meeting"));
    assert_eq!(
        alice.contact_note(BOB).unwrap().as_deref(),
        Some("Heads down today")
    );
    assert_eq!(
        alice
            .contact_location("SIP:bob@contoso.com")
            .unwrap()
            .as_deref(),
        Some("Building 7")
    );
    let log = alices(&sim.log());
    let paths: Vec<(&str, &str, u16)> = log
        .iter()
        .map(|e| (e.method.as_str(), e.path.as_str(), e.status))
        .collect();
    assert_eq!(
        paths.len(),
        4,
        "contact once, then its three links: {paths:?}"
    );
    assert!(paths[0].1.ends_with("/people/bob@contoso.com") && paths[0].2 == 200);
    for (entry, tail) in log[1..].iter().zip(["/presence", "/note", "/location"]) {
        assert_eq!((entry.method.as_str(), entry.status), ("GET", 200));
        assert!(entry
            .path
            .ends_with(&format!("/people/bob@contoso.com{tail}")));
        assert!(entry.authorization);
    }
    assert_eq!(alice.cached_contacts(), 1);

    // After makeMeAvailable the same reads work, and see a newer change.
    alice.make_me_available(Availability::Unspecified).unwrap();
    sim.set_presence_elsewhere(BOB, "BeRightBack", None);
    sim.clear_log();
    let p = alice.contact_presence(BOB).unwrap();
    assert_eq!(p.availability, Availability::BeRightBack);
    assert_eq!(p.activity, None);
    let log = alices(&sim.log());
    assert_eq!(log.len(), 1, "the contact's links are kept: {log:?}");
    assert!(log[0].path.ends_with("/people/bob@contoso.com/presence"));
    assert_eq!(sim.user(BOB).unwrap().availability, "BeRightBack");
}

#[test]
fn an_unknown_contact_is_the_servers_404_in_single_reads_and_unknown_in_bulk() {
    let sim = start(fast_config());
    let alice = signed_in(&sim);
    sim.clear_log();
    for read in [
        Box::new(|c: &Client| c.contact_presence("sip:nobody@contoso.com").map(|_| ()))
            as Box<dyn Fn(&Client) -> ucwa::error::Result<()>>,
        Box::new(|c: &Client| c.contact_note("nobody@contoso.com").map(|_| ())),
        Box::new(|c: &Client| c.contact_location("nobody@contoso.com").map(|_| ())),
    ] {
        let e = read(&alice).unwrap_err();
        assert_eq!(e.status(), Status::Server);
        assert_eq!(e.http_status(), Some(404));
        assert_eq!(e.code(), Some("NotFound"));
        assert_eq!(e.subcode(), Some("ResourceNotFound"));
    }
    let log = alices(&sim.log());
    assert_eq!(log.len(), 3, "one GET each, nothing retried: {log:?}");
    assert!(log
        .iter()
        .all(|e| e.status == 404 && e.path.ends_with("/people/nobody@contoso.com")));

    sim.set_presence_elsewhere(BOB, "DoNotDisturb", None);
    sim.clear_log();
    let got = alice
        .contacts_availability(&["sip:nobody@contoso.com", BOB])
        .unwrap();
    assert_eq!(got, [Availability::Unknown, Availability::DoNotDisturb]);
    let log = alices(&sim.log());
    assert_eq!(
        log.iter()
            .map(|e| (e.route.as_str(), e.status))
            .collect::<Vec<_>>(),
        [("batch", 200), ("batch", 200)],
        "one batch of look-ups, one of presence reads"
    );
    assert!(log.iter().all(|e| e.method == "POST"));
}

#[test]
fn a_bulk_read_of_200_contacts_takes_as_few_batches_as_the_part_limit_allows() {
    let names: Vec<String> = (0..200)
        .map(|i| format!("user{i:03}@contoso.com"))
        .collect();
    let mut config = fast_config();
    config.users = std::iter::once((ALICE.to_owned(), ALICE_PW.to_owned()))
        .chain(names.iter().map(|n| (n.clone(), "pw".to_owned())))
        .collect();
    let sim = start(config);
    for (i, n) in names.iter().enumerate() {
        if i % 3 == 0 {
            sim.set_presence_elsewhere(n, "Busy", None);
        } else if i % 3 == 1 {
            sim.set_presence_elsewhere(n, "Away", None);
        }
    }
    let alice = signed_in(&sim);
    sim.clear_log();
    let got = alice.contacts_availability(&names).unwrap();
    let want: Vec<Availability> = (0..200)
        .map(|i| match i % 3 {
            0 => Availability::Busy,
            1 => Availability::Away,
            _ => Availability::Offline,
        })
        .collect();
    assert_eq!(got, want);
    let batches = 200usize.div_ceil(MAX_BATCH_PARTS);
    let log = alices(&sim.log());
    assert!(log.iter().all(|e| e.route == "batch" && e.status == 200));
    assert_eq!(
        log.len(),
        2 * batches,
        "{batches} batches of look-ups and {batches} of presence reads"
    );

    // The links are kept: a second read is presence batches only, and sees changes.
    sim.set_presence_elsewhere(&names[2], "DoNotDisturb", None);
    sim.clear_log();
    let again = alice.contacts_availability(&names).unwrap();
    assert_eq!(again[2], Availability::DoNotDisturb);
    assert_eq!(again[3..], want[3..]);
    let log = alices(&sim.log());
    assert_eq!(log.len(), batches, "{log:?}");
    assert!(log.iter().all(|e| e.route == "batch" && e.method == "POST"));
    assert_eq!(alice.cached_contacts(), 200);
}

#[test]
fn contacts_that_are_not_sip_addresses_or_too_many_are_refused_before_any_request() {
    let sim = start(fast_config());
    let alice = signed_in(&sim);
    sim.clear_log();
    for bad in [
        "",
        "bob",
        "sip:",
        "@contoso.com",
        "bob@",
        "bob@x@y",
        "bob@contoso.com/presence",
        "bob@contoso.com?x=1",
        "bo b@contoso.com",
        "../me@contoso.com/..",
    ] {
        let e = alice.contact_presence(bad).unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument, "{bad:?}");
        let e = alice.contacts_availability(&[BOB, bad]).unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument, "{bad:?}");
    }
    let many = vec![BOB; MAX_CONTACTS_PER_CALL + 1];
    let e = alice.contacts_availability(&many).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert_eq!(alice.contacts_availability::<&str>(&[]).unwrap(), []);
    assert!(alices(&sim.log()).is_empty(), "nothing was sent");
}

#[test]
fn contact_reads_need_a_signed_in_client() {
    let sim = start(fast_config());
    let c = client(&sim);
    assert_eq!(
        c.contact_presence(BOB).unwrap_err().status(),
        Status::InvalidState
    );
    assert_eq!(
        c.contacts_availability(&[BOB]).unwrap_err().status(),
        Status::InvalidState
    );
    assert!(sim.log().is_empty());
}
