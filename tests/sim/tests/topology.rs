//! Topologies: the alternative path layout, a user homed on pool 2 (redirect), applications on
//! pool 2 without a redirect, a foreign applications origin, TLS with the generated CA, and a
//! restart on the same port.

mod support;

use serde_json::{json, Value};
use support::*;
use ucwa_sim::{Layout, SimConfig};

/// Every `href` anywhere in a JSON value.
fn hrefs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                if k == "href" {
                    out.push(x.as_str().unwrap_or("").to_owned());
                } else {
                    hrefs(x, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| hrefs(x, out)),
        _ => {}
    }
}

#[test]
fn alt_layout_uses_other_paths_and_host_relative_hrefs_and_works_by_following_links() {
    let sim = start(SimConfig {
        layout: Layout::Alt,
        ..fast()
    });
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let mut all = Vec::new();
    hrefs(&s.app, &mut all);
    assert!(all.len() > 15);
    for h in &all {
        assert!(
            h.starts_with("/lync/"),
            "host-relative as on real servers: {h}"
        );
        assert!(
            !h.contains("/ucwa/oauth/v1/"),
            "not the documented path: {h}"
        );
    }
    let mma = sim
        .log()
        .into_iter()
        .find(|e| e.route == "makeMeAvailable")
        .unwrap();
    assert!(
        mma.path.starts_with("/lync/") && mma.path.ends_with("/communication/makeMeAvailable"),
        "{}",
        mma.path
    );
    let report = s.link("me", "reportMyActivity");
    assert!(
        !report.contains(&s.link("me", "self")),
        "reportMyActivity is not under me: {report}"
    );
    // The flow works through links.
    assert_eq!(
        s.post_json(&s.link("me", "presence"), &json!({"availability": "Busy"}))
            .status,
        204
    );
    assert_eq!(s.post_empty(&report).status, 204);
    let (senders, _) = s.drain_events(s.events_url());
    assert!(!senders.is_empty());
    assert!(senders[0]["href"].as_str().unwrap().starts_with("/lync/"));
    // Documented paths do not exist here.
    let http = Http::plain();
    let built = format!("{}ucwa/oauth/v1/applications", sim.root_url());
    assert_eq!(
        http.send("POST", &built, &[("Authorization", &s.auth)], b"{}")
            .unwrap()
            .status,
        404
    );
    assert_eq!(
        http.get(&format!("{}WebTicket/oauthtoken", sim.root_url()), &[])
            .status,
        404
    );
    // Route names stay logical.
    let routes: Vec<String> = sim.log().iter().map(|e| e.route.clone()).collect();
    for r in [
        "discovery",
        "user",
        "token",
        "applications",
        "makeMeAvailable",
        "application",
        "presence",
        "reportMyActivity",
        "events",
    ] {
        assert!(routes.iter().any(|x| x == r), "{r} in {routes:?}");
    }
}

#[test]
fn user_homed_on_pool2_is_redirected_and_gets_pool2s_own_token() {
    let sim = start(SimConfig {
        pool2_users: vec![ALICE.into()],
        ..fast()
    });
    let s = Session::available(&sim, ALICE, ALICE_PW);
    assert!(s.app_url.starts_with(&sim.pool2_url()), "{}", s.app_url);
    let log = sim.log();
    let redirect = log.iter().find(|e| e.route == "redirect").unwrap();
    assert_eq!(
        (
            redirect.pool.as_str(),
            redirect.status,
            redirect.authorization
        ),
        ("pool2", 200, false)
    );
    let tokens: Vec<&str> = log
        .iter()
        .filter(|e| e.route == "token")
        .map(|e| e.pool.as_str())
        .collect();
    assert_eq!(tokens, ["pool1", "pool2"]);
    assert_eq!(sim.user(ALICE).unwrap().applications[0].pool, "pool2");
    // pool 1's user resource answered a redirect, not applications.
    let http = Http::plain();
    let root = http.get(&sim.root_url(), &[]).json();
    let user_url = href_at(&root, "/_links/user/href");
    let t = password_token(
        &http,
        &challenge_href(&http.get(&user_url, &[])),
        ALICE,
        ALICE_PW,
    )
    .json();
    let auth = format!("Bearer {}", t["access_token"].as_str().unwrap());
    let u = http.get(&user_url, &[("Authorization", &auth)]).json();
    assert!(u["_links"]["applications"].is_null());
    let redirect = http.get(&href_at(&u, "/_links/redirect/href"), &[]).json();
    assert_eq!(redirect["rel"], "redirect");
    let mut rels: Vec<&String> = redirect["_links"].as_object().unwrap().keys().collect();
    rels.sort();
    assert_eq!(rels, ["self", "user", "xframe"]);
    // And the pool 1 token is refused by pool 2 as real pools refuse another pool's web
    // ticket; without it pool 2 challenges with its own token endpoint.
    let pool2_user = href_at(&redirect, "/_links/user/href");
    let r = http.get(&pool2_user, &[("Authorization", &auth)]);
    assert_eq!(r.status, 500);
    assert_eq!(r.content_type(), "text/html; charset=iso-8859-1");
    assert!(r
        .header("x-ms-diagnostics")
        .unwrap()
        .contains("reason=\"The web ticket is invalid.\""));
    assert!(challenge_href(&http.get(&pool2_user, &[])).starts_with(&sim.pool2_url()));
}

