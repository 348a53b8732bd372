//! Error answers beyond the documented exchanges: validation failures, limits, tokens that are
//! expired or from the other pool, origin checks, conditional GET, and the UNCONFIRMED choices
//! (Offwork read-back, shared applications for the same endpoint).

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;
use ucwa_sim::SimConfig;

fn apps_url(sim: &ucwa_sim::Sim) -> String {
    format!("{}ucwa/oauth/v1/applications", sim.root_url())
}

#[test]
fn missing_application_fields_are_400_parameter_validation_failure_listing_them() {
    let sim = start(fast());
    let s = Session::sign_in(&sim, ALICE, ALICE_PW);
    let r = s.post_json(&apps_url(&sim), &json!({"UserAgent": "x"}));
    r.assert_error(400, "BadRequest", Some("ParameterValidationFailure"));
    let names: Vec<String> = r.json()["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["endpointId", "culture"]);
    let empty = s.post_empty(&apps_url(&sim));
    empty.assert_error(400, "BadRequest", Some("ParameterValidationFailure"));
    assert_eq!(empty.json()["parameters"].as_array().unwrap().len(), 3);
    let not_json = s
        .http
        .send(
            "POST",
            &apps_url(&sim),
            &[
                ("Authorization", &s.auth),
                ("Content-Type", "application/json"),
            ],
            b"{nope",
        )
        .unwrap();
    not_json.assert_error(400, "BadRequest", Some("DeserializationFailure"));
    let wrong_type = s
        .http
        .send(
            "POST",
            &apps_url(&sim),
            &[("Authorization", &s.auth), ("Content-Type", "text/plain")],
            b"hello",
        )
        .unwrap();
    wrong_type.assert_error(415, "UnsupportedMediaType", Some("UnsupportedMediaType"));
}

#[test]
fn property_names_are_case_insensitive() {
    let sim = start(fast());
    let s = Session::sign_in(&sim, ALICE, ALICE_PW);
    let r = s.post_json(
        &apps_url(&sim),
        &json!({"USERAGENT": "u", "endpointid": "e9", "Culture": "en-GB"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["culture"], "en-GB");
}

#[test]
fn one_application_too_many_is_410_too_many_applications() {
    let sim = start(SimConfig {
        max_apps: 2,
        ..fast()
    });
    let s = Session::sign_in(&sim, ALICE, ALICE_PW);
    let r = s.post_json(
        &apps_url(&sim),
        &json!({"userAgent": "u", "endpointId": "second", "culture": "en-US"}),
    );
    assert_eq!(r.status, 201);
    let r = s.post_json(
        &apps_url(&sim),
        &json!({"userAgent": "u", "endpointId": "third", "culture": "en-US"}),
    );
    r.assert_error(410, "Gone", Some("TooManyApplications"));
    // Another user has their own allowance.
    Session::sign_in(&sim, BOB, BOB_PW);
}

#[test]
fn same_endpoint_agent_and_culture_share_the_live_application() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let body = json!({"UserAgent": "sim-tests", "EndpointId": "sim-test", "Culture": "en-US"});
    let again = s.post_json(&apps_url(&sim), &body);
    assert_eq!(again.status, 200, "real servers answer a re-POST 200");
    assert_eq!(
        again.json()["id"],
        s.app["id"],
        "the live application is returned"
    );
    assert!(
        again.json()["_embedded"]["me"]["_links"]["presence"].is_object(),
        "with its state"
    );
    assert_eq!(sim.user(ALICE).unwrap().applications.len(), 1);
    // A different endpoint id is a different application.
    let other = s.post_json(
        &apps_url(&sim),
        &json!({"UserAgent": "sim-tests", "EndpointId": "other", "Culture": "en-US"}),
    );
    assert_ne!(other.json()["id"], s.app["id"]);
    // With an instanceId, an existing instance answers 200.
    let tab = json!({"UserAgent": "sim-tests", "EndpointId": "tabs", "Culture": "en-US", "instanceId": "tab-1"});
    assert_eq!(s.post_json(&apps_url(&sim), &tab).status, 201);
    assert_eq!(s.post_json(&apps_url(&sim), &tab).status, 200);
}

#[test]
fn make_me_available_refuses_other_modalities_and_unknown_sign_in_as() {
    let sim = start(fast());
    let s = Session::sign_in(&sim, ALICE, ALICE_PW);
    let mma = s.link("me", "makeMeAvailable");
    s.post_json(
        &mma,
        &json!({"supportedModalities": ["Messaging", "Video"]}),
    )
    .assert_error(403, "Forbidden", None);
    s.post_json(&mma, &json!({"signInAs": "IdleOnline"}))
        .assert_error(400, "BadRequest", Some("ParameterValidationFailure"));
    s.post_json(&mma, &json!({"supportedModalities": "Messaging"}))
        .assert_error(400, "BadRequest", Some("ParameterValidationFailure"));
    assert!(
        !sim.user(ALICE).unwrap().applications[0].made_available,
        "nothing applied"
    );
    // An empty body is allowed.
    assert_eq!(s.post_empty(&mma).status, 204);
}

#[test]
fn only_the_six_preferred_availabilities_can_be_set() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let presence = s.link("me", "presence");
    for bad in ["IdleOnline", "IdleBusy", "Offline", "Inactive", "Sleeping"] {
        s.post_json(&presence, &json!({ "availability": bad }))
            .assert_error(400, "BadRequest", Some("ParameterValidationFailure"));
    }
    for good in ["Online", "Busy", "DoNotDisturb", "BeRightBack", "Away"] {
        assert_eq!(
            s.post_json(&presence, &json!({ "availability": good }))
                .status,
            204
        );
        assert_eq!(s.get(&presence).json()["availability"], good);
    }
}

#[test]
fn offwork_reads_back_as_configured() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    assert_eq!(
        s.post_json(
            &s.link("me", "presence"),
            &json!({"availability": "Offwork"})
        )
        .status,
        204
    );
    let v = s.get(&s.link("me", "presence")).json();
    assert_eq!(
        (v["availability"].as_str(), v["activity"].as_str()),
        (Some("Away"), Some("off-work"))
    );

    let sim = start(SimConfig {
        offwork_reads_as: ("Online".into(), Some("Off Work".into())),
        ..fast()
    });
    let s = Session::available(&sim, ALICE, ALICE_PW);
    s.post_json(
        &s.link("me", "presence"),
        &json!({"availability": "Offwork"}),
    );
    let v = s.get(&s.link("me", "presence")).json();
    assert_eq!(
        (v["availability"].as_str(), v["activity"].as_str()),
        (Some("Online"), Some("Off Work"))
    );
}

