//! The `system` proxy reads the environment as curl does, with loopback always direct. One
//! test in its own binary: it sets the process environment before any HTTP client is built.

mod common;

use common::*;

#[test]
fn the_environments_proxy_carries_other_hosts_but_never_loopback() {
    let sim = start(fast_config());
    // Set before the first client of this process reads it; loopback must stay direct anyway.
    std::env::set_var("https_proxy", sim.proxy_url());
    std::env::set_var("http_proxy", sim.proxy_url());
    std::env::set_var("no_proxy", "");
    let direct = client(&sim);
    direct.sign_in(ALICE, ALICE_PW).unwrap();
    assert!(
        sim.proxy_log().is_empty(),
        "loopback went direct: {:?}",
        sim.proxy_log()
    );

    // Another host goes to the proxy (which refuses to reach beyond loopback: nothing leaves).
    let far = ucwa::Client::new("https://lyncdiscover.contoso.test/").unwrap();
    far.set_option("timeout_ms", "3000").unwrap();
    assert!(far.sign_in(ALICE, ALICE_PW).is_err());
    let seen = sim.proxy_log();
    assert!(
        seen.iter().any(|e| e.method == "CONNECT"
            && e.target == "lyncdiscover.contoso.test:443"
            && e.answered == Some(502)),
        "{seen:?}"
    );
}