#[test]
fn applications_on_pool2_without_redirect_need_pool2s_token() {
    let sim = start(SimConfig {
        pool2_apps_users: vec![ALICE.into()],
        ..fast()
    });
    let s = Session::available(&sim, ALICE, ALICE_PW);
    assert!(s.app_url.starts_with(&sim.pool2_url()));
    assert_eq!(
        s.post_json(&s.link("me", "note"), &json!({"message": "pool 2"}))
            .status,
        204
    );
    assert_eq!(sim.user(ALICE).unwrap().note.as_deref(), Some("pool 2"));
    let log = sim.log();
    let first_pool2 = log.iter().find(|e| e.pool == "pool2").unwrap();
    assert_eq!(
        (first_pool2.status, first_pool2.authorization),
        (401, false)
    );
    // Bob is homed on pool 1 as usual.
    let bob = Session::sign_in(&sim, BOB, BOB_PW);
    assert!(bob.app_url.starts_with(&sim.root_url()));
}

#[test]
fn foreign_applications_origin_challenges_with_its_own_href_and_logs_authorization() {
    let sim = start(SimConfig {
        foreign_apps_users: vec![ALICE.into()],
        ..fast()
    });
    let Some(foreign) = sim.foreign_url() else {
        eprintln!("127.0.0.2 cannot be bound here; nothing to test");
        return;
    };
    assert!(foreign.starts_with("http://127.0.0.2:"));
    let http = Http::plain();
    let root = http.get(&sim.root_url(), &[]).json();
    let user_url = href_at(&root, "/_links/user/href");
    let t = password_token(
        &http,
        &challenge_href(&http.get(&user_url, &[])),
        ALICE,
        ALICE_PW,
    )
    .json();
    let auth = format!("Bearer {}", t["access_token"].as_str().unwrap());
    let apps = href_at(
        &http.get(&user_url, &[("Authorization", &auth)]).json(),
        "/_links/applications/href",
    );
    assert!(apps.starts_with(&foreign), "{apps}");
    // A careful client would stop here; a careless one sends its token and gets challenged.
    let r = http.get(&apps, &[]);
    assert!(challenge_href(&r).starts_with("http://127.0.0.2:"));
    let leaked = http
        .send("POST", &apps, &[("Authorization", &auth)], b"{}")
        .unwrap();
    assert_eq!(leaked.status, 401);
    let foreign_log: Vec<(String, bool)> = sim
        .log()
        .iter()
        .filter(|e| e.pool == "foreign")
        .map(|e| (e.route.clone(), e.authorization))
        .collect();
    assert_eq!(
        foreign_log,
        [
            ("applications".to_owned(), false),
            ("applications".to_owned(), true)
        ]
    );
}

#[test]
fn tls_serves_every_pool_with_a_certificate_from_the_generated_ca() {
    let ca_file = std::env::temp_dir().join(format!("ucwa-sim-ca-{}.pem", std::process::id()));
    let sim = start(SimConfig {
        tls: true,
        ca_out: Some(ca_file.clone()),
        pool2_users: vec![BOB.into()],
        ..fast()
    });
    let pem = sim.ca_pem().unwrap();
    assert_eq!(std::fs::read_to_string(&ca_file).unwrap(), pem);
    std::fs::remove_file(&ca_file).ok();
    assert!(sim.root_url().starts_with("https://127.0.0.1:"));
    assert!(sim.pool2_url().starts_with("https://127.0.0.1:"));
    let http = Http::trusting(&pem);
    let s = Session::sign_in_with(&http, &sim.root_url(), ALICE, ALICE_PW, "tls");
    assert_eq!(s.post_empty(&s.link("me", "makeMeAvailable")).status, 204);
    let r = s
        .http
        .send(
            "POST",
            &apps_url(&sim),
            &[
                ("Authorization", &s.auth),
                ("Content-Type", "application/json"),
            ],
            br#"{"userAgent":"a","endpointId":"b","culture":"c"}"#,
        )
        .unwrap();
    assert!(r.header("set-cookie").unwrap().contains("; secure"));
    let bob = Session::sign_in_with(&http, &sim.root_url(), BOB, BOB_PW, "tls");
    assert!(
        bob.app_url.starts_with(&sim.pool2_url()),
        "pool 2 over TLS too"
    );
    // Another CA is not trusted.
    let other = start(SimConfig {
        tls: true,
        ..fast()
    });
    let untrusted = Http::trusting(&other.ca_pem().unwrap());
    assert!(untrusted.send("GET", &sim.root_url(), &[], b"").is_err());
}

fn apps_url(sim: &ucwa_sim::Sim) -> String {
    format!("{}ucwa/oauth/v1/applications", sim.root_url())
}

#[test]
fn a_restarted_simulator_gets_the_same_port_back_with_fresh_state() {
    let sim = start(fast());
    let addr = sim.addr();
    let s = Session::available(&sim, ALICE, ALICE_PW);
    // Leave a connection parked when stopping.
    let parked = {
        let (http, url, auth) = (s.http.clone(), s.events_url(), s.auth.clone());
        std::thread::spawn(move || {
            http.send(
                "GET",
                &format!("{url}&timeout=5"),
                &[("Authorization", &auth)],
                b"",
            )
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    sim.stop();
    let _ = parked.join();
    let sim = start(SimConfig {
        listen: addr,
        ..fast()
    });
    assert_eq!(sim.addr(), addr);
    assert_eq!(s.get(&s.app_url).status, 401, "old tokens are unknown");
    let fresh = Session::sign_in(&sim, ALICE, ALICE_PW);
    fresh
        .get(&s.app_url)
        .assert_error(404, "NotFound", Some("ApplicationNotFound"));
}
