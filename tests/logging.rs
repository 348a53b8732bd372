//! The library's log records, pulled as a C host pulls them (`ucwa::log::next`): at trace,
//! none holds a secret (password, tokens, a server's echo of them, NTLM messages, a proxy's
//! credentials) and, unless identity is shown, no user name or SIP URI; every exchange the
//! simulator saw has its record; a flood keeps the buffer bounded and says what it dropped;
//! each record names its client. The buffer is process-wide, so the tests take turns.

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use ucwa::log::{self, Level, Record};
use ucwa::Availability;
use ucwa_sim::{FaultAction, SimConfig, WindowsAuth};

static TURN: Mutex<()> = Mutex::new(());

/// Runs `f` with records kept at `level`, and returns every record it made.
fn records_of(level: Level, f: impl FnOnce()) -> Vec<Record> {
    let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    while log::next(Duration::ZERO).is_some() {}
    log::set_level(level);
    f();
    log::set_level(Level::Off);
    std::iter::from_fn(|| log::next(Duration::ZERO)).collect()
}

fn text(records: &[Record]) -> String {
    records
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {}\n",
                r.level.name(),
                r.target,
                r.client,
                r.message
            )
        })
        .collect()
}

/// Exchange records: `METHOD URL (step): …`.
fn exchanges(records: &[Record]) -> Vec<&Record> {
    records
        .iter()
        .filter(|r| r.target == "ucwa::transport::logged")
        .filter(|r| {
            ["GET ", "POST ", "PUT ", "DELETE "]
                .iter()
                .any(|m| r.message.starts_with(m))
        })
        .collect()
}

/// Asserts no token (the simulator's are `cwt=AAEB…`), password or user identity is in `all`.
fn assert_clean(all: &str, password: &str) {
    assert!(!all.contains(password), "the password leaked:\n{all}");
    assert!(!all.contains("AAEB"), "a token leaked:\n{all}");
    let lower = all.to_ascii_lowercase();
    assert!(!lower.contains("alice"), "the user's name leaked:\n{all}");
}

#[test]
fn no_record_at_trace_holds_a_secret_a_name_or_a_sip_uri_and_every_exchange_has_one() {
    let sim = start(fast_config());
    let mut id = 0;
    let records = records_of(Level::Trace, || {
        let c = available(&sim);
        id = c.log_id();
        // A server that echoes every secret it was sent, in its body and X-Ms-Diagnostics.
        sim.inject_fault(fault(
            "presence",
            1,
            FaultAction::EchoSecrets { status: 400 },
        ));
        assert!(c.set_availability(Availability::Busy).is_err());
        c.set_availability(Availability::Away).unwrap();
        c.contact_presence("sip:bob@contoso.com").unwrap();
        c.sign_out().unwrap();
    });
    let all = text(&records);
    assert_clean(&all, ALICE_PW);
    assert!(
        !all.to_ascii_lowercase().contains("bob@"),
        "a contact's SIP URI leaked:\n{all}"
    );
    assert!(
        all.contains("[redacted]"),
        "the echoed secrets were redacted:\n{all}"
    );
    assert!(
        all.contains("X-Ms-Diagnostics"),
        "the echo's diagnostics are quoted:\n{all}"
    );
    let seen = sim.log();
    let mine: Vec<_> = exchanges(&records)
        .into_iter()
        .filter(|r| r.client == id)
        .collect();
    let pgets = mine
        .iter()
        .filter(|r| r.message.contains("(event channel)"))
        .count();
    // The P-GET parked when the client signed out is answered after the last record is taken.
    let seen_pgets = on_route(&seen, "events").len();
    assert!(
        mine.len() - pgets == seen.len() - seen_pgets && pgets + 1 >= seen_pgets,
        "{} requests seen by the simulator ({seen_pgets} P-GETs), {} exchange records ({pgets}):\n{all}",
        seen.len(),
        mine.len()
    );
    for route in ["token", "applications", "presence"] {
        let path = &on_route(&seen, route)[0].path;
        let path = path.split('?').next().unwrap();
        assert!(
            all.contains(path),
            "the {route} exchange ({path}) has a record:\n{all}"
        );
    }
    assert!(
        all.contains("grant for "),
        "the grant chosen is said:\n{all}"
    );
    assert!(
        all.contains("event received"),
        "the events received are said:\n{all}"
    );
}

