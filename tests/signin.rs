//! Sign-in against the challenge shapes and grant lists real pools and their proxies send:
//! challenges folded into one `WWW-Authenticate` line, a password-only grant list, a pool that
//! offers no grant the sign-in can use, and the `grant` option (the Windows grant itself is
//! `windows_auth.rs`). Each test asserts what the
//! simulator saw, above all whether a token request (the only request that carries the
//! password) was made.

mod common;

use common::*;
use ucwa::Status;
use ucwa_sim::{LogEntry, SimConfig};

/// The token endpoint's requests: the only ones that carry the password.
fn token_requests(log: &[LogEntry]) -> Vec<&LogEntry> {
    on_route(log, "token")
}

/// What each request of the sign-in was, in order.
fn routes(log: &[LogEntry]) -> Vec<(String, String, u16)> {
    log.iter()
        .map(|e| (e.method.clone(), e.route.clone(), e.status))
        .collect()
}

fn windows_only() -> SimConfig {
    SimConfig {
        grants: vec!["urn:microsoft.rtc:windows".into()],
        ..fast_config()
    }
}

#[test]
fn sign_in_reads_challenges_folded_into_one_line() {
    let sim = start(SimConfig {
        fold_challenges: true,
        ..fast_config()
    });
    let c = client(&sim);
    c.sign_in(ALICE, ALICE_PW)
        .expect("sign in through a folded challenge");
    let log = sim.log();
    let seen = routes(&log);
    let expect = |m: &str, r: &str, s: u16| (m.to_string(), r.to_string(), s);
    assert_eq!(
        seen,
        [
            expect("GET", "discovery", 200),
            expect("GET", "user", 401),
            expect("POST", "token", 200),
            expect("GET", "user", 200),
            expect("POST", "applications", 201),
        ]
    );
    assert_eq!(token_requests(&log)[0].user.as_deref(), Some(ALICE));
    assert!(log[4].authorization, "applications POST carries the token");
    assert_eq!(sim.user(ALICE).unwrap().applications.len(), 1);
}

#[test]
fn a_password_only_grant_list_signs_in() {
    let sim = start(SimConfig {
        grants: vec!["password".into()],
        ..fast_config()
    });
    let c = client(&sim);
    c.sign_in(ALICE, ALICE_PW).expect("sign in");
    let log = sim.log();
    let tokens = token_requests(&log);
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].status, 200);
    assert!(on_route(&log, "applications")
        .iter()
        .any(|e| e.method == "POST" && e.status == 201));
}

#[test]
fn grant_password_on_a_windows_only_pool_fails_naming_its_grants_and_gets_no_password() {
    for fold_challenges in [false, true] {
        let sim = start(SimConfig {
            fold_challenges,
            ..windows_only()
        });
        let c = client(&sim);
        c.set_option("grant", "password").unwrap();
        let e = c.sign_in(ALICE, ALICE_PW).unwrap_err();
        assert_eq!(e.status(), Status::Authentication, "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains(
                "the server offers urn:microsoft.rtc:windows; this sign-in can use password"
            ),
            "{msg}"
        );
        assert!(!msg.contains(ALICE_PW));
        let log = sim.log();
        assert!(
            token_requests(&log).is_empty(),
            "no token request, so no password sent: {:?}",
            routes(&log)
        );
        assert!(on_route(&log, "applications").is_empty());
        assert_eq!(
            routes(&log).last().map(|r| (r.1.as_str(), r.2)),
            Some(("user", 401)),
            "the challenge was the last thing asked for (folded: {fold_challenges})"
        );
    }
}

#[test]
fn a_pool_offering_only_anonymous_meetings_names_its_grants_and_both_usable_ones() {
    let sim = start(SimConfig {
        grants: vec!["urn:microsoft.rtc:anonmeeting".into()],
        fold_challenges: true,
        ..fast_config()
    });
    let e = client(&sim).sign_in(ALICE, ALICE_PW).unwrap_err();
    assert_eq!(e.status(), Status::Authentication);
    assert!(
        e.to_string().contains(
            "the server offers urn:microsoft.rtc:anonmeeting; this sign-in can use password, urn:microsoft.rtc:windows"
        ),
        "{e}"
    );
    assert!(token_requests(&sim.log()).is_empty());
}

#[test]
fn grant_windows_on_a_password_only_pool_fails_without_a_token_request() {
    let sim = start(SimConfig {
        grants: vec!["password".into()],
        ..fast_config()
    });
    let c = client(&sim);
    c.set_option("grant", "windows").unwrap();
    let e = c.sign_in(ALICE, ALICE_PW).unwrap_err();
    assert_eq!(e.status(), Status::Authentication, "{e}");
    assert!(
        e.to_string()
            .contains("the server offers password; this sign-in can use urn:microsoft.rtc:windows"),
        "{e}"
    );
    let log = sim.log();
    assert!(
        token_requests(&log).is_empty(),
        "no token request: {:?}",
        routes(&log)
    );
}

#[test]
fn grant_password_and_auto_sign_in_with_the_password_grant() {
    for grant in ["password", "auto", "AUTO"] {
        let sim = start(fast_config());
        let c = client(&sim);
        c.set_option("grant", grant).unwrap();
        c.sign_in(ALICE, ALICE_PW)
            .unwrap_or_else(|e| panic!("{grant}: {e}"));
        let log = sim.log();
        assert_eq!(token_requests(&log).len(), 1, "{grant}");
        assert_eq!(token_requests(&log)[0].status, 200, "{grant}");
    }
}

#[test]
fn bad_grant_values_are_refused_and_change_nothing() {
    let sim = start(windows_only());
    let c = client(&sim);
    c.set_option("grant", "password").unwrap();
    for bad in [
        "",
        "ntlm",
        "password,windows",
        "urn:microsoft.rtc:windows",
        "pass word",
    ] {
        let e = c.set_option("grant", bad).unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument, "{bad:?}");
        assert!(e.to_string().contains("auto, password or windows"), "{e}");
    }
    // Still password, which this pool does not offer: sign-in fails before anything is sent.
    assert_eq!(
        c.sign_in(ALICE, ALICE_PW).unwrap_err().status(),
        Status::Authentication
    );
    assert!(token_requests(&sim.log()).is_empty());
}

#[test]
fn a_bearer_only_challenge_names_its_authorization_uri_and_gets_no_password() {
    // What an Online or modern-auth pool sends without MsRtcOAuth.
    let sim = start(fast_config());
    sim.inject_fault(respond(
        "user",
        1,
        401,
        &[(
            "WWW-Authenticate",
            r#"Bearer trusted_issuers="00000001-0000-0000-c000-000000000000@*", client_id="00000004-0000-0ff1-ce00-000000000000", authorization_uri="https://login.windows.net/common/oauth2/authorize""#,
        )],
        "",
    ));
    let e = client(&sim).sign_in(ALICE, ALICE_PW).unwrap_err();
    assert_eq!(e.status(), Status::Authentication, "{e}");
    assert!(
        e.to_string().contains(
            "401 without an MsRtcOAuth challenge; the server asks for a Bearer token from https://login.windows.net/common/oauth2/authorize"
        ),
        "{e}"
    );
    assert!(token_requests(&sim.log()).is_empty());
}
