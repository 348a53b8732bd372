//! The `system` proxy reads the environment as curl does, with loopback always direct. One
//! test in its own binary: it sets the process environment before any HTTP client is built.

mod common;

use common::proxy::TestProxy;
use common::*;

#[test]
fn the_environments_proxy_carries_other_hosts_but_never_loopback() {
    let proxy = TestProxy::start(None);
    // Set before the first client of this process reads it; loopback must stay direct anyway.
    std::env::set_var("https_proxy", proxy.url(None));
    std::env::set_var("http_proxy", proxy.url(None));
    std::env::set_var("no_proxy", "");
    let sim = start(fast_config());
    let direct = client(&sim);
    direct.sign_in(ALICE, ALICE_PW).unwrap();
    assert!(
        proxy.log().is_empty(),
        "loopback went direct: {:?}",
        proxy.log()
    );

    // Another host goes to the proxy (which refuses to reach beyond loopback: nothing leaves).
    let far = ucwa::Client::new("https://lyncdiscover.contoso.test/").unwrap();
    far.set_option("timeout_ms", "3000").unwrap();
    assert!(far.sign_in(ALICE, ALICE_PW).is_err());
    let seen = proxy.log();
    assert!(
        seen.iter().any(|e| e.method == "CONNECT"
            && e.target == "lyncdiscover.contoso.test:443"
            && e.answered == 502),
        "{seen:?}"
    );
}
