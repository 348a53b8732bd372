//! The 21 "Acceptance-test exchanges" of the protocol reference, each driven with a plain HTTP
//! client against the simulator, asserting status, headers and body shapes.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::*;
use ucwa_sim::{Fault, FaultAction, SimConfig};

const JSON_ACCEPT: (&str, &str) = ("Accept", "application/json");

#[test]
fn e01_autodiscover_root_has_self_user_and_xframe_links() {
    let sim = start(fast());
    let http = Http::plain();
    let r = http.get(&sim.root_url(), &[JSON_ACCEPT]);
    assert_eq!(r.status, 200);
    assert!(r.content_type().starts_with("application/json"));
    let links = &r.json()["_links"];
    let keys: Vec<&String> = links.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["self", "user", "xframe"]);
    let user = href_at(links, "/user/href");
    assert!(user.starts_with(&sim.root_url()), "absolute: {user}");
    assert!(user.ends_with(
        "/Autodiscover/AutodiscoverService.svc/root/oauth/user?originalDomain=contoso.com"
    ));
    assert!(href_at(links, "/xframe/href").ends_with("/Autodiscover/XFrame/XFrame.html"));
    // The documented root path answers the same root.
    let again = http.get(&href_at(links, "/self/href"), &[JSON_ACCEPT]);
    assert_eq!(again.json()["_links"]["user"], links["user"]);
    // xframe is HTML.
    let xf = http.get(&href_at(links, "/xframe/href"), &[]);
    assert_eq!(xf.status, 200);
    assert!(xf.content_type().starts_with("text/html"));
}

#[test]
fn e02_discovery_redirect_hops_hold_only_a_redirect_link_on_the_same_origin() {
    // The documented shape; by default a redirect root also has self and xframe (fidelity.rs).
    let sim = start(SimConfig {
        discovery_redirects: 2,
        bare_redirects: true,
        ..fast()
    });
    let http = Http::plain();
    let mut url = sim.root_url();
    for hop in 0..2 {
        let r = http.get(&url, &[JSON_ACCEPT]);
        assert_eq!(r.status, 200);
        let v = r.json();
        assert_eq!(v.as_object().unwrap().len(), 1, "only _links: {v}");
        let links = v["_links"].as_object().unwrap();
        assert_eq!(
            links.keys().collect::<Vec<_>>(),
            ["redirect"],
            "hop {hop}: {v}"
        );
        let next = resolve(&url, &href_at(&v, "/_links/redirect/href"));
        assert!(next.starts_with(&sim.root_url()), "same origin: {next}");
        assert_ne!(next, url);
        url = next;
    }
    let root = http.get(&url, &[JSON_ACCEPT]).json();
    assert!(root["_links"]["user"].is_object(), "{root}");
    let routes: Vec<String> = sim.log().iter().map(|e| e.route.clone()).collect();
    assert_eq!(routes, ["discovery"; 3]);
}

