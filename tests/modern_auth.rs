//! Signing in with host-supplied tokens (modern authentication) against ucwa-sim
//! `--modern-auth`: tokens minted by the control API, given with `set_token`, used for their
//! origin only, no password and no token request; a missing token names what to acquire;
//! `TokenNeeded` comes ahead of expiry and a new token keeps the session; an expired token is
//! recovered from once the host gives a new one; a foreign origin's challenge is refused as
//! insecure before the host is asked for anything. Each test checks what the simulator saw.

mod common;

use std::time::Duration;

use common::*;
use ucwa::{Availability, Client, ConnectionState, Event, Status};
use ucwa_sim::{Fault, ForeignChallenge, Sim, SimConfig};

fn modern() -> Sim {
    start(SimConfig {
        modern_auth: true,
        ..fast_config()
    })
}

/// A token for alice from the simulator's control API, as an identity provider would issue it.
fn token(sim: &Sim, lifetime_s: f64) -> (String, String) {
    let t = sim.mint_token(ALICE, lifetime_s).expect("minted");
    (t.resource, t.access_token)
}

fn no_token_requests(sim: &Sim) -> bool {
    sim.log().iter().all(|e| e.route != "token")
}

#[test]
fn host_tokens_alone_sign_in_and_no_password_or_token_request_is_sent() {
    let sim = modern();
    let (resource, access) = token(&sim, 600.0);
    let c = client(&sim);
    c.set_token(&resource, &access, 600).unwrap();
    c.sign_in_with_tokens(ALICE).unwrap();
    c.make_me_available(Availability::Unspecified).unwrap();
    c.set_availability(Availability::Busy).unwrap();
    assert_eq!(sim.user(ALICE).unwrap().availability, "Busy");
    let log = sim.log();
    assert!(no_token_requests(&sim), "{log:?}");
    assert!(log
        .iter()
        .filter(|e| e.route == "applications" || e.route == "presence")
        .all(|e| e.authorization && e.user.as_deref() == Some(ALICE)));
}

#[test]
fn without_a_token_sign_in_names_the_resource_and_where_tokens_come_from() {
    let sim = modern();
    let c = client(&sim);
    let e = c.sign_in_with_tokens(ALICE).unwrap_err();
    assert_eq!(e.status(), Status::Authentication, "{e}");
    let origin = sim.root_url().trim_end_matches('/').to_string();
    assert_eq!(e.auth_resource(), Some(origin.as_str()));
    assert_eq!(
        e.authorization_uri(),
        Some(format!("{origin}/_sim/oauth2/authorize").as_str())
    );
    // The pull model: acquire what the error names, give it, sign in again.
    let (resource, access) = token(&sim, 600.0);
    assert_eq!(resource, origin);
    c.set_token(&resource, &access, 600).unwrap();
    c.sign_in_with_tokens(ALICE).unwrap();
    assert!(no_token_requests(&sim));
}

#[test]
fn a_token_goes_only_to_its_own_origin() {
    let sim = modern();
    let (_, access) = token(&sim, 600.0);
    let c = client(&sim);
    c.set_token("https://lyncweb.contoso.com", &access, 600)
        .unwrap();
    let e = c.sign_in_with_tokens(ALICE).unwrap_err();
    assert_eq!(e.status(), Status::Authentication);
    assert!(!e.to_string().contains(&access), "{e}");
    assert!(
        sim.log().iter().all(|e| !e.authorization),
        "no request to the simulator carried the other origin's token"
    );
}

#[test]
fn token_needed_comes_ahead_of_expiry_and_a_new_token_keeps_the_session() {
    let sim = modern();
    let (resource, access) = token(&sim, 4.0);
    let c = client(&sim);
    c.set_token(&resource, &access, 4).unwrap();
    c.sign_in_with_tokens(ALICE).unwrap();
    c.make_me_available(Availability::Unspecified).unwrap();
    // Half of a 4 s lifetime: the host hears of it about 2 s in.
    let seen = wait_event(&c, Duration::from_secs(4), |e| {
        matches!(e, Event::TokenNeeded { .. })
    });
    match seen.last() {
        Some(Event::TokenNeeded {
            resource: r,
            authorization_uri,
        }) => {
            assert_eq!(r, &resource);
            // The token was given before sign-in, so no challenge named a source yet.
            assert_eq!(authorization_uri, &None);
        }
        other => panic!("{other:?}"),
    }
    let (_, fresh) = token(&sim, 600.0);
    c.set_token(&resource, &fresh, 600).unwrap();
    std::thread::sleep(Duration::from_secs(3)); // past the first token's expiry
    c.set_availability(Availability::DoNotDisturb).unwrap();
    assert_eq!(sim.user(ALICE).unwrap().availability, "DoNotDisturb");
    assert!(no_token_requests(&sim));
}

