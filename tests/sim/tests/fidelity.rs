//! Defaults that follow captures of real Lync 2013 / Skype for Business servers, and the option
//! that restores the documented (or previous) behaviour for each: path tolerance, host-relative
//! hrefs, gzip, media types per family, bare self events, the empty event answer, re-POST 200,
//! user-name forms, ticket lifetimes, ids and the version header.

mod support;

use std::io::Read;

use serde_json::{json, Value};
use support::*;
use ucwa_sim::{BearerChallenge, EmptyEvents, Layout, SimConfig};

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a valid gzip stream");
    out
}

/// `root + href` as a field client joins them: the root ends in `/`, the href starts with one.
fn doubled(s: &Session, href: &str) -> String {
    format!("{}/{}", s.origin, href)
}

#[test]
fn doubled_slashes_and_other_letter_case_reach_the_same_resources() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let presence = s.link("me", "presence");
    let path = presence.strip_prefix(&s.origin).unwrap().to_owned();
    assert_eq!(s.get(&doubled(&s, &path)).json()["availability"], "Online");
    let upper = format!("{}{}", s.origin, path.to_ascii_uppercase());
    assert_eq!(s.get(&upper).json()["availability"], "Online");
    let token = format!(
        "{}/webticket/OAUTHTOKEN",
        sim.root_url().trim_end_matches('/')
    );
    assert_eq!(
        password_token(&Http::plain(), &token, ALICE, ALICE_PW).status,
        200
    );
    let routes: Vec<(String, u16)> = sim
        .log()
        .iter()
        .rev()
        .take(3)
        .map(|e| (e.route.clone(), e.status))
        .collect();
    assert_eq!(
        routes,
        [
            ("token".to_owned(), 200),
            ("presence".to_owned(), 200),
            ("presence".to_owned(), 200)
        ]
    );
}

#[test]
fn strict_paths_refuse_doubled_slashes_case_changes_and_the_unadvertised_report_path() {
    let sim = start(SimConfig {
        strict_paths: true,
        ..fast()
    });
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let path = s
        .link("me", "presence")
        .strip_prefix(&s.origin)
        .unwrap()
        .to_owned();
    assert_eq!(s.get(&doubled(&s, &path)).status, 404);
    assert_eq!(
        s.get(&format!("{}{}", s.origin, path.replace("/me/", "/ME/")))
            .status,
        404
    );
    assert_eq!(
        s.post_empty(&format!("{}/reportMyActivity", s.app_url))
            .status,
        404
    );
}

#[test]
fn report_my_activity_is_also_served_at_the_application_in_both_layouts() {
    for layout in [Layout::Standard, Layout::Alt] {
        let sim = start(SimConfig { layout, ..fast() });
        let s = Session::available(&sim, ALICE, ALICE_PW);
        let r = s.post_empty(&format!("{}/reportMyActivity", s.app_url));
        assert_eq!(r.status, 204, "{layout}: {}", r.text());
        assert_eq!(
            sim.user(ALICE).unwrap().applications[0].activity_reports,
            1,
            "{layout}"
        );
        let last = sim.log().pop().unwrap();
        assert_eq!(last.route, "reportMyActivity");
    }
}

fn hrefs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("href", Value::String(h)) => out.push(h.clone()),
                    _ => hrefs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| hrefs(x, out)),
        _ => {}
    }
}

#[test]
fn absolute_hrefs_makes_every_in_resource_href_absolute_in_either_layout() {
    for layout in [Layout::Standard, Layout::Alt] {
        let sim = start(SimConfig {
            layout,
            absolute_hrefs: true,
            ..fast()
        });
        let s = Session::available(&sim, ALICE, ALICE_PW);
        let mut all = Vec::new();
        hrefs(&s.app, &mut all);
        assert!(all.len() > 15);
        assert!(
            all.iter().all(|h| h.starts_with(&sim.root_url())),
            "{all:?}"
        );
        let (senders, _) = s.drain_events_quick();
        assert!(senders[0]["href"].as_str().unwrap().starts_with("http://"));
    }
    // The default: host-relative inside resources, absolute in discovery.
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let mut all = Vec::new();
    hrefs(&s.app, &mut all);
    assert!(
        all.iter()
            .all(|h| h.starts_with("/ucwa/oauth/v1/applications/")),
        "{all:?}"
    );
    let root = Http::plain().get(&sim.root_url(), &[]).json();
    assert!(href_at(&root, "/_links/user/href").starts_with("http://"));
}

