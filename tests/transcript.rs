//! The redacted transcript (option `transcript`) against ucwa-sim: every exchange the simulator
//! saw is a line, in order, with its status; no password, token, cookie, NTLM blob or proxy
//! credential appears, whether the password or the Windows grant signed in, directly or through
//! the simulator's proxy with credentials; a path that cannot be written is refused where it is
//! set. `UCWA_TRANSCRIPT` (no option at all) is proved in `tests/transcript_env.rs`.

mod common;

use common::*;
use serde_json::Value;
use ucwa::{Availability, Status};
use ucwa_sim::{SimConfig, WindowsAuth};

const PROXY_USER: &str = "proxy-agent7";
const PROXY_PW: &str = "pr0xy-p@ss";

fn transcript_path(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!(
        "ucwa-transcript-{name}-{}.jsonl",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&p);
    p
}

/// Waits for the client's follow-up GETs of the bare `added` events after makeMeAvailable, so
/// sign-out does not cut one short (a request never answered to the client is not a line).
fn followed_up(sim: &ucwa_sim::Sim) {
    assert!(eventually(std::time::Duration::from_secs(5), || {
        let log = sim.log();
        ["presence", "note", "location"]
            .iter()
            .all(|r| log.iter().any(|e| e.method == "GET" && e.route == *r))
    }));
}

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

/// Asserts that no secret of the run, in any form, is in `text`.
fn assert_no_secret(text: &str, tokens: &[String]) {
    let mut leaks: Vec<String> = vec![
        ALICE_PW.into(),
        PROXY_PW.into(),
        "pr0xy-p%40ss".into(),
        "TlRMTVNT".into(), // an NTLM message, base64
        "oYG".into(),      // a SPNEGO negTokenResp, base64
        "cwt=".into(),
    ];
    leaks.extend(tokens.iter().cloned());
    for leak in leaks {
        assert!(!text.contains(&leak), "{leak:?} leaked into the transcript");
    }
}

/// The (method, path) of every exchange of the simulator's log and of the transcript, in order.
fn assert_every_exchange_is_a_line(sim: &ucwa_sim::Sim, recorded: &[Value]) {
    let log = sim.log();
    // A P-GET still parked at sign-out is answered after the client let it go: no exchange
    // of the client's finished there.
    let abandoned = |e: &ucwa_sim::LogEntry| {
        e.route == "events"
            && (e.status == 404
                || e.status == 0
                || log
                    .iter()
                    .any(|d| d.method == "DELETE" && d.route == "application" && d.seq < e.seq))
    };
    let seen: Vec<(String, String, u16)> = log
        .iter()
        .filter(|e| !abandoned(e))
        .map(|e| {
            (
                e.method.clone(),
                e.path.split('?').next().unwrap().to_string(),
                e.status,
            )
        })
        .collect();
    let mut lines: Vec<(String, String, u16)> = recorded
        .iter()
        .map(|l| {
            let url = url::Url::parse(l["url"].as_str().unwrap()).unwrap();
            assert!(url.query().is_none(), "a query string in {url}");
            let method = l["method"].as_str().unwrap().to_string();
            let status = l["status"].as_u64().unwrap_or(0) as u16;
            (method, url.path().to_string(), status)
        })
        .collect();
    // The simulator's log may lag the last P-GET the client saw answered.
    lines.retain(|l| seen.contains(l) || l.1.contains("events"));
    for s in &seen {
        assert!(
            lines.contains(s),
            "{s:?} missing from the transcript: {lines:?}"
        );
    }
}

#[test]
fn every_exchange_of_sign_in_presence_and_sign_out_is_a_line_without_secrets() {
    let sim = start(fast_config());
    let path = transcript_path("flow");
    let c = client(&sim);
    c.set_option("transcript", path.to_str().unwrap()).unwrap();
    c.sign_in(ALICE, ALICE_PW).unwrap();
    c.make_me_available(Availability::Online).unwrap();
    followed_up(&sim);
    c.set_availability(Availability::Busy).unwrap();
    c.set_note("transcribed").unwrap();
    assert_eq!(c.presence().unwrap().availability, Availability::Busy);
    c.sign_out().unwrap();
    let recorded = lines(&path);
    assert_every_exchange_is_a_line(&sim, &recorded);
    let purposes: Vec<&str> = recorded.iter().filter_map(|l| l["for"].as_str()).collect();
    for p in [
        "discovery",
        "token",
        "user",
        "application",
        "makeMeAvailable",
        "note",
    ] {
        assert!(purposes.contains(&p), "no exchange for {p}: {purposes:?}");
    }
    let token_line = recorded
        .iter()
        .find(|l| l["for"] == "token" && l["status"] == 200)
        .unwrap();
    let body = token_line["response"]["body"]["text"].as_str().unwrap();
    assert!(
        body.contains("expires_in") && body.contains("[redacted]"),
        "{body}"
    );
    assert!(recorded
        .iter()
        .all(|l| l["client"] == recorded[0]["client"]));
    assert!(recorded
        .iter()
        .any(|l| l["request"]["headers"]["authorization"][0] == "Bearer [redacted]"));
    let minted = sim.mint_token(ALICE, 60.0).unwrap().access_token;
    assert_no_secret(&std::fs::read_to_string(&path).unwrap(), &[minted]);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn the_windows_grant_through_a_proxy_with_credentials_leaves_no_blob_nor_credential() {
    let sim = start(SimConfig {
        grants: vec!["urn:microsoft.rtc:windows".into()],
        windows_auth: vec![WindowsAuth::Ntlm],
        ..fast_config()
    });
    sim.proxy_require_credentials(Some((PROXY_USER, PROXY_PW)));
    let path = transcript_path("windows");
    let c = client(&sim);
    c.set_option("transcript", path.to_str().unwrap()).unwrap();
    let pw: String = url::form_urlencoded::byte_serialize(PROXY_PW.as_bytes()).collect();
    c.set_option(
        "proxy",
        &format!("http://{PROXY_USER}:{pw}@{}", sim.proxy_addr()),
    )
    .unwrap();
    c.set_option("grant", "windows").unwrap();
    c.sign_in(ALICE, ALICE_PW).unwrap();
    c.make_me_available(Availability::Online).unwrap();
    followed_up(&sim);
    c.sign_out().unwrap();
    assert!(
        sim.proxy_log().iter().all(|e| e.authorized),
        "the proxy carried it"
    );
    let recorded = lines(&path);
    assert_every_exchange_is_a_line(&sim, &recorded);
    let legs: Vec<&Value> = recorded.iter().filter(|l| l["for"] == "token").collect();
    assert!(
        legs.len() >= 3,
        "the anonymous request and both legs: {legs:?}"
    );
    assert!(legs
        .iter()
        .any(|l| l["request"]["headers"]["authorization"][0] == "NTLM [redacted]"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(PROXY_USER) || !text.contains(&pw));
    assert_no_secret(&text, &[]);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_transcript_path_that_cannot_be_written_is_a_clear_error_and_changes_nothing() {
    let sim = start(fast_config());
    let c = client(&sim);
    for bad in ["/nonexistent-dir/t.jsonl", "/"] {
        let e = c.set_option("transcript", bad).unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument);
        assert!(e.to_string().contains("transcript"), "{e}");
    }
    c.sign_in(ALICE, ALICE_PW).unwrap();
    c.sign_out().unwrap();
}