#[test]
fn an_expired_token_is_recovered_from_once_the_host_gives_a_new_one() {
    let sim = modern();
    let (resource, access) = token(&sim, 2.0);
    let c = client(&sim);
    c.set_token(&resource, &access, 2).unwrap();
    c.sign_in_with_tokens(ALICE).unwrap();
    c.make_me_available(Availability::Unspecified).unwrap();
    // The host ignores TokenNeeded: the channel fails once the token is gone.
    wait_event(&c, Duration::from_secs(10), |e| {
        matches!(
            e,
            Event::ConnectionStateChanged {
                state: ConnectionState::Recovering,
                reason: Some(r),
            } if r.status() == Status::Authentication && r.auth_resource() == Some(resource.as_str())
        )
    });
    let e = c.set_availability(Availability::Busy).unwrap_err();
    assert_eq!(e.auth_resource(), Some(resource.as_str()));
    let (_, fresh) = token(&sim, 600.0);
    c.set_token(&resource, &fresh, 600).unwrap();
    wait_event(&c, Duration::from_secs(20), |e| {
        matches!(
            e,
            Event::ConnectionStateChanged {
                state: ConnectionState::Recovered,
                ..
            }
        )
    });
    c.set_availability(Availability::Busy).unwrap();
    assert_eq!(sim.user(ALICE).unwrap().availability, "Busy");
}

/// Whether any text the host can read names a place to get a token.
fn relays_an_authorization_uri(e: &ucwa::Error) -> bool {
    let text = format!("{e} | {e:?} {:?} {:?}", e.code(), e.subcode());
    e.authorization_uri().is_some() || text.contains("oauth2/authorize")
}

#[test]
fn a_foreign_applications_link_with_host_tokens_is_insecure_and_relays_no_token_request() {
    // The foreign listener challenges with its own authorization_uri (an attacker's page), or
    // reflects the real pool's: either way the host is not asked for a token for it.
    for challenge in [ForeignChallenge::Own, ForeignChallenge::Reflect] {
        let sim = start(SimConfig {
            modern_auth: true,
            foreign_apps_users: vec![ALICE.into()],
            foreign_challenge: challenge,
            ..fast_config()
        });
        assert!(sim.foreign_url().is_some(), "the foreign listener runs");
        let (resource, access) = token(&sim, 600.0);
        let c = client(&sim);
        c.set_token(&resource, &access, 600).unwrap();
        let e = c.sign_in_with_tokens(ALICE).unwrap_err();
        assert_eq!(e.status(), Status::Insecure, "{challenge}: {e}");
        assert!(!relays_an_authorization_uri(&e), "{challenge}: {e:?}");
        assert_eq!(e.auth_resource(), None, "{challenge}: {e:?}");
        let seen = drain(&c, Duration::from_millis(300));
        assert!(
            !seen.iter().any(|e| matches!(e, Event::TokenNeeded { .. })),
            "{challenge}: {seen:?}"
        );
        let log = sim.log();
        let at_foreign: Vec<_> = log.iter().filter(|e| e.pool == "foreign").collect();
        assert!(!at_foreign.is_empty(), "{challenge}: the link was followed");
        assert!(
            at_foreign.iter().all(|e| !e.authorization),
            "{challenge}: the foreign origin saw no token: {at_foreign:?}"
        );
        assert!(no_token_requests(&sim), "{challenge}: {log:?}");
    }
}

#[test]
fn a_foreign_event_link_with_host_tokens_is_insecure_and_raises_no_token_needed() {
    // Another user's applications link starts the foreign listener; alice's stays on pool 1.
    let sim = start(SimConfig {
        modern_auth: true,
        foreign_apps_users: vec!["bob@contoso.com".into()],
        foreign_challenge: ForeignChallenge::Own,
        ..fast_config()
    });
    let foreign = sim.foreign_url().expect("the foreign listener runs");
    let (resource, access) = token(&sim, 600.0);
    let c = client(&sim);
    c.set_token(&resource, &access, 600).unwrap();
    c.sign_in_with_tokens(ALICE).unwrap();
    c.make_me_available(Availability::Unspecified).unwrap();
    let next = format!("{foreign}ucwa/oauth/v1/applications/1/events?ack=2");
    sim.inject_fault(respond(
        "events",
        1,
        200,
        &[("Content-Type", "application/json")],
        &format!(r#"{{"_links":{{"next":{{"href":"{next}"}}}},"sender":[]}}"#),
    ));
    let seen = wait_event(&c, Duration::from_secs(10), |e| {
        matches!(
            e,
            Event::ConnectionStateChanged {
                state: ConnectionState::Recovering,
                reason: Some(_),
            }
        )
    });
    let reason = seen.iter().find_map(|e| match e {
        Event::ConnectionStateChanged {
            reason: Some(r), ..
        } => Some(r.clone()),
        _ => None,
    });
    let reason = reason.expect("the refusal is reported");
    assert_eq!(reason.status(), Status::Insecure, "{reason}");
    assert!(!relays_an_authorization_uri(&reason), "{reason:?}");
    let later = drain(&c, Duration::from_millis(500));
    assert!(
        !seen
            .iter()
            .chain(later.iter())
            .any(|e| matches!(e, Event::TokenNeeded { .. })),
        "{seen:?} {later:?}"
    );
    let log = sim.log();
    assert!(
        log.iter().any(|e| e.pool == "foreign"),
        "the link was followed"
    );
    assert!(log
        .iter()
        .filter(|e| e.pool == "foreign")
        .all(|e| !e.authorization));
    assert!(no_token_requests(&sim));
}

/// Every event that arrives within `limit`.
fn drain(c: &Client, limit: Duration) -> Vec<Event> {
    let end = std::time::Instant::now() + limit;
    let mut seen = Vec::new();
    while std::time::Instant::now() < end {
        if let Ok(Some(e)) = c.next_event(Duration::from_millis(50)) {
            seen.push(e);
        }
    }
    seen
}

#[test]
fn set_token_refuses_what_cannot_be_a_token_for_an_origin() {
    let sim = modern();
    let c = Client::new(&sim.root_url()).unwrap();
    let origin = sim.root_url();
    for (resource, token, life) in [
        ("lyncweb.contoso.com", "t0ken", 60),
        ("http://lyncweb.contoso.com", "t0ken", 60),
        ("https://lyncweb.contoso.com/ucwa", "t0ken", 60),
        ("https://u:p@lyncweb.contoso.com", "t0ken", 60),
        (origin.as_str(), "", 60),
        (origin.as_str(), "sec\r\nret-t0ken", 60),
        (origin.as_str(), "t0ken", 0),
        (origin.as_str(), "t0ken", 8 * 24 * 3600),
    ] {
        let e = c.set_token(resource, token, life).unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument, "{resource} {life}");
        assert!(!e.to_string().contains("ret-t0ken"), "{e}");
    }
    assert!(sim.log().is_empty());
}