#[test]
fn the_windows_grant_leaves_no_ntlm_message_or_password_in_any_record() {
    let sim = start(SimConfig {
        grants: vec!["urn:microsoft.rtc:windows".into()],
        windows_auth: vec![WindowsAuth::Ntlm],
        ..fast_config()
    });
    let records = records_of(Level::Trace, || {
        let c = client(&sim);
        c.sign_in(r"CONTOSO\alice", ALICE_PW).unwrap();
        c.sign_out().unwrap();
    });
    let all = text(&records);
    assert_clean(&all, ALICE_PW);
    // NTLMSSP in base64, as every NTLM message starts.
    assert!(
        !all.contains("TlRMTVNT") && !all.contains("NTLMSSP"),
        "{all}"
    );
    assert!(
        all.contains("grant for ") && all.contains("Windows"),
        "{all}"
    );
    assert!(
        sim.token_log()
            .iter()
            .any(|e| e.leg.as_deref() == Some("authenticate")),
        "the handshake ran"
    );
}

#[test]
fn a_proxys_credentials_never_reach_a_record() {
    let (sim, ca) = tls_sim("log-proxy");
    sim.proxy_require_credentials(Some(("agent", "pr0xy-pass")));
    let records = records_of(Level::Trace, || {
        let c = client(&sim);
        c.set_option("ca_file", ca.to_str().unwrap()).unwrap();
        c.set_option(
            "proxy",
            &format!("http://agent:pr0xy-pass@{}", sim.proxy_addr()),
        )
        .unwrap();
        c.sign_in(ALICE, ALICE_PW).unwrap();
        c.sign_out().unwrap();
    });
    let all = text(&records);
    assert_clean(&all, ALICE_PW);
    assert!(
        !all.contains("pr0xy-pass") && !all.contains("agent:"),
        "{all}"
    );
    // base64("agent:pr0xy-pass"), the Basic value.
    assert!(!all.contains("YWdlbnQ6cHIweHktcGFzcw"), "{all}");
    let proxy = format!("proxy=http://{}/", sim.proxy_addr());
    assert!(
        all.contains(&proxy),
        "exchanges name the proxy they went through:\n{all}"
    );
    assert!(sim.proxy_log().iter().all(|e| e.authorized));
    let _ = std::fs::remove_dir_all(ca.parent().unwrap());
}

#[test]
fn identity_shown_on_request_names_the_user_but_never_a_secret() {
    let sim = start(fast_config());
    let records = records_of(Level::Debug, || {
        log::show_identity(true);
        let c = signed_in(&sim);
        c.sign_out().unwrap();
        log::show_identity(false);
    });
    let all = text(&records);
    assert!(all.contains(ALICE), "{all}");
    assert!(!all.contains(ALICE_PW) && !all.contains("AAEB"), "{all}");
}

#[test]
fn interleaved_clients_are_told_apart_by_their_id() {
    let sim = start(fast_config());
    let mut ids = Vec::new();
    let records = records_of(Level::Info, || {
        let (a, b) = (client(&sim), client(&sim));
        ids = vec![a.log_id(), b.log_id()];
        let t = std::thread::spawn(move || b.sign_in(ALICE, ALICE_PW).map(|_| b));
        a.sign_in(ALICE, ALICE_PW).unwrap();
        t.join().unwrap().unwrap();
    });
    assert_ne!(ids[0], ids[1]);
    for id in ids {
        let signed_in = records
            .iter()
            .filter(|r| r.client == id && r.message.starts_with("signed in"))
            .count();
        assert_eq!(signed_in, 1, "{}", text(&records));
    }
    assert_eq!(on_route(&sim.log(), "applications").len(), 2);
}

#[test]
fn a_fault_storm_at_trace_keeps_the_buffer_bounded_and_reports_the_drops() {
    let sim = start(fast_config());
    let before = log::dropped();
    let mut calls = 0;
    let records = records_of(Level::Trace, || {
        let c = available(&sim);
        sim.inject_fault(respond("presence", 0, 500, &[], "storm"));
        let end = Instant::now() + Duration::from_secs(120);
        // Nobody reads: every failing call's records pile up until the buffer drops the oldest.
        while log::dropped() == before && Instant::now() < end {
            let _ = c.presence();
            calls += 1;
        }
        sim.clear_faults();
    });
    let dropped = log::dropped() - before;
    assert!(dropped > 0, "{calls} failing calls dropped nothing");
    // The buffer's bound, plus the record that says how many were dropped.
    assert!(records.len() <= 4096 + 1, "{} records kept", records.len());
    assert_eq!(records[0].level, Level::Warn);
    assert!(
        records[0].message.contains("log records dropped"),
        "{:?}",
        records[0]
    );
    let failed = on_route(&sim.log(), "presence")
        .iter()
        .filter(|e| e.status == 500)
        .count();
    assert!(
        failed >= calls,
        "the simulator answered each call's 500: {failed} < {calls}"
    );
}