#[test]
fn responses_are_gzipped_only_when_asked_and_never_with_no_gzip() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let presence = s.link("me", "presence");
    let plain = s.get(&presence);
    assert!(plain.header("content-encoding").is_none());
    assert_eq!(plain.header("vary"), Some("Accept-Encoding"));
    let zipped = s
        .http
        .send(
            "GET",
            &presence,
            &[
                ("Authorization", &s.auth),
                ("Accept-Encoding", "gzip, deflate"),
            ],
            b"",
        )
        .unwrap();
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&zipped.body), plain.body);
    let refused = s
        .http
        .send(
            "GET",
            &presence,
            &[("Authorization", &s.auth), ("Accept-Encoding", "gzip;q=0")],
            b"",
        )
        .unwrap();
    assert!(refused.header("content-encoding").is_none());

    let sim = start(SimConfig {
        gzip: false,
        ..fast()
    });
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let r = s
        .http
        .send(
            "GET",
            &s.link("me", "presence"),
            &[("Authorization", &s.auth), ("Accept-Encoding", "gzip")],
            b"",
        )
        .unwrap();
    assert!(r.header("content-encoding").is_none());
    assert_eq!(r.json()["availability"], "Online");
}

#[test]
fn media_types_follow_the_resource_family_and_the_vnd_type_is_echoed() {
    let sim = start(fast());
    let http = Http::plain();
    assert_eq!(
        http.get(&sim.root_url(), &[]).content_type(),
        "application/json"
    );
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let presence = s.link("me", "presence");
    assert_eq!(
        s.get(&presence).content_type(),
        "application/json; charset=utf-8"
    );
    let vnd = s
        .http
        .send(
            "GET",
            &presence,
            &[
                ("Authorization", &s.auth),
                ("Accept", "application/vnd.microsoft.com.ucwa+json"),
            ],
            b"",
        )
        .unwrap();
    assert_eq!(
        vnd.content_type(),
        "application/vnd.microsoft.com.ucwa+json; charset=utf-8"
    );
    let missing = s.get(&format!("{}/nothing-here", s.app_url));
    assert_eq!(
        missing.content_type(),
        "application/json",
        "UCWA errors are bare"
    );
    let token = password_token(
        &http,
        &format!("{}WebTicket/oauthtoken", sim.root_url()),
        ALICE,
        ALICE_PW,
    );
    assert_eq!(token.content_type(), "application/json");
    assert!(token.header("x-ms-ucwaversion").is_none());
    let again = s.get(&presence);
    assert_eq!(again.header("x-ms-server-fqdn"), Some("pool1.contoso.com"));
    assert_eq!(again.header("cache-control"), Some("no-cache"));
    assert!(again.header("expires").is_none());
    let root = http.get(&sim.root_url(), &[]);
    assert_eq!(
        (root.header("expires"), root.header("pragma")),
        (Some("-1"), Some("no-cache"))
    );
    assert_eq!(
        token.header("cache-control"),
        Some("no-store"),
        "the token's own"
    );

    let sim = start(SimConfig {
        uniform_content_type: true,
        ucwa_version_header: true,
        ..fast()
    });
    let root = Http::plain().get(&sim.root_url(), &[]);
    assert_eq!(root.content_type(), "application/json; charset=utf-8");
    assert_eq!(root.header("x-ms-ucwaversion"), Some("2.0"));
}

#[test]
fn self_events_are_bare_by_default_and_embedded_with_the_option() {
    for embed in [false, true] {
        let sim = start(SimConfig {
            embed_self_events: embed,
            ..fast()
        });
        let s = Session::available(&sim, ALICE, ALICE_PW);
        s.post_json(&s.link("me", "note"), &json!({"message": "lunch"}));
        let (senders, _) = s.drain_events_quick();
        let events = events_of(&senders);
        let self_events: Vec<&Value> = events
            .iter()
            .filter(|(sender, _, _, _)| sender == "me")
            .map(|e| &e.3)
            .collect();
        assert_eq!(self_events.len(), 5, "{events:?}");
        for e in &self_events {
            assert_eq!(e.get("_embedded").is_some(), embed, "{e}");
        }
        let note = events
            .iter()
            .find(|e| e.1 == "note" && e.2 == "updated")
            .unwrap();
        let value = if embed {
            note.3["_embedded"]["note"]["message"].clone()
        } else {
            s.get(&s.url(note.3["link"]["href"].as_str().unwrap()))
                .json()["message"]
                .clone()
        };
        assert_eq!(value, "lunch");
        // The communication event always carries its resource.
        let comm = events.iter().find(|e| e.0 == "communication").unwrap();
        assert!(comm.3["_embedded"]["communication"].is_object());
    }
}

#[test]
fn empty_event_answers_can_omit_sender() {
    let sim = start(SimConfig {
        empty_events: EmptyEvents::SenderAbsent,
        ..fast()
    });
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let (_, next) = s.drain_events_quick();
    let v = s.get(&format!("{next}&timeout=0.1")).json();
    assert_eq!(
        v.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["_links"]
    );
}