#[test]
fn e03_internal_discovery_failures_can_be_simulated() {
    let sim = start(fast());
    let http = Http::plain();
    let fault = |action| Fault {
        route: Some("discovery".into()),
        path_contains: None,
        method: None,
        count: 1,
        action,
    };
    sim.inject_fault(fault(FaultAction::Respond {
        status: 404,
        headers: vec![],
        body: String::new(),
    }));
    assert_eq!(http.get(&sim.root_url(), &[]).status, 404);
    sim.inject_fault(fault(FaultAction::Close));
    let raw = http.send_raw("GET", &sim.root_url(), &[], b"");
    assert!(
        raw.map(|b| b.is_empty()).unwrap_or(true),
        "closed without an answer"
    );
    sim.inject_fault(fault(FaultAction::Delay { ms: 300 }));
    let t = Instant::now();
    assert_eq!(http.get(&sim.root_url(), &[]).status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    // Faults are consumed: the next discovery is normal.
    assert_eq!(http.get(&sim.root_url(), &[]).status, 200);
}

#[test]
fn e04_unauthenticated_user_gets_401_html_with_both_challenges() {
    let sim = start(fast());
    let http = Http::plain();
    let root = http.get(&sim.root_url(), &[JSON_ACCEPT]).json();
    let r = http.get(&href_at(&root, "/_links/user/href"), &[JSON_ACCEPT]);
    assert_eq!(r.status, 401);
    assert!(r.content_type().starts_with("text/html"));
    let challenges = r.headers_named("www-authenticate");
    assert_eq!(challenges.len(), 2, "{challenges:?}");
    assert!(
        challenges[0].starts_with("Bearer trusted_issuers=\""),
        "{}",
        challenges[0]
    );
    assert!(challenges[0].contains("client_id=\"00000004-0000-0ff1-ce00-000000000000\""));
    let expected = format!(
        "MsRtcOAuth href=\"{}WebTicket/oauthtoken\",grant_type=\"urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password\"",
        sim.root_url()
    );
    assert_eq!(challenges[1], expected);
    assert_eq!(r.content_type(), "text/html", "bare, as captured");
    assert!(
        r.header("x-ms-ucwaversion").is_none(),
        "absent from every capture"
    );
}

#[test]
fn e05_password_grant_returns_a_bearer_cwt_token_not_to_be_cached() {
    let sim = start(fast());
    let r = password_token(
        &Http::plain(),
        &format!("{}WebTicket/oauthtoken", sim.root_url()),
        ALICE,
        ALICE_PW,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    let v = r.json();
    assert!(v["access_token"].as_str().unwrap().starts_with("cwt="));
    assert_eq!(v["expires_in"], 28800);
    assert_eq!(v["ms_rtc_identityscope"], "local");
    assert_eq!(v["token_type"], "Bearer");
    let log = sim.log();
    assert_eq!(log[0].route, "token");
    assert_eq!(log[0].user.as_deref(), Some(ALICE));
    assert_eq!(log[0].body, None, "token bodies are never logged");
}

#[test]
fn e06_token_failures_use_oauth_error_bodies() {
    let sim = start(fast());
    let http = Http::plain();
    let url = format!("{}WebTicket/oauthtoken", sim.root_url());
    let post = |body: &str| {
        http.send("POST", &url, &[("Content-Type", FORM)], body.as_bytes())
            .unwrap()
    };
    let cases = [
        (
            "grant_type=urn:microsoft.rtc:anonmeeting&password=1",
            "unsupported_grant_type",
        ),
        (
            "grant_type=password&username=alice@contoso.com&password=wrong",
            "invalid_grant",
        ),
        (
            "grant_type=password&username=nobody@contoso.com&password=x",
            "invalid_grant",
        ),
        (
            "grant_type=password&username=alice@contoso.com",
            "invalid_request",
        ),
        (
            "username=alice@contoso.com&password=alice-password",
            "invalid_request",
        ),
    ];
    for (body, error) in cases {
        let r = post(body);
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.json()["error"], error, "{body}");
        assert_eq!(r.header("cache-control"), Some("no-store"));
    }
    // The Windows grant without Authorization is no OAuth error: IIS offers its schemes.
    let windows = post("grant_type=urn:microsoft.rtc:windows");
    assert_eq!(windows.status, 401, "{}", windows.text());
    assert_eq!(
        windows.headers_named("www-authenticate"),
        ["Negotiate", "NTLM"]
    );
    let passive = post("grant_type=urn:microsoft.rtc:passive").json();
    assert_eq!(passive["error"], "invalid_grant");
    assert!(passive["ms_rtc_passiveauthuri"]
        .as_str()
        .unwrap()
        .starts_with("http"));
    let not_form = http
        .send(
            "POST",
            &url,
            &[("Content-Type", "application/json")],
            br#"{"grant_type":"password"}"#,
        )
        .unwrap();
    assert_eq!(not_form.json()["error"], "invalid_request");
}

#[test]
fn e07_authenticated_user_links_to_applications() {
    let sim = start(fast());
    let http = Http::plain();
    let root = http.get(&sim.root_url(), &[JSON_ACCEPT]).json();
    let user_url = href_at(&root, "/_links/user/href");
    let token = password_token(
        &http,
        &challenge_href(&http.get(&user_url, &[])),
        ALICE,
        ALICE_PW,
    )
    .json();
    let auth = format!(
        "{} {}",
        token["token_type"].as_str().unwrap(),
        token["access_token"].as_str().unwrap()
    );
    let r = http.get(&user_url, &[JSON_ACCEPT, ("Authorization", &auth)]);
    assert_eq!(r.status, 200);
    let links = r.json()["_links"].clone();
    let mut keys: Vec<&String> = links.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["applications", "self", "xframe"]);
    assert_eq!(
        href_at(&links, "/applications/href"),
        format!("{}ucwa/oauth/v1/applications", sim.root_url())
    );
    assert_eq!(sim.log().last().unwrap().user.as_deref(), Some(ALICE));
    // A scheme other than Bearer, or an unknown token, is challenged again.
    assert_eq!(
        http.get(&user_url, &[("Authorization", "Basic abc")])
            .status,
        401
    );
    assert_eq!(
        http.get(&user_url, &[("Authorization", "Bearer cwt=nope")])
            .status,
        401
    );
}

