//! The `proxy` option against ucwa-sim and its forward proxy: an explicit proxy carries plain
//! requests in absolute form and https through CONNECT, with Basic credentials when given
//! (never repeated in an error); `none` and the default go direct to loopback; bad values are
//! refused; a proxy that quotes the credentials it got never gets them into host text. What the
//! proxy saw (`sim.proxy_log()`) and what the simulator saw are both checked.

mod common;

use common::*;
use std::time::Duration;

use base64::Engine as _;
use ucwa::{Availability, ConnectionState, Event, Status};
use ucwa_sim::{ProxyMode, Sim};

#[test]
fn an_explicit_proxy_carries_every_request_and_the_flow_works() {
    let sim = start(fast_config());
    let c = client(&sim);
    c.set_option("proxy", &sim.proxy_url()).unwrap();
    c.sign_in(ALICE, ALICE_PW).unwrap();
    c.make_me_available(Availability::Unspecified).unwrap();
    c.set_availability(Availability::Busy).unwrap();
    assert_eq!(sim.user(ALICE).unwrap().availability, "Busy");
    let seen = sim.proxy_log();
    assert!(!seen.is_empty());
    let root = sim.root_url();
    assert!(
        seen.iter()
            .all(|e| e.method != "CONNECT" && e.target.starts_with(root.trim_end_matches('/'))),
        "absolute-form requests for the simulator only: {seen:?}"
    );
    assert!(sim
        .log()
        .iter()
        .any(|e| e.route == "applications" && e.status == 201));
}

#[test]
fn the_event_channel_keeps_one_connection_of_its_own_for_its_p_gets() {
    let sim = start(fast_config());
    let c = client(&sim);
    c.set_option("proxy", &sim.proxy_url()).unwrap();
    c.sign_in(ALICE, ALICE_PW).unwrap();
    c.make_me_available(Availability::Unspecified).unwrap();
    // The proxy numbers its client connections, so it sees which one each request came on.
    // Each change's event is followed up by GETs in the background while the next P-GET is
    // parked: on a shared pool, the two take turns on the same connections.
    let is_pget = |target: &str| target.contains("ack=");
    let pgets = || {
        sim.proxy_log()
            .iter()
            .filter(|e| is_pget(&e.target))
            .count()
    };
    for availability in [Availability::Busy, Availability::Away, Availability::Online] {
        let before = pgets();
        c.set_availability(availability).unwrap();
        let parked = eventually(Duration::from_secs(10), || pgets() >= before + 2);
        assert!(parked, "the channel re-parks: {:?}", sim.proxy_log());
    }
    let seen = sim.proxy_log();
    let pgets: Vec<_> = seen.iter().filter(|e| is_pget(&e.target)).collect();
    let conn = pgets[0].conn;
    assert!(
        pgets.iter().all(|e| e.conn == conn),
        "every P-GET on one connection: {pgets:?}"
    );
    assert!(
        seen.iter()
            .filter(|e| !is_pget(&e.target))
            .all(|e| e.conn != conn),
        "nothing else on the channel's connection: {seen:?}"
    );
    assert!(seen.iter().any(|e| !is_pget(&e.target)));
}

#[test]
fn https_goes_through_a_connect_tunnel_with_the_proxys_credentials() {
    let (sim, ca) = tls_sim("proxy-connect");
    sim.proxy_require_credentials(Some(("agent", "pr0xy-pass")));
    let c = client(&sim);
    c.set_option("ca_file", ca.to_str().unwrap()).unwrap();
    c.set_option("proxy", &proxy_url_with(&sim, "agent", "pr0xy-pass"))
        .unwrap();
    c.sign_in(ALICE, ALICE_PW).unwrap();
    let seen = sim.proxy_log();
    let authority = sim
        .root_url()
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string();
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|e| e.method == "CONNECT"
            && e.authorized
            && e.answered == Some(200)
            && e.target == authority),
        "{seen:?}"
    );
    assert!(sim
        .log()
        .iter()
        .any(|e| e.route == "applications" && e.status == 201));
    let _ = std::fs::remove_dir_all(ca.parent().unwrap());
}

#[test]
fn a_refused_proxy_fails_the_call_without_repeating_its_password() {
    let (sim, ca) = tls_sim("proxy-refused");
    sim.proxy_require_credentials(Some(("agent", "right-pass")));
    let c = client(&sim);
    c.set_option("ca_file", ca.to_str().unwrap()).unwrap();
    c.set_option("proxy", &proxy_url_with(&sim, "agent", "wr0ng-pass"))
        .unwrap();
    let e = c.sign_in(ALICE, ALICE_PW).unwrap_err();
    assert_eq!(e.status(), Status::Network, "{e}");
    let text = format!("{e} {e:?}");
    assert!(!text.contains("wr0ng-pass"), "{text}");
    let seen = sim.proxy_log();
    assert!(
        !seen.is_empty() && seen.iter().all(|e| e.answered == Some(407)),
        "{seen:?}"
    );
    assert!(sim.log().is_empty(), "nothing reached the server");
    let _ = std::fs::remove_dir_all(ca.parent().unwrap());
}