#[test]
fn re_post_with_the_same_endpoint_answers_200_with_the_available_application() {
    for (status, config) in [
        (200, fast()),
        (
            201,
            SimConfig {
                repost_status: 201,
                ..fast()
            },
        ),
    ] {
        let sim = start(config);
        let s = Session::available(&sim, ALICE, ALICE_PW);
        let apps = s.app_url.rsplit_once('/').unwrap().0.to_owned();
        let again = s.post_json(
            &apps,
            &json!({"userAgent": "sim-tests", "endpointId": "sim-test", "culture": "en-US"}),
        );
        assert_eq!(again.status, status, "{}", again.text());
        let me_links = &again.json()["_embedded"]["me"]["_links"];
        assert!(me_links.get("presence").is_some(), "still available");
        assert!(me_links.get("makeMeAvailable").is_none());
        assert_eq!(sim.user(ALICE).unwrap().applications.len(), 1);
    }
}

#[test]
fn application_ids_have_twelve_digits() {
    let sim = start(fast());
    for _ in 0..3 {
        let s = Session::sign_in(&sim, ALICE, ALICE_PW);
        let id = s.app_url.rsplit('/').next().unwrap().to_owned();
        assert_eq!(id.len(), 12, "{id}");
        assert!(
            id.starts_with("10") && id.bytes().all(|b| b.is_ascii_digit()),
            "{id}"
        );
        s.delete(&s.app_url);
    }
}

#[test]
fn domain_backslash_user_and_sip_forms_sign_in_the_same_account() {
    let sim = start(fast());
    let token_url = format!("{}WebTicket/oauthtoken", sim.root_url());
    let http = Http::plain();
    for name in [
        "CONTOSO\\alice",
        "contoso\\ALICE",
        "sip:alice@contoso.com",
        "Alice@Contoso.com",
    ] {
        let r = password_token(&http, &token_url, name, ALICE_PW);
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        let auth = format!("Bearer {}", r.json()["access_token"].as_str().unwrap());
        let root = http.get(&sim.root_url(), &[]).json();
        let u = http.get(
            &href_at(&root, "/_links/user/href"),
            &[("Authorization", &auth)],
        );
        assert_eq!(u.status, 200);
    }
    let users: Vec<Option<String>> = sim
        .log()
        .iter()
        .filter(|e| e.route == "user" && e.status == 200)
        .map(|e| e.user.clone())
        .collect();
    assert_eq!(users, vec![Some(ALICE.to_owned()); 4]);
    assert_eq!(
        password_token(&http, &token_url, "FABRIKAM\\alice", ALICE_PW).status,
        400
    );
    assert_eq!(
        password_token(&http, &token_url, "CONTOSO\\alice", BOB_PW).status,
        400
    );

    let sim = start(SimConfig {
        upn_only: true,
        ..fast()
    });
    let token_url = format!("{}WebTicket/oauthtoken", sim.root_url());
    assert_eq!(
        password_token(&http, &token_url, "CONTOSO\\alice", ALICE_PW).status,
        400
    );
    assert_eq!(
        password_token(&http, &token_url, ALICE, ALICE_PW).status,
        200
    );
}

#[test]
fn a_second_grant_reports_the_remaining_lifetime_of_the_cached_ticket() {
    let sim = start(SimConfig {
        token_lifetime_s: 60.0,
        ..fast()
    });
    let token_url = format!("{}WebTicket/oauthtoken", sim.root_url());
    let http = Http::plain();
    let first = password_token(&http, &token_url, ALICE, ALICE_PW).json();
    assert_eq!(first["expires_in"], 60);
    assert_eq!(first["ms_rtc_identityscope"], "local");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = password_token(&http, &token_url, ALICE, ALICE_PW).json();
    let left = second["expires_in"].as_u64().unwrap();
    assert!(
        (58..=59).contains(&left),
        "remaining, not the full lifetime: {left}"
    );
    assert_ne!(first["access_token"], second["access_token"]);

    let sim = start(SimConfig {
        token_lifetime_s: 60.0,
        fresh_tickets: true,
        ..fast()
    });
    let token_url = format!("{}WebTicket/oauthtoken", sim.root_url());
    password_token(&http, &token_url, ALICE, ALICE_PW);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let again = password_token(&http, &token_url, ALICE, ALICE_PW).json();
    assert_eq!(again["expires_in"], 60);
}

#[test]
fn a_grant_past_half_the_ticket_starts_a_new_ticket() {
    let sim = start(SimConfig {
        token_lifetime_s: 2.0,
        ..fast()
    });
    let token_url = format!("{}WebTicket/oauthtoken", sim.root_url());
    let http = Http::plain();
    password_token(&http, &token_url, ALICE, ALICE_PW);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let renewed = password_token(&http, &token_url, ALICE, ALICE_PW).json();
    assert_eq!(renewed["expires_in"], 2, "a renewing client gains time");
}