#[test]
fn e08_create_application_returns_201_with_links_embedded_resources_and_cookie() {
    let sim = start(fast());
    let s = Session::sign_in(&sim, ALICE, ALICE_PW);
    let app = &s.app;
    assert_eq!(app["rel"], "application");
    assert_eq!(app["userAgent"], "sim-tests");
    assert_eq!(app["culture"], "en-US");
    assert_eq!(app["endpointId"], "sim-test");
    let mut app_links: Vec<&String> = app["_links"].as_object().unwrap().keys().collect();
    app_links.sort();
    assert_eq!(app_links, ["batch", "events", "policies", "self"]);
    let events = href_at(app, "/_links/events/href");
    assert!(
        events.starts_with("/ucwa/oauth/v1/applications/") && events.ends_with("/events?ack=1"),
        "{events}"
    );
    for embedded in ["me", "people", "onlineMeetings", "communication"] {
        assert_eq!(app["_embedded"][embedded]["rel"], embedded);
        assert!(app["_embedded"][embedded]["_links"]["self"].is_object());
    }
    let me = &app["_embedded"]["me"];
    assert_eq!(me["uri"], "sip:alice@contoso.com");
    assert!(me["_links"]["makeMeAvailable"].is_object());
    for absent in ["presence", "note", "location", "reportMyActivity"] {
        assert!(
            me["_links"].get(absent).is_none(),
            "{absent} before makeMeAvailable"
        );
    }
    let comm = &app["_embedded"]["communication"];
    assert_eq!(comm["supportedModalities"], json!([]));
    assert!(comm
        .as_object()
        .unwrap()
        .values()
        .any(|v| v == "please pass this in a PUT request"));

    // The 201 itself: Etag and the photo cookie; GET answers the same representation.
    let body = json!({"userAgent": "raw", "endpointId": "e-2", "culture": "en-US"});
    let apps_url = format!("{}ucwa/oauth/v1/applications", sim.root_url());
    let r = s
        .http
        .send(
            "POST",
            &apps_url,
            &[
                ("Authorization", &s.auth),
                ("Content-Type", "application/json"),
            ],
            body.to_string().as_bytes(),
        )
        .unwrap();
    assert_eq!(r.status, 201);
    assert!(r
        .content_type()
        .starts_with("application/json; charset=utf-8"));
    assert!(r.header("etag").unwrap().starts_with('"'));
    let cookie = r.header("set-cookie").unwrap();
    assert!(cookie.starts_with("cwt_ucwa="), "{cookie}");
    assert!(
        cookie.contains("/photos") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    assert_eq!(r.json()["userAgent"], "raw", "camelCase accepted");
    let get = s.get(&s.url(&href_at(&r.json(), "/_links/self/href")));
    assert_eq!(get.status, 200);
    assert_eq!(get.json(), r.json());
    assert_eq!(get.header("etag"), r.header("etag"));
}

#[test]
fn e09_presence_note_location_and_activity_before_make_me_available_are_409() {
    let sim = start(fast());
    let s = Session::sign_in(&sim, ALICE, ALICE_PW);
    // The links are absent, but the resources exist at the paths makeMeAvailable will reveal.
    let me = s.link("me", "self");
    for (method, suffix) in [
        ("GET", "/presence"),
        ("POST", "/presence"),
        ("GET", "/note"),
        ("POST", "/note"),
        ("GET", "/location"),
        ("POST", "/location"),
        ("POST", "/reportMyActivity"),
    ] {
        let url = format!("{me}{suffix}");
        let r = match method {
            "GET" => s.get(&url),
            _ => s.post_json(&url, &json!({})),
        };
        r.assert_error(409, "Conflict", Some("MakeMeAvailableRequired"));
    }
}

#[test]
fn e10_make_me_available_minimal_and_full_bodies_return_204() {
    let sim = start(fast());
    let a = Session::sign_in(&sim, ALICE, ALICE_PW);
    let r = a.post_json(
        &a.link("me", "makeMeAvailable"),
        &json!({"SupportedModalities": ["Messaging"]}),
    );
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    let b = Session::sign_in(&sim, BOB, BOB_PW);
    let full = json!({
        "audioPreference": "PhoneAudio",
        "phoneNumber": "4255552222",
        "signInAs": "BeRightBack",
        "supportedMessageFormats": ["Plain", "Html"],
        "supportedModalities": ["PhoneAudio", "Messaging"],
    });
    assert_eq!(
        b.post_json(&b.link("me", "makeMeAvailable"), &full).status,
        204
    );
    assert_eq!(sim.user(BOB).unwrap().availability, "BeRightBack");
    assert_eq!(
        sim.user(ALICE).unwrap().availability,
        "Online",
        "default availability"
    );
    let logged = sim
        .log()
        .into_iter()
        .rev()
        .find(|e| e.route == "makeMeAvailable")
        .unwrap();
    assert!(
        logged.body.unwrap().contains("BeRightBack"),
        "JSON bodies are logged"
    );
}

#[test]
fn e11_duplicate_make_me_available_is_409_already_exists() {
    let sim = start(fast());
    let s = Session::sign_in(&sim, ALICE, ALICE_PW);
    let mma = s.link("me", "makeMeAvailable");
    assert_eq!(s.post_json(&mma, &json!({})).status, 204);
    s.post_json(&mma, &json!({}))
        .assert_error(409, "Conflict", Some("AlreadyExists"));
}

#[test]
fn e12_events_after_make_me_available_confirm_me_presence_note_location_and_communication() {
    let sim = start(fast());
    let s = Session::sign_in(&sim, ALICE, ALICE_PW);
    let events_url = s.events_url();
    assert!(events_url.ends_with("events?ack=1"));
    assert_eq!(
        s.post_json(
            &s.link("me", "makeMeAvailable"),
            &json!({"SupportedModalities": ["Messaging"]})
        )
        .status,
        204
    );
    let r = s.get(&events_url);
    assert_eq!(r.status, 200);
    let v = r.json();
    assert!(href_at(&v, "/_links/self/href").ends_with("events?ack=1"));
    assert!(href_at(&v, "/_links/next/href").ends_with("events?ack=2"));
    let senders = v["sender"].as_array().unwrap();
    assert_eq!(senders[0]["rel"], "me");
    assert!(senders[0]["href"].as_str().unwrap().ends_with("/me"));
    let events = events_of(senders);
    let kinds: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|(s, r, t, _)| (s.as_str(), r.as_str(), t.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("me", "me", "updated"),
            ("me", "presence", "added"),
            ("me", "note", "added"),
            ("me", "location", "added"),
            ("communication", "communication", "updated"),
        ]
    );
    let comm = &events[4].3["_embedded"]["communication"];
    assert_eq!(comm["supportedModalities"], json!(["Messaging"]));
    // As on real servers, the four self events are bare: the client GETs the resources.
    for e in &events[..4] {
        assert!(e.3.get("_embedded").is_none(), "{}", e.3);
    }
    let presence = s.get(&s.url(events[1].3["link"]["href"].as_str().unwrap()));
    assert_eq!(presence.json()["availability"], "Online");
    assert!(events[1].3["link"]["href"]
        .as_str()
        .unwrap()
        .ends_with("/me/presence"));
}