#[test]
fn location_longer_than_60_characters_is_refused() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let location = s.link("me", "location");
    s.post_json(&location, &json!({"location": "x".repeat(61)}))
        .assert_error(400, "BadRequest", Some("ParameterValidationFailure"));
    assert_eq!(
        s.post_json(&location, &json!({"location": "é".repeat(60)}))
            .status,
        204
    );
}

#[test]
fn expired_and_short_lived_tokens_get_the_challenge_again() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    sim.expire_tokens(Some(BOB));
    assert_eq!(s.get(&s.app_url).status, 200, "only bob's tokens expired");
    sim.expire_tokens(Some(ALICE));
    let r = s.get(&s.app_url);
    assert!(challenge_href(&r).ends_with("/WebTicket/oauthtoken"));
    assert!(r.content_type().starts_with("text/html"));

    let sim = start(SimConfig {
        token_lifetime_s: 1.0,
        ..fast()
    });
    let s = Session::sign_in(&sim, ALICE, ALICE_PW);
    assert_eq!(s.get(&s.app_url).status, 200);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(s.get(&s.app_url).status, 401);
    let t = password_token(
        &Http::plain(),
        &format!("{}WebTicket/oauthtoken", sim.root_url()),
        ALICE,
        ALICE_PW,
    );
    assert_eq!(t.json()["expires_in"], 1);
}

