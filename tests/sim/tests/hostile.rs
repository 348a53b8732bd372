//! The hostile fault kinds and control operations that client-hardening tests build on:
//! oversized and endless bodies (streamed, constant simulator memory), errors that echo the
//! request's secrets, the foreign origin that reflects pool 1's challenge, and minted tokens.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::*;
use ucwa_sim::{Fault, FaultAction, ForeignChallenge, SimConfig};

fn fault(route: &str, action: FaultAction) -> Fault {
    Fault {
        route: Some(route.into()),
        path_contains: None,
        method: None,
        count: 1,
        action,
    }
}

/// Sends a GET on a fresh connection and returns the stream positioned after the head, with
/// the head's text.
fn open_get(url: &str) -> (TcpStream, String, Vec<u8>) {
    let u = url::Url::parse(url).unwrap();
    let host = u.host_str().unwrap().to_owned();
    let port = u.port().unwrap();
    let mut tcp = TcpStream::connect((host.as_str(), port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        tcp,
        "GET {} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\n\r\n",
        u.path()
    )
    .unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tcp.read(&mut chunk).unwrap();
        assert!(n > 0, "connection closed before the head");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).into_owned();
            return (tcp, head, buf[i + 4..].to_vec());
        }
    }
}

fn head_header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Resident set size of this process (which holds the simulator), from /proc.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

#[test]
fn oversized_answers_exactly_n_bytes_of_padded_json_with_content_length() {
    let sim = start(fast());
    let root = sim.root_url();
    for n in [0u64, 1, 2, 9, 10, 11, 65_546, 200_000] {
        sim.inject_fault(fault(
            "discovery",
            FaultAction::Oversized {
                status: 200,
                bytes: n,
            },
        ));
        let r = Http::plain().get(&root, &[]);
        assert_eq!(r.status, 200);
        assert_eq!(r.content_type(), "application/json");
        assert_eq!(r.header("content-length"), Some(n.to_string().as_str()));
        assert_eq!(r.body.len() as u64, n, "body of {n}");
        if n >= 10 {
            let v = r.json();
            assert_eq!(v["pad"].as_str().unwrap().len() as u64, n - 10);
            assert!(v["pad"].as_str().unwrap().bytes().all(|b| b == b'a'));
        } else if n >= 2 {
            assert_eq!(r.json(), json!({}));
        }
    }
    let statuses: Vec<u16> = sim.log().iter().map(|e| e.status).collect();
    assert_eq!(statuses, [200; 8]);
}

#[test]
fn oversized_300_mib_is_streamed_without_the_simulator_holding_it() {
    let sim = start(fast());
    const N: u64 = 300 << 20;
    sim.inject_fault(fault(
        "discovery",
        FaultAction::Oversized {
            status: 413,
            bytes: N,
        },
    ));
    let before = rss_kib();
    let (mut tcp, head, mut first) = open_get(&sim.root_url());
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert_eq!(head_header(&head, "content-length"), Some("314572800"));
    assert!(head_header(&head, "transfer-encoding").is_none(), "{head}");
    let mut total = first.len() as u64;
    let mut tail = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut peak = before;
    while total < N {
        let n = tcp.read(&mut buf).unwrap();
        assert!(n > 0, "closed after {total} of {N} bytes");
        if first.len() < 16 {
            first.extend_from_slice(&buf[..n.min(16)]);
        }
        total += n as u64;
        tail = buf[..n].to_vec();
        if total % (32 << 20) < n as u64 {
            peak = peak.max(rss_kib());
        }
    }
    assert_eq!(total, N);
    assert!(first.starts_with(b"{\"pad\":\"aaaaaaa"));
    assert!(tail.ends_with(b"aaa\"}"));
    let grown_mib = (peak.saturating_sub(before)) / 1024;
    assert!(
        grown_mib < 32,
        "resident memory grew by {grown_mib} MiB while serving 300 MiB"
    );
}

#[test]
fn endless_keeps_sending_chunks_until_the_peer_closes() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    sim.inject_fault(fault("discovery", FaultAction::Endless { status: 200 }));
    let (mut tcp, head, first) = open_get(&sim.root_url());
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(head_header(&head, "transfer-encoding"), Some("chunked"));
    assert_eq!(head_header(&head, "content-type"), Some("application/json"));
    assert!(head_header(&head, "content-length").is_none());
    let before = rss_kib();
    let mut seen = first.len();
    let mut buf = vec![0u8; 1 << 16];
    let mut sample = first.clone();
    while seen < 64 << 20 {
        let n = tcp.read(&mut buf).unwrap();
        assert!(n > 0, "an endless body ended after {seen} bytes");
        if sample.len() < 64 {
            sample.extend_from_slice(&buf[..n.min(64)]);
        }
        seen += n;
    }
    // Chunk framing: the JSON prefix, then 64 KiB chunks of padding.
    let text = String::from_utf8_lossy(&sample);
    assert!(
        text.starts_with("8\r\n{\"pad\":\"\r\n10000\r\naaaa"),
        "{text}"
    );
    assert!(
        rss_kib().saturating_sub(before) / 1024 < 32,
        "memory grew while streaming"
    );
    drop(tcp);
    // The simulator is unharmed: the next request is answered normally.
    assert_eq!(s.get(&s.link("me", "presence")).status, 200);
    let discovery: Vec<u16> = sim
        .log()
        .iter()
        .filter(|e| e.route == "discovery")
        .map(|e| e.status)
        .collect();
    assert_eq!(discovery.last(), Some(&200));
}