#[test]
fn e13_application_after_make_me_available_lists_the_eight_me_links() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let mut rels: Vec<&String> = s.app["_embedded"]["me"]["_links"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    rels.sort();
    assert_eq!(
        rels,
        [
            "callForwardingSettings",
            "location",
            "note",
            "phones",
            "photo",
            "presence",
            "reportMyActivity",
            "self"
        ]
    );
    // GET me agrees with the embedded copy.
    assert_eq!(
        s.get(&s.link("me", "self")).json(),
        s.app["_embedded"]["me"]
    );
}

#[test]
fn e14_set_presence_answers_204_and_emits_presence_updated() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let (_, next) = s.drain_events(s.events_url());
    for availability in ["BeRightBack", "Online"] {
        let r = s.post_json(
            &s.link("me", "presence"),
            &json!({ "availability": availability }),
        );
        assert_eq!(r.status, 204);
        assert!(r.body.is_empty());
    }
    let (senders, _) = s.drain_events(next);
    let events = events_of(&senders);
    let updated: Vec<&Value> = events
        .iter()
        .filter(|(s, r, t, _)| s == "me" && r == "presence" && t == "updated")
        .map(|e| &e.3)
        .collect();
    assert_eq!(updated.len(), 2, "{events:?}");
    assert!(updated.iter().all(|e| e.get("_embedded").is_none()));
    // Following the event with a GET gives the latest value.
    let href = updated[1]["link"]["href"].as_str().unwrap();
    assert_eq!(s.get(&s.url(href)).json()["availability"], "Online");
}