#[test]
fn none_and_the_default_go_direct_to_loopback() {
    let sim = start(fast_config());
    for choice in [None, Some("none"), Some("system")] {
        let c = client(&sim);
        if let Some(v) = choice {
            c.set_option("proxy", v).unwrap();
        }
        c.sign_in(ALICE, ALICE_PW).unwrap();
        c.sign_out().unwrap();
    }
    assert!(sim.proxy_log().is_empty());
}

#[test]
fn bad_proxy_values_are_refused_without_being_repeated() {
    let sim = start(fast_config());
    let c = client(&sim);
    for bad in [
        "https://agent:s3cret@proxy:3128",
        "socks5://proxy:1080",
        "http://proxy:3128/path",
        "proxy",
        "http://a\r\nb:1",
    ] {
        let e = c.set_option("proxy", bad).unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument);
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }
    // A refused value changes nothing: the client still goes direct.
    c.sign_in(ALICE, ALICE_PW).unwrap();
}

const PROXY_USER: &str = "proxy-agent7";
const PROXY_PW: &str = "pr0xy-p@ss wörd";

/// The simulator's proxy URL with `user:password@`, as given (no encoding).
fn proxy_url_with(sim: &Sim, user: &str, password: &str) -> String {
    format!("http://{user}:{password}@{}", sim.proxy_addr())
}

/// The proxy's URL with its user information percent-encoded, as an administrator writes it.
fn url_with_credentials(sim: &Sim) -> String {
    let pw: String = url::form_urlencoded::byte_serialize(PROXY_PW.as_bytes()).collect();
    format!(
        "http://{PROXY_USER}:{}@{}",
        pw.replace('+', "%20"),
        sim.proxy_addr()
    )
}

/// Every form the proxy's credentials could come back in: the password, the `user:password`
/// pair, its base64 (the Basic value), and both percent-encoded.
fn credential_forms() -> Vec<String> {
    let pair = format!("{PROXY_USER}:{PROXY_PW}");
    let basic = base64::engine::general_purpose::STANDARD.encode(&pair);
    let mut forms = vec![PROXY_PW.to_string(), pair.clone(), basic.clone()];
    for text in [PROXY_PW, &pair, &basic] {
        let form: String = url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
        forms.push(form.replace('+', "%20"));
        forms.push(form);
    }
    forms
}

#[test]
fn a_proxy_that_quotes_its_credentials_in_a_407_gets_them_into_no_error_or_event() {
    let sim = start(fast_config());
    sim.proxy_require_credentials(Some((PROXY_USER, PROXY_PW)));
    let c = client(&sim);
    c.set_option("proxy", &url_with_credentials(&sim)).unwrap();
    c.sign_in(ALICE, ALICE_PW).unwrap();
    c.make_me_available(Availability::Unspecified).unwrap();
    sim.set_proxy_mode(ProxyMode::RefuseAndEcho);
    let refused = c.presence().unwrap_err();
    assert_eq!(refused.http_status(), Some(407), "{refused}");
    let seen = wait_event(&c, Duration::from_secs(10), |e| {
        matches!(
            e,
            Event::ConnectionStateChanged {
                state: ConnectionState::Recovering,
                reason: Some(_),
            }
        )
    });
    // A client that meets the hostile proxy at its first request.
    let other = client(&sim);
    other
        .set_option("proxy", &url_with_credentials(&sim))
        .unwrap();
    let at_sign_in = other.sign_in(ALICE, ALICE_PW).unwrap_err();

    let log = sim.proxy_log();
    let echoed: Vec<_> = log.iter().filter(|e| e.answered == Some(407)).collect();
    assert!(
        echoed.len() >= 3 && echoed.iter().all(|e| e.authorized),
        "the proxy was sent its credentials and quoted them: {log:?}"
    );
    let errors = [host_text(&refused), host_text(&at_sign_in)];
    for t in &errors {
        assert!(t.contains("[redacted]"), "{t}");
    }
    let events: Vec<String> = seen.iter().map(event_text).collect();
    assert!(events.iter().any(|t| t.contains("407")), "{events:?}");
    for t in errors.iter().chain(&events) {
        for form in credential_forms() {
            assert!(!t.contains(&form), "{form:?} leaked in {t}");
        }
    }
}
