//! Errors that say where and what to do: every network and TLS failure names the URL (host,
//! port and path, never the query) it was about; an untrusted certificate names the `ca_file`
//! option; a bare domain's failure names both discovery hosts it tried.

mod common;

use common::*;
use ucwa::{Client, Status};

#[test]
fn an_unresolvable_domain_names_both_discovery_hosts_and_says_they_do_not_resolve() {
    let c = Client::new("contoso.invalid").unwrap();
    c.set_option("proxy", "none").unwrap();
    c.set_option("timeout_ms", "5000").unwrap();
    let e = c.sign_in("alice@contoso.invalid", "pw").unwrap_err();
    let text = e.to_string();
    assert_eq!(e.status(), Status::Network, "{text}");
    assert!(
        text.contains("https://lyncdiscover.contoso.invalid/"),
        "{text}"
    );
    assert!(
        text.contains("https://lyncdiscoverinternal.contoso.invalid/"),
        "{text}"
    );
    assert!(text.contains("does not resolve"), "{text}");
}

#[test]
fn an_untrusted_certificate_names_the_host_and_the_ca_file_option() {
    let (sim, ca) = tls_sim("errors-tls");
    let c = client(&sim);
    c.set_option("proxy", "none").unwrap();
    let e = c.sign_in(ALICE, ALICE_PW).unwrap_err();
    let text = e.to_string();
    assert_eq!(e.status(), Status::Tls, "{text}");
    assert!(text.contains(&sim.root_url()), "{text}");
    assert!(
        text.contains("ca_file") && text.contains("--ca-file"),
        "{text}"
    );
    assert!(
        sim.log().is_empty(),
        "no request got through: {:?}",
        sim.log()
    );
    let _ = std::fs::remove_dir_all(ca.parent().unwrap());
}

#[test]
fn a_closed_port_names_host_port_and_path() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/autodiscover/autodiscoverservice.svc/root?x=1");
    let c = Client::new(&url).unwrap();
    let e = c.sign_in(ALICE, ALICE_PW).unwrap_err();
    let text = e.to_string();
    assert_eq!(e.status(), Status::Network, "{text}");
    assert!(
        text.contains(&format!(
            "http://127.0.0.1:{port}/autodiscover/autodiscoverservice.svc/root"
        )),
        "{text}"
    );
    assert!(!text.contains("x=1"), "never the query: {text}");
    assert!(
        text.contains(&format!("nothing listens on 127.0.0.1 port {port}")),
        "{text}"
    );
}