#[test]
fn e15_get_presence_returns_availability_and_self_link() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let r = s.get(&s.link("me", "presence"));
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["rel"], "presence");
    assert_eq!(v["availability"], "Online");
    assert_eq!(
        s.url(&href_at(&v, "/_links/self/href")),
        s.link("me", "presence")
    );
    // With an activity from another device, activity is present.
    sim.set_presence_elsewhere(ALICE, "Busy", Some("in-a-meeting"));
    let v = s.get(&s.link("me", "presence")).json();
    assert_eq!(
        (v["availability"].as_str(), v["activity"].as_str()),
        (Some("Busy"), Some("in-a-meeting"))
    );
}

#[test]
fn e16_empty_presence_post_resets_to_online() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let presence = s.link("me", "presence");
    assert_eq!(
        s.post_json(&presence, &json!({"availability": "DoNotDisturb"}))
            .status,
        204
    );
    assert_eq!(sim.user(ALICE).unwrap().availability, "DoNotDisturb");
    let r = s.post_empty(&presence);
    assert_eq!(r.status, 204);
    assert_eq!(s.get(&presence).json()["availability"], "Online");
}

#[test]
fn e17_report_my_activity_with_no_body_is_204() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let r = s.post_empty(&s.link("me", "reportMyActivity"));
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    assert_eq!(sim.user(ALICE).unwrap().applications[0].activity_reports, 1);
}

#[test]
fn e18_note_and_location_round_trip() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let note = s.link("me", "note");
    assert_eq!(
        s.post_json(&note, &json!({"message": "working working working"}))
            .status,
        204
    );
    let v = s.get(&note).json();
    assert_eq!(v["message"], "working working working");
    assert_eq!(v["type"], "Personal");
    assert_eq!(v["rel"], "note");
    let location = s.link("me", "location");
    assert_eq!(
        s.post_json(&location, &json!({"location": "By the beach"}))
            .status,
        204
    );
    let v = s.get(&location).json();
    assert_eq!(
        (v["location"].as_str(), v["rel"].as_str()),
        (Some("By the beach"), Some("location"))
    );
    // Blank or absent clears.
    assert_eq!(s.post_json(&note, &json!({"message": ""})).status, 204);
    assert_eq!(s.post_empty(&location).status, 204);
    assert_eq!(s.get(&note).json()["message"], "");
    let user = sim.user(ALICE).unwrap();
    assert_eq!((user.note, user.location), (None, None));
    // Query-parameter input works too.
    assert_eq!(
        s.post_empty(&format!("{note}?message=from%20query")).status,
        204
    );
    assert_eq!(s.get(&note).json()["message"], "from query");
}