#[test]
fn a_token_from_the_other_pool_is_challenged_or_500_28032() {
    for status in [401u16, 500] {
        let sim = start(SimConfig {
            foreign_token_status: status,
            ..fast()
        });
        let s = Session::sign_in(&sim, ALICE, ALICE_PW);
        let pool2_apps = format!("{}ucwa/oauth/v1/applications", sim.pool2_url());
        let r = s.post_json(
            &pool2_apps,
            &json!({"userAgent": "u", "endpointId": "e", "culture": "en-US"}),
        );
        assert_eq!(r.status, status);
        assert!(r.content_type().starts_with("text/html"));
        if status == 401 {
            assert!(
                challenge_href(&r).starts_with(&sim.pool2_url()),
                "pool 2's own token endpoint"
            );
        } else {
            let diag = r.header("x-ms-diagnostics").unwrap();
            assert!(
                diag.starts_with("28032;source=\"")
                    && diag.ends_with("reason=\"The web ticket is invalid.\""),
                "{diag}"
            );
        }
    }
}

#[test]
fn application_of_another_user_or_unknown_id_is_404() {
    let sim = start(fast());
    let alice = Session::sign_in(&sim, ALICE, ALICE_PW);
    let bob = Session::sign_in(&sim, BOB, BOB_PW);
    bob.get(&alice.app_url)
        .assert_error(404, "NotFound", Some("ApplicationNotFound"));
    bob.get(&format!(
        "{}ucwa/oauth/v1/applications/doesnotexist/me",
        sim.root_url()
    ))
    .assert_error(404, "NotFound", Some("ApplicationNotFound"));
    bob.get(&format!("{}ucwa/oauth/v1/nothing", sim.root_url()))
        .assert_error(404, "NotFound", Some("ResourceNotFound"));
    bob.get(&format!("{}/no-such-thing", bob.app_url))
        .assert_error(404, "NotFound", Some("ResourceNotFound"));
}

#[test]
fn if_none_match_on_the_application_answers_304() {
    let sim = start(fast());
    let s = Session::sign_in(&sim, ALICE, ALICE_PW);
    let first = s.get(&s.app_url);
    let etag = first.header("etag").unwrap().to_owned();
    let r = s.http.get(
        &s.app_url,
        &[("Authorization", &s.auth), ("If-None-Match", &etag)],
    );
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    s.post_empty(&s.link("me", "makeMeAvailable"));
    let changed = s.http.get(
        &s.app_url,
        &[("Authorization", &s.auth), ("If-None-Match", &etag)],
    );
    assert_eq!(
        changed.status, 200,
        "the representation changed with makeMeAvailable"
    );
    assert_ne!(changed.header("etag").unwrap(), etag);
}

#[test]
fn x_ms_origin_not_allowed_is_403_and_absent_or_allowed_passes() {
    let sim = start(SimConfig {
        allowed_origins: vec!["https://app.contoso.com".into()],
        ..fast()
    });
    let s = Session::sign_in(&sim, ALICE, ALICE_PW);
    let with = |origin: &str| {
        s.http.get(
            &s.app_url,
            &[("Authorization", &s.auth), ("X-Ms-Origin", origin)],
        )
    };
    let r = with("https://evil.example");
    r.assert_error(403, "Forbidden", None);
    assert!(r.header("x-ms-diagnostics").unwrap().starts_with("28070;"));
    assert_eq!(with("https://app.contoso.com").status, 200);
    assert_eq!(s.get(&s.app_url).status, 200);
    let log = sim.log();
    assert_eq!(log.iter().filter(|e| e.x_ms_origin.is_some()).count(), 2);
}

#[test]
fn wrong_methods_are_405_with_allow() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let r = s.get(&s.link("me", "reportMyActivity"));
    r.assert_error(405, "MethodNotAllowed", None);
    assert_eq!(r.header("allow"), Some("POST"));
    let r = s.delete(&s.link("me", "presence"));
    assert_eq!(r.header("allow"), Some("GET, POST"));
}