#[test]
fn endless_stream_ends_when_the_simulator_stops() {
    let sim = start(fast());
    sim.inject_fault(fault("discovery", FaultAction::Endless { status: 200 }));
    let (mut tcp, _, _) = open_get(&sim.root_url());
    let mut buf = vec![0u8; 1 << 16];
    assert!(tcp.read(&mut buf).unwrap() > 0);
    let started = Instant::now();
    sim.stop();
    assert!(started.elapsed() < Duration::from_secs(5), "stop hung");
    // Whatever was in flight drains, then the stream ends (EOF or reset), never hangs.
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    loop {
        match tcp.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => assert!(
                started.elapsed() < Duration::from_secs(10),
                "still streaming"
            ),
        }
    }
}

#[test]
fn echo_secrets_on_the_token_route_quotes_the_password_decoded_and_as_encoded() {
    let sim = start(fast());
    let http = Http::plain();
    let root = http.get(&sim.root_url(), &[]).json();
    let token_url = challenge_href(&http.get(&href_at(&root, "/_links/user/href"), &[]));
    sim.inject_fault(fault("token", FaultAction::EchoSecrets { status: 400 }));
    let password = "p@ss w&rd=é";
    let r = password_token(&http, &token_url, ALICE, password);
    assert_eq!(r.status, 400);
    assert_eq!(r.content_type(), "application/json");
    let v = r.json();
    assert_eq!(v["code"], "BadRequest");
    assert_eq!(v["subcode"], "EchoedSecrets");
    assert_eq!(v["error"], "invalid_request");
    let message = v["message"].as_str().unwrap();
    assert_eq!(v["error_description"], message);
    let encoded = "p%40ss+w%26rd%3D%C3%A9";
    assert!(message.contains(password), "{message}");
    assert!(message.contains(encoded), "{message}");
    let diag = r.header("x-ms-diagnostics").expect("diagnostics header");
    assert!(diag.contains(encoded), "{diag}");
    // Header-safe, not scrubbed: the decoded password travels as UTF-8 (obs-text) bytes.
    assert!(diag.contains(password), "{diag}");
    let log: Vec<(String, u16)> = sim
        .log()
        .iter()
        .map(|e| (e.route.clone(), e.status))
        .collect();
    assert!(log.contains(&("token".to_owned(), 400)), "{log:?}");
}

#[test]
fn echo_secrets_quotes_the_whole_authorization_value_and_the_bare_token_in_body_and_header() {
    let sim = start(fast());
    let s = Session::available(&sim, ALICE, ALICE_PW);
    let token = s.auth.strip_prefix("Bearer ").unwrap().to_owned();
    sim.inject_fault(fault("presence", FaultAction::EchoSecrets { status: 500 }));
    let r = s.get(&s.link("me", "presence"));
    assert_eq!(r.status, 500);
    let message = r.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains(&s.auth), "{message}");
    assert!(message.contains(&format!("token \"{token}\"")), "{message}");
    let diag = r.header("x-ms-diagnostics").unwrap();
    assert!(diag.contains(&s.auth) && diag.contains(&token), "{diag}");
    // Without credentials there is nothing to echo.
    sim.inject_fault(fault("discovery", FaultAction::EchoSecrets { status: 400 }));
    let r = Http::plain().get(&sim.root_url(), &[]);
    assert_eq!(r.status, 400);
    assert!(!r.json()["message"].as_str().unwrap().contains("cwt="));
}

#[test]
fn reflect_makes_the_foreign_origin_challenge_with_pool1s_token_href_and_logs_leaked_tokens() {
    let sim = start(SimConfig {
        foreign_challenge: ForeignChallenge::Reflect,
        ..fast()
    });
    let Some(foreign) = sim.foreign_url() else {
        eprintln!("127.0.0.2 cannot be bound here; nothing to test");
        return;
    };
    let http = Http::plain();
    let info = http
        .get(&format!("{}_sim/info", sim.root_url()), &[])
        .json();
    assert_eq!(info["foreign_url"], foreign.as_str());
    let root = http.get(&sim.root_url(), &[]).json();
    let pool1_challenge = http.get(&href_at(&root, "/_links/user/href"), &[]);
    let pool1_href = challenge_href(&pool1_challenge);
    assert!(pool1_href.starts_with(&sim.root_url()), "{pool1_href}");

    let target = format!("{foreign}ucwa/oauth/v1/applications/123/events?ack=1");
    let r = http.get(&target, &[]);
    assert_eq!(challenge_href(&r), pool1_href, "the real pool's token href");
    assert_eq!(
        r.headers_named("www-authenticate"),
        pool1_challenge.headers_named("www-authenticate")
    );
    // A client that falls for it: fetches a token from pool 1 and sends it here.
    let t = password_token(&http, &pool1_href, ALICE, ALICE_PW).json();
    let auth = format!("Bearer {}", t["access_token"].as_str().unwrap());
    let leaked = http.get(&target, &[("Authorization", &auth)]);
    assert_eq!(leaked.status, 200);
    assert_eq!(leaked.json(), json!({}));
    let foreign_log: Vec<(bool, Option<String>, u16)> = sim
        .log()
        .iter()
        .filter(|e| e.pool == "foreign")
        .map(|e| (e.authorization, e.user.clone(), e.status))
        .collect();
    assert_eq!(
        foreign_log,
        [(false, None, 401), (true, Some(ALICE.to_owned()), 200)]
    );
}