/// One 401 on `route` that quotes `token` wherever a careless pool could: in its Bearer
/// challenge's `authorization_uri` (which reaches the host), its diagnostics and its body.
fn echoing_401(route: &str, method: &str, token: &str) -> Fault {
    let challenge =
        format!(r#"Bearer authorization_uri="https://login.contoso.com/authorize?hint={token}""#);
    let diagnostics = format!(r#"28070;reason="token {token} refused""#);
    Fault {
        method: Some(method.into()),
        ..respond(
            route,
            1,
            401,
            &[
                ("WWW-Authenticate", challenge.as_str()),
                ("X-Ms-diagnostics", diagnostics.as_str()),
                ("Content-Type", "application/json"),
            ],
            &format!(r#"{{"code":"Unauthorized","message":"token {token} refused"}}"#),
        )
    }
}

#[test]
fn a_refused_token_stays_redacted_in_later_errors_and_events() {
    let sim = modern();
    let (resource, access) = token(&sim, 600.0);
    let c = client(&sim);
    c.set_token(&resource, &access, 600).unwrap();
    c.sign_in_with_tokens(ALICE).unwrap();
    c.make_me_available(Availability::Unspecified).unwrap();
    let mut seen = Vec::new();
    let token_needed = |e: &Event| matches!(e, Event::TokenNeeded { .. });
    let recovering = |e: &Event| {
        matches!(
            e,
            Event::ConnectionStateChanged {
                state: ConnectionState::Recovering,
                reason: Some(_),
            }
        )
    };

    // The pool refuses the token on the event channel, quoting it.
    sim.inject_fault(echoing_401("events", "GET", &access));
    seen.extend(wait_event(&c, Duration::from_secs(10), token_needed));
    // Later 401s of that pool quote it again, though the client no longer sends it: to a
    // foreground call, and to the channel when it refuses the next token.
    sim.inject_fault(echoing_401("presence", "POST", &access));
    let e = c.set_availability(Availability::Busy).unwrap_err();
    assert_eq!(e.auth_resource(), Some(resource.as_str()), "{e}");
    let (_, fresh) = token(&sim, 600.0);
    c.set_token(&resource, &fresh, 600).unwrap();
    seen.extend(wait_event(&c, Duration::from_secs(20), |e| {
        matches!(
            e,
            Event::ConnectionStateChanged {
                state: ConnectionState::Recovered,
                ..
            }
        )
    }));
    sim.inject_fault(echoing_401("events", "GET", &access));
    let (mut told, mut reason) = (false, false);
    seen.extend(wait_event(&c, Duration::from_secs(10), |e| {
        told |= token_needed(e);
        reason |= recovering(e);
        told && reason
    }));

    // What the pool saw: the token refused once, the foreground call sent without it, the
    // fresh one refused in turn.
    let log = sim.log();
    let echoed: Vec<(String, bool)> = log
        .iter()
        .filter(|e| e.status == 401 && matches!(e.route.as_str(), "events" | "presence"))
        .filter(|e| e.route == "presence" || e.authorization)
        .map(|e| (e.route.clone(), e.authorization))
        .collect();
    assert_eq!(
        echoed,
        [
            ("events".to_string(), true),
            ("presence".to_string(), false),
            ("events".to_string(), true)
        ],
        "{log:?}"
    );
    let texts: Vec<String> = std::iter::once(host_text(&e))
        .chain(seen.iter().map(event_text))
        .collect();
    assert!(texts.iter().any(|t| t.contains("[redacted]")), "{texts:?}");
    for t in &texts {
        assert!(!t.contains(&access), "the refused token leaked: {t}");
    }
}