#[test]
fn e19a_pget_without_events_releases_after_timeout_with_self_next_and_empty_sender() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let (_, next) = s.drain_events(s.events_url());
    let t = Instant::now();
    let r = s.get(&format!("{next}&timeout=0.3"));
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(280) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    let v = r.json();
    let mut keys = v.as_object().unwrap().keys().collect::<Vec<_>>();
    keys.sort();
    assert_eq!(keys, ["_links", "sender"]);
    assert_eq!(v["sender"], json!([]), "an empty sender array by default");
    let mut rels: Vec<&String> = v["_links"].as_object().unwrap().keys().collect();
    rels.sort();
    assert_eq!(rels, ["next", "self"]);
}

#[test]
fn e19b_second_pget_on_the_same_ack_answers_the_first_with_409_pget_replaced() {
    let sim = start(SimConfig {
        event_timeout_s: 5.0,
        ..fast()
    });
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let (_, next) = s.drain_events_quick();
    let first = {
        let (http, url, auth) = (s.http.clone(), next.clone(), s.auth.clone());
        std::thread::spawn(move || http.get(&url, &[("Authorization", &auth)]))
    };
    assert!(eventually(Duration::from_secs(3), || sim
        .user(ALICE)
        .unwrap()
        .applications[0]
        .parked_pgets
        == 1));
    let second = {
        let (http, url, auth) = (s.http.clone(), next.clone(), s.auth.clone());
        std::thread::spawn(move || http.get(&url, &[("Authorization", &auth)]))
    };
    let replaced = first.join().unwrap();
    replaced.assert_error(409, "Conflict", Some("PGetReplaced"));
    // The newer one is the parked one and still gets the next event.
    assert!(eventually(Duration::from_secs(3), || sim
        .user(ALICE)
        .unwrap()
        .applications[0]
        .parked_pgets
        == 1));
    sim.set_presence_elsewhere(ALICE, "Away", None);
    let answer = second.join().unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(
        events_of(answer.json()["sender"].as_array().unwrap())[0].1,
        "presence"
    );
}

#[test]
fn e19c_stale_ack_gets_only_a_resync_link_to_the_first_unacknowledged_set() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let (_, next) = s.drain_events(s.events_url());
    let unacked = next.clone();
    for stale in ["ack=0", "ack=1", "ack=999", "ack=abc"] {
        let url = next.replace(&next[next.find("ack=").unwrap()..], stale);
        let r = s.get(&url);
        assert_eq!(r.status, 200);
        let v = r.json();
        assert_eq!(
            v.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["_links"],
            "{stale}"
        );
        assert_eq!(
            v["_links"].as_object().unwrap().keys().collect::<Vec<_>>(),
            ["resync"],
            "{stale}"
        );
        let resync = s.url(&href_at(&v, "/_links/resync/href"));
        // The last set answered was not yet acknowledged: resync points at it.
        let expected_ack: u64 = unacked
            .rsplit("ack=")
            .next()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            - 1;
        assert!(resync.ends_with(&format!("ack={expected_ack}")), "{resync}");
    }
    // Following resync resends that set, and its next continues normally.
    let v = s
        .get(&next.replace(&next[next.find("ack=").unwrap()..], "ack=1"))
        .json();
    let r = s.get(&s.url(&href_at(&v, "/_links/resync/href")));
    assert_eq!(r.status, 200);
    assert!(href_at(&r.json(), "/_links/next/href").ends_with(&next[next.find("ack=").unwrap()..]));
}