#[test]
fn minted_token_is_valid_on_pool1_for_its_lifetime_only() {
    let sim = start(fast());
    let http = Http::plain();
    let control = format!("{}_sim/tokens", sim.root_url());
    let r = http
        .send(
            "POST",
            &control,
            &[("Content-Type", "application/json")],
            json!({"user": ALICE, "lifetime_s": 1})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 1);
    assert_eq!(
        v["resource"].as_str().unwrap(),
        sim.root_url().trim_end_matches('/')
    );
    let auth = format!("Bearer {}", v["access_token"].as_str().unwrap());
    let root = http.get(&sim.root_url(), &[]).json();
    let user_url = href_at(&root, "/_links/user/href");
    let me = http.get(&user_url, &[("Authorization", &auth)]);
    assert_eq!(me.status, 200, "{}", me.text());
    let apps = href_at(&me.json(), "/_links/applications/href");
    let created = http
        .send(
            "POST",
            &apps,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            br#"{"userAgent":"minted","endpointId":"e1","culture":"en-US"}"#,
        )
        .unwrap();
    assert_eq!(created.status, 201, "{}", created.text());
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(http.get(&user_url, &[("Authorization", &auth)]).status, 401);
    let users: Vec<Option<String>> = sim
        .log()
        .iter()
        .filter(|e| e.route == "applications")
        .map(|e| e.user.clone())
        .collect();
    assert_eq!(users, [Some(ALICE.to_owned())]);
}

#[test]
fn minting_refuses_unknown_users_and_bad_lifetimes_and_pool2_refuses_minted_tokens() {
    let sim = start(SimConfig {
        pool2_apps_users: vec![BOB.into()],
        ..fast()
    });
    let http = Http::plain();
    let control = format!("{}_sim/tokens", sim.root_url());
    let post = |body: Value| {
        http.send(
            "POST",
            &control,
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
        .unwrap()
    };
    let r = post(json!({"user": "carol@contoso.com", "lifetime_s": 60}));
    assert_eq!(r.status, 404);
    assert!(r.json()["error"].is_string());
    assert_eq!(post(json!({"user": ALICE, "lifetime_s": -1})).status, 400);
    assert_eq!(post(json!({"user": ALICE})).status, 400);
    assert!(sim.mint_token("carol@contoso.com", 60.0).is_none());

    let t = sim.mint_token(BOB, 1e-9).expect("bob exists");
    assert_eq!(t.expires_in, 1e-9);
    let t = sim.mint_token(BOB, 600.0).expect("bob exists");
    assert_eq!(t.token_type, "Bearer");
    let auth = format!("Bearer {}", t.access_token);
    let root = http.get(&sim.root_url(), &[]).json();
    let user_url = href_at(&root, "/_links/user/href");
    let apps = href_at(
        &http.get(&user_url, &[("Authorization", &auth)]).json(),
        "/_links/applications/href",
    );
    assert!(apps.starts_with(&sim.pool2_url()), "{apps}");
    let r = http
        .send(
            "POST",
            &apps,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            b"{}",
        )
        .unwrap();
    assert_eq!(r.status, 500, "a pool-1 token is not valid on pool 2");
    assert!(r.header("x-ms-diagnostics").unwrap().starts_with("28032;"));
}

#[test]
fn control_api_takes_the_hostile_faults_in_their_json_shapes() {
    let sim = start(fast());
    let http = Http::plain();
    let faults = format!("{}_sim/faults", sim.root_url());
    for action in [
        json!({"Oversized": {"status": 200, "bytes": 300 << 20}}),
        json!({"Endless": {"status": 200}}),
        json!({"EchoSecrets": {"status": 400}}),
    ] {
        let body = json!({"route": "token", "count": 1, "action": action});
        let r = http
            .send(
                "POST",
                &faults,
                &[("Content-Type", "application/json")],
                body.to_string().as_bytes(),
            )
            .unwrap();
        assert_eq!(r.status, 204, "{}", r.text());
    }
    let listed = http.get(&faults, &[]).json();
    let kinds: Vec<Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["action"].clone())
        .collect();
    assert_eq!(
        kinds,
        [
            json!({"Oversized": {"status": 200, "bytes": 314572800u64}}),
            json!({"Endless": {"status": 200}}),
            json!({"EchoSecrets": {"status": 400}}),
        ]
    );
}