#[test]
fn start_messaging_carries_revision_as_a_string_unless_turned_off() {
    for (off, expected) in [(false, json!("2")), (true, Value::Null)] {
        let sim = start(SimConfig {
            no_link_revisions: off,
            ..fast()
        });
        let s = Session::sign_in(&sim, ALICE, ALICE_PW);
        let link = &s.app["_embedded"]["communication"]["_links"]["startMessaging"];
        assert!(link["href"].is_string());
        assert_eq!(link["revision"], expected, "{link}");
    }
}

#[test]
fn redirect_roots_also_carry_self_and_xframe_as_captured() {
    let sim = start(SimConfig {
        discovery_redirects: 2,
        ..fast()
    });
    let http = Http::plain();
    let mut url = sim.root_url();
    for _ in 0..2 {
        let v = http.get(&url, &[]).json();
        let mut rels: Vec<&String> = v["_links"].as_object().unwrap().keys().collect();
        rels.sort();
        assert_eq!(rels, ["redirect", "self", "xframe"], "{v}");
        assert_eq!(href_at(&v, "/_links/self/href"), url);
        assert!(v["_links"].get("user").is_none());
        url = href_at(&v, "/_links/redirect/href");
    }
    let root = http.get(&url, &[]).json();
    assert!(root["_links"]["user"].is_object(), "{root}");
    // A client that decides by `user` gets through.
    let s = Session::sign_in(&sim, ALICE, ALICE_PW);
    assert!(s.app_url.starts_with(&sim.root_url()));
}

#[test]
fn bearer_challenge_variants_keep_ms_rtc_oauth_second_and_usable() {
    for (variant, expected) in [
        (
            BearerChallenge::Standard,
            "Bearer trusted_issuers=\"00000002-0000-0ff1-ce00-000000000000@contoso.com\", client_id=\"00000004-0000-0ff1-ce00-000000000000\"",
        ),
        (
            BearerChallenge::EmptyIssuers,
            "Bearer trusted_issuers=\"\", client_id=\"00000004-0000-0ff1-ce00-000000000000\"",
        ),
        (
            BearerChallenge::AuthorizationUri,
            "Bearer trusted_issuers=\"00000001-0000-0000-c000-000000000000@*\", client_id=\"00000004-0000-0ff1-ce00-000000000000\", authorization_uri=\"https://login.windows.net/common/oauth2/authorize\"",
        ),
    ] {
        let sim = start(SimConfig {
            bearer_challenge: variant,
            ..fast()
        });
        let http = Http::plain();
        let root = http.get(&sim.root_url(), &[]).json();
        let r = http.get(&href_at(&root, "/_links/user/href"), &[]);
        let lines = r.headers_named("www-authenticate");
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], expected, "{variant}");
        assert!(lines[1].starts_with("MsRtcOAuth href=\""));
        Session::sign_in(&sim, ALICE, ALICE_PW);
    }
}

#[test]
fn invalid_tokens_can_get_online_style_403_with_fresh_challenges() {
    let sim = start(SimConfig {
        invalid_token_status: 403,
        ..fast()
    });
    let s = Session::available(&sim, ALICE, ALICE_PW);
    sim.expire_tokens(None);
    let r = s.get(&s.link("me", "presence"));
    assert_eq!(r.status, 403);
    assert_eq!(
        r.header("warning"),
        Some("120 pool1.contoso.com \"InvalidToken\"")
    );
    assert!(r.header("x-ms-diagnostics").unwrap().starts_with("28055;"));
    assert!(challenge_href_any(&r).ends_with("/WebTicket/oauthtoken"));
    // No Authorization at all is still the plain 401.
    let anon = Http::plain().get(&s.link("me", "presence"), &[]);
    assert_eq!(anon.status, 401);
    // The default: an expired token gets the 401 challenge.
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    sim.expire_tokens(None);
    assert_eq!(s.get(&s.link("me", "presence")).status, 401);
}

/// The MsRtcOAuth href of any answer (a 403 carries the challenge too).
fn challenge_href_any(r: &Response) -> String {
    let line = r
        .headers_named("www-authenticate")
        .into_iter()
        .find(|h| h.starts_with("MsRtcOAuth"))
        .expect("an MsRtcOAuth challenge")
        .to_owned();
    let start = line.find("href=\"").unwrap() + 6;
    let end = line[start..].find('"').unwrap() + start;
    line[start..end].to_owned()
}

#[test]
fn tokens_look_like_real_web_tickets() {
    let sim = start(fast());
    let t = password_token(
        &Http::plain(),
        &format!("{}WebTicket/oauthtoken", sim.root_url()),
        ALICE,
        ALICE_PW,
    )
    .json();
    let token = t["access_token"].as_str().unwrap();
    let body = token.strip_prefix("cwt=AAEB").expect("cwt=AAEB…");
    assert_eq!(body.len(), 140);
    assert!(body
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
}
