//! The shape of the 401 challenge: `grants` (the `grant_type` list `MsRtcOAuth` advertises, and
//! the token endpoint refusing the password grant when the list lacks it, as a pool that does
//! not offer it answers) and `fold_challenges` (every challenge on one `WWW-Authenticate` line,
//! Bearer first, as reverse proxies fold them).

mod support;

use support::*;
use ucwa_sim::{BearerChallenge, SimConfig, DEFAULT_GRANTS};

/// The anonymous GET of the user resource: the 401 that carries the challenges.
fn challenged(sim: &ucwa_sim::Sim) -> Response {
    let http = Http::plain();
    let root = http.get(&sim.root_url(), &[]).json();
    let r = http.get(&href_at(&root, "/_links/user/href"), &[]);
    assert_eq!(r.status, 401, "{}", r.text());
    r
}

fn token_url(sim: &ucwa_sim::Sim) -> String {
    format!("{}WebTicket/oauthtoken", sim.root_url())
}

#[test]
fn the_default_grant_list_is_the_on_prem_one_and_grants_replaces_it() {
    let sim = start(fast());
    let r = challenged(&sim);
    let lines = r.headers_named("www-authenticate");
    assert_eq!(lines.len(), 2);
    assert_eq!(
        lines[1],
        format!(
            "MsRtcOAuth href=\"{}\",grant_type=\"{}\"",
            token_url(&sim),
            DEFAULT_GRANTS.join(",")
        )
    );

    let sim = start(SimConfig {
        grants: vec![
            "urn:microsoft.rtc:windows".into(),
            "urn:microsoft.rtc:anonmeeting".into(),
        ],
        ..fast()
    });
    assert_eq!(
        challenged(&sim).headers_named("www-authenticate")[1],
        format!(
            "MsRtcOAuth href=\"{}\",grant_type=\"urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting\"",
            token_url(&sim)
        )
    );
}

#[test]
fn without_password_in_the_list_the_password_grant_is_unsupported() {
    let sim = start(SimConfig {
        grants: vec!["urn:microsoft.rtc:windows".into()],
        ..fast()
    });
    let r = password_token(&Http::plain(), &token_url(&sim), ALICE, ALICE_PW);
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"], "unsupported_grant_type");
    assert!(r.header("x-ms-diagnostics").unwrap().starts_with("28029;"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let log = sim.log();
    let last = log.last().unwrap();
    assert_eq!((last.route.as_str(), last.status), ("token", 400));
    assert_eq!(last.user.as_deref(), Some(ALICE));

    // The other grants keep their answers; the passive grant still points at its page.
    let http = Http::plain();
    let passive = http
        .send(
            "POST",
            &token_url(&sim),
            &[("Content-Type", FORM)],
            b"grant_type=urn:microsoft.rtc:passive",
        )
        .unwrap();
    assert_eq!(passive.json()["error"], "invalid_grant");

    let sim = start(SimConfig {
        grants: vec!["password".into()],
        ..fast()
    });
    let r = password_token(&Http::plain(), &token_url(&sim), ALICE, ALICE_PW);
    assert_eq!(r.status, 200, "{}", r.text());
    Session::sign_in(&sim, ALICE, ALICE_PW);
}

#[test]
fn fold_challenges_sends_bearer_then_ms_rtc_oauth_on_one_line() {
    for variant in [
        BearerChallenge::Standard,
        BearerChallenge::EmptyIssuers,
        BearerChallenge::AuthorizationUri,
    ] {
        let separate = start(SimConfig {
            bearer_challenge: variant,
            ..fast()
        });
        let lines: Vec<String> = challenged(&separate)
            .headers_named("www-authenticate")
            .iter()
            .map(|l| l.replace(&separate.root_url(), "ROOT/"))
            .collect();

        let sim = start(SimConfig {
            bearer_challenge: variant,
            fold_challenges: true,
            ..fast()
        });
        let r = challenged(&sim);
        let folded = r.headers_named("www-authenticate");
        assert_eq!(folded.len(), 1, "{folded:?}");
        assert_eq!(
            folded[0].replace(&sim.root_url(), "ROOT/"),
            format!("{}, {}", lines[0], lines[1]),
            "{variant}"
        );
        // A client that finds MsRtcOAuth anywhere on the line still signs in.
        assert!(challenge_href(&r).starts_with(&sim.root_url()));
        Session::sign_in(&sim, ALICE, ALICE_PW);
    }
    // The exact merge seen through Node (Orange), with the simulator's token URL.
    let sim = start(SimConfig {
        bearer_challenge: BearerChallenge::EmptyIssuers,
        fold_challenges: true,
        ..fast()
    });
    assert_eq!(
        challenged(&sim).headers_named("www-authenticate")[0],
        format!(
            "Bearer trusted_issuers=\"\", client_id=\"00000004-0000-0ff1-ce00-000000000000\", MsRtcOAuth href=\"{}\",grant_type=\"urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password\"",
            token_url(&sim)
        )
    );
}

#[test]
fn folded_challenges_also_ride_the_online_style_403() {
    let sim = start(SimConfig {
        fold_challenges: true,
        invalid_token_status: 403,
        grants: vec!["password".into()],
        ..fast()
    });
    let s = Session::available(&sim, ALICE, ALICE_PW);
    sim.expire_tokens(None);
    let r = s.get(&s.link("me", "presence"));
    assert_eq!(r.status, 403);
    let lines = r.headers_named("www-authenticate");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("Bearer "), "{}", lines[0]);
    assert!(
        lines[0].ends_with(",grant_type=\"password\""),
        "{}",
        lines[0]
    );
}

#[test]
fn unusable_grant_lists_are_refused_at_start() {
    for grants in [
        vec![],
        vec![String::new()],
        vec!["password,urn:microsoft.rtc:windows".to_owned()],
        vec!["pass word".to_owned()],
        vec!["pass\"word".to_owned()],
    ] {
        let err = ucwa_sim::Sim::start(SimConfig {
            grants: grants.clone(),
            ..fast()
        })
        .err()
        .unwrap_or_else(|| panic!("{grants:?} accepted"));
        assert!(err.to_string().contains("grant"), "{grants:?}: {err}");
    }
}
