//! The `proxy` option against ucwa-sim and a test proxy: an explicit proxy carries plain
//! requests in absolute form and https through CONNECT, with Basic credentials when given
//! (never repeated in an error); `none` and the default go direct to loopback; bad values are
//! refused. What the proxy saw and what the simulator saw are both checked.

mod common;

use common::proxy::TestProxy;
use common::*;
use ucwa::{Availability, Status};

#[test]
fn an_explicit_proxy_carries_every_request_and_the_flow_works() {
    let sim = start(fast_config());
    let proxy = TestProxy::start(None);
    let c = client(&sim);
    c.set_option("proxy", &proxy.url(None)).unwrap();
    c.sign_in(ALICE, ALICE_PW).unwrap();
    c.make_me_available(Availability::Unspecified).unwrap();
    c.set_availability(Availability::Busy).unwrap();
    assert_eq!(sim.user(ALICE).unwrap().availability, "Busy");
    let seen = proxy.log();
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
fn https_goes_through_a_connect_tunnel_with_the_proxys_credentials() {
    let (sim, ca) = tls_sim("proxy-connect");
    let proxy = TestProxy::start(Some(("agent", "pr0xy-pass")));
    let c = client(&sim);
    c.set_option("ca_file", ca.to_str().unwrap()).unwrap();
    c.set_option("proxy", &proxy.url(Some(("agent", "pr0xy-pass"))))
        .unwrap();
    c.sign_in(ALICE, ALICE_PW).unwrap();
    let seen = proxy.log();
    let authority = sim
        .root_url()
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string();
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|e| e.method == "CONNECT"
            && e.authorized
            && e.answered == 200
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
    let proxy = TestProxy::start(Some(("agent", "right-pass")));
    let c = client(&sim);
    c.set_option("ca_file", ca.to_str().unwrap()).unwrap();
    c.set_option("proxy", &proxy.url(Some(("agent", "wr0ng-pass"))))
        .unwrap();
    let e = c.sign_in(ALICE, ALICE_PW).unwrap_err();
    assert_eq!(e.status(), Status::Network, "{e}");
    let text = format!("{e} {e:?}");
    assert!(!text.contains("wr0ng-pass"), "{text}");
    assert!(proxy.log().iter().all(|e| e.answered == 407));
    assert!(sim.log().is_empty(), "nothing reached the server");
    let _ = std::fs::remove_dir_all(ca.parent().unwrap());
}

#[test]
fn none_and_the_default_go_direct_to_loopback() {
    let sim = start(fast_config());
    let proxy = TestProxy::start(None);
    for choice in [None, Some("none"), Some("system")] {
        let c = client(&sim);
        if let Some(v) = choice {
            c.set_option("proxy", v).unwrap();
        }
        c.sign_in(ALICE, ALICE_PW).unwrap();
        c.sign_out().unwrap();
    }
    assert!(proxy.log().is_empty());
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