#[test]
fn e19d_application_deleted_server_side_answers_the_parked_pget_with_404() {
    let sim = start(SimConfig {
        event_timeout_s: 10.0,
        ..fast()
    });
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let (_, next) = s.drain_events_quick();
    let parked = {
        let (http, auth) = (s.http.clone(), s.auth.clone());
        std::thread::spawn(move || http.get(&next, &[("Authorization", &auth)]))
    };
    assert!(eventually(Duration::from_secs(3), || sim
        .user(ALICE)
        .unwrap()
        .applications[0]
        .parked_pgets
        == 1));
    sim.delete_applications(ALICE);
    parked
        .join()
        .unwrap()
        .assert_error(404, "NotFound", Some("ApplicationNotFound"));
    s.get(&s.app_url)
        .assert_error(404, "NotFound", Some("ApplicationNotFound"));
}

#[test]
fn e19e_application_without_a_pget_expires_with_the_configured_status() {
    for (status, code, subcode) in [
        (
            ucwa_sim::ExpiredStatus::NotFound,
            "NotFound",
            "ApplicationNotFound",
        ),
        (
            ucwa_sim::ExpiredStatus::Gone,
            "Gone",
            "InactiveApplicationExpired",
        ),
    ] {
        let sim = start(SimConfig {
            app_expiry_s: 1.0,
            expired_status: status,
            ..fast()
        });
        let s = Session::available(&sim, ALICE, ALICE_PW);
        assert!(eventually(Duration::from_secs(3), || sim
            .user(ALICE)
            .unwrap()
            .applications
            .is_empty()));
        s.get(&s.link("me", "presence"))
            .assert_error(status.status(), code, Some(subcode));
        s.get(&s.events_url())
            .assert_error(status.status(), code, Some(subcode));
    }
}

#[test]
fn e20_sign_out_deletes_the_application_and_later_calls_get_404() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let r = s.delete(&s.app_url);
    assert_eq!(r.status, 204);
    assert!(sim.user(ALICE).unwrap().applications.is_empty());
    assert_eq!(sim.user(ALICE).unwrap().availability, "Offline");
    s.get(&s.app_url)
        .assert_error(404, "NotFound", Some("ApplicationNotFound"));
    s.post_json(&s.link("me", "presence"), &json!({"availability": "Busy"}))
        .assert_error(404, "NotFound", Some("ApplicationNotFound"));
    s.delete(&s.app_url)
        .assert_error(404, "NotFound", Some("ApplicationNotFound"));
}

#[test]
fn e21_batch_of_two_gets_answers_two_parts_in_order() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let contacts = href_at(&s.app, "/_embedded/people/_links/myContacts/href");
    let me = href_at(&s.app, "/_embedded/me/_links/self/href");
    let b = "77f2569d-c005-442b-b856-782305305e5b";
    let body = format!(
        "--{b}\r\nContent-Type: application/http; msgtype=request\r\n\r\nGET {contacts} HTTP/1.1\r\nHost: fe1.contoso.com\r\nAccept: application/json\r\n\r\n\
         --{b}\r\nContent-Type: application/http; msgtype=request\r\n\r\nGET {me} HTTP/1.1\r\nHost: fe1.contoso.com\r\nAccept: application/json\r\n\r\n--{b}--\r\n"
    );
    let r = s
        .http
        .send(
            "POST",
            &s.link("", "batch"),
            &[
                ("Authorization", &s.auth),
                ("Content-Type", &format!("multipart/batching;boundary={b}")),
                ("Accept", "multipart/batching"),
            ],
            body.as_bytes(),
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let ct = r.content_type();
    assert!(ct.starts_with("multipart/batching; boundary=\""), "{ct}");
    let out_b = ct
        .split("boundary=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"')
        .to_owned();
    let text = r.text();
    let parts: Vec<&str> = text
        .split(&format!("--{out_b}"))
        .filter(|p| p.contains("msgtype=response"))
        .collect();
    assert_eq!(parts.len(), 2, "{text}");
    for (part, rel) in parts.iter().zip(["myContacts", "me"]) {
        assert!(part.contains("Content-Type: application/http; msgtype=response"));
        assert!(part.contains("HTTP/1.1 200 OK"), "{part}");
        let json_start = part.find('{').unwrap();
        let v: Value = serde_json::from_str(part[json_start..].trim_end()).unwrap();
        assert_eq!(v["rel"], rel);
    }
    assert!(text.trim_end().ends_with(&format!("--{out_b}--")));
}
