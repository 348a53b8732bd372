//! The Windows grant (`grant_type=urn:microsoft.rtc:windows`) at the token endpoint, end to
//! end: a test-only NTLMv2 client (written here, independent of the simulator's own NTLM code)
//! runs the three legs over one kept-alive TCP connection with `NTLM` and with `Negotiate`
//! (SPNEGO-wrapped and raw), and every way the handshake can fail gets IIS's 401 with the offer
//! again: a third leg on another connection, a wrong password or domain, NTLMv1, anonymous,
//! garbage. The token log shows what the simulator saw.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use md4::{Digest, Md4};
use md5::Md5;
use serde_json::Value;
use support::*;
use ucwa_sim::{Sim, SimConfig, TokenLogEntry, WindowsAuth};

const GRANT_BODY: &[u8] = b"grant_type=urn:microsoft.rtc:windows";

// ----- one kept-alive HTTP/1.1 connection -------------------------------------------------

struct Conn {
    tcp: TcpStream,
    host: String,
}

impl Conn {
    fn open(sim: &Sim) -> Conn {
        let tcp = TcpStream::connect(sim.addr()).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Conn {
            tcp,
            host: sim.addr().to_string(),
        }
    }

    /// POSTs the Windows grant, with `Authorization` when given, and reads one answer (the
    /// connection stays open).
    fn grant(&mut self, authorization: Option<&str>) -> Response {
        let mut req = format!(
            "POST /WebTicket/oauthtoken HTTP/1.1\r\nHost: {}\r\nContent-Type: {FORM}\r\n\
             Accept: application/json\r\nContent-Length: {}\r\n",
            self.host,
            GRANT_BODY.len()
        );
        if let Some(a) = authorization {
            req.push_str(&format!("Authorization: {a}\r\n"));
        }
        req.push_str("\r\n");
        self.tcp.write_all(req.as_bytes()).unwrap();
        self.tcp.write_all(GRANT_BODY).unwrap();
        self.read_answer()
    }

    fn read_answer(&mut self) -> Response {
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                if raw.len() >= end + 4 + len {
                    raw.truncate(end + 4 + len);
                    return parse_response(&raw).unwrap();
                }
            }
            let n = self
                .tcp
                .read(&mut buf)
                .expect("an answer, connection kept open");
            assert!(n > 0, "the simulator closed the connection");
            raw.extend_from_slice(&buf[..n]);
        }
    }
}

fn offers(r: &Response) -> Vec<String> {
    r.headers_named("www-authenticate")
        .iter()
        .map(|s| s.to_string())
        .collect()
}

// ----- a test-only NTLMv2 client ----------------------------------------------------------

const UNICODE: u32 = 0x1;
const REQUEST_TARGET: u32 = 0x4;
const NTLM: u32 = 0x200;
const ALWAYS_SIGN: u32 = 0x8000;
const ESS: u32 = 0x8_0000;
const TARGET_INFO: u32 = 0x80_0000;
const VERSION: u32 = 0x200_0000;
const N128: u32 = 0x2000_0000;
const N56: u32 = 0x8000_0000;
const CLIENT_FLAGS: u32 =
    UNICODE | REQUEST_TARGET | NTLM | ALWAYS_SIGN | ESS | VERSION | N128 | N56;

fn u16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn le16(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn type1() -> Vec<u8> {
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend(1u32.to_le_bytes());
    m.extend(CLIENT_FLAGS.to_le_bytes());
    m.extend([0; 16]); // empty domain and workstation fields
    m.extend([10, 0, 0x61, 0x4a, 0, 0, 0, 15]);
    m
}

/// What a client takes from a CHALLENGE_MESSAGE.
struct Challenge {
    flags: u32,
    server_challenge: [u8; 8],
    target_name: String,
    target_info: Vec<u8>,
}

fn read_type2(m: &[u8]) -> Challenge {
    assert_eq!(&m[..8], b"NTLMSSP\0");
    assert_eq!(le32(m, 8), 2);
    let field = |at: usize| {
        let (len, off) = (le16(m, at), le32(m, at + 4) as usize);
        m[off..off + len].to_vec()
    };
    let name: Vec<u16> = field(12)
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    Challenge {
        flags: le32(m, 20),
        server_challenge: m[24..32].try_into().unwrap(),
        target_name: String::from_utf16(&name).unwrap(),
        target_info: field(40),
    }
}

/// The AV pairs of a TargetInfo, as (id, value).
fn av_pairs(mut info: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    while info.len() >= 4 {
        let id = le16(info, 0) as u16;
        let len = le16(info, 2);
        out.push((id, info[4..4 + len].to_vec()));
        info = &info[4 + len..];
        if id == 0 {
            break;
        }
    }
    out
}

fn hmac_md5(key: &[u8], data: &[&[u8]]) -> [u8; 16] {
    let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(key).unwrap();
    for d in data {
        mac.update(d);
    }
    mac.finalize().into_bytes().into()
}

/// An AUTHENTICATE_MESSAGE with an NTLMv2 response for `password`, or with a given NT
/// response (`nt_override`) for the refusal tests.
fn type3(c: &Challenge, domain: &str, user: &str, password: &str) -> Vec<u8> {
    let key = hmac_md5(
        &Md4::digest(u16le(password)),
        &[&u16le(&format!("{}{domain}", user.to_uppercase()))],
    );
    let timestamp = av_pairs(&c.target_info)
        .into_iter()
        .find(|(id, _)| *id == 7)
        .map(|(_, v)| v)
        .unwrap_or(vec![0; 8]);
    let mut blob = vec![1, 1, 0, 0, 0, 0, 0, 0];
    blob.extend(&timestamp);
    blob.extend([0x5a; 8]);
    blob.extend([0; 4]);
    blob.extend(&c.target_info);
    blob.extend([0; 4]);
    let mut nt = hmac_md5(&key, &[&c.server_challenge, &blob]).to_vec();
    nt.extend(blob);
    type3_with(domain, user, &nt, c.flags)
}

fn type3_with(domain: &str, user: &str, nt: &[u8], flags: u32) -> Vec<u8> {
    let fields = [
        vec![0u8; 24],
        nt.to_vec(),
        u16le(domain),
        u16le(user),
        u16le("WORKSTATION"),
        Vec::new(),
    ];
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend(3u32.to_le_bytes());
    let mut at = 64 + 8 + 16; // header, version, MIC
    for f in &fields {
        m.extend((f.len() as u16).to_le_bytes());
        m.extend((f.len() as u16).to_le_bytes());
        m.extend((at as u32).to_le_bytes());
        at += f.len();
    }
    m.extend(flags.to_le_bytes());
    m.extend([10, 0, 0x61, 0x4a, 0, 0, 0, 15]);
    m.extend([0; 16]);
    for f in &fields {
        m.extend(f);
    }
    m
}

// ----- test-side SPNEGO -------------------------------------------------------------------

const SPNEGO_OID: &[u8] = &[0x2b, 6, 1, 5, 5, 2];
const NTLMSSP_OID: &[u8] = &[0x2b, 6, 1, 4, 1, 0x82, 0x37, 2, 2, 10];

fn der(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match value.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n < 0x100 => out.extend([0x81, n as u8]),
        n => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend(value);
    out
}

/// One TLV: (tag, value, rest).
fn tlv(b: &[u8]) -> (u8, &[u8], &[u8]) {
    let (len, start) = match b[1] {
        n if n < 0x80 => (usize::from(n), 2),
        0x81 => (usize::from(b[2]), 3),
        0x82 => ((usize::from(b[2]) << 8) | usize::from(b[3]), 4),
        other => panic!("length form {other:#x}"),
    };
    (b[0], &b[start..start + len], &b[start + len..])
}

fn neg_token_init(ntlm: &[u8]) -> Vec<u8> {
    let mut fields = der(0xa0, &der(0x30, &der(0x06, NTLMSSP_OID)));
    fields.extend(der(0xa2, &der(0x04, ntlm)));
    let mut inner = der(0x06, SPNEGO_OID);
    inner.extend(der(0xa0, &der(0x30, &fields)));
    der(0x60, &inner)
}

fn neg_token_resp(ntlm: &[u8]) -> Vec<u8> {
    let mut fields = der(0xa2, &der(0x04, ntlm));
    fields.extend(der(0xa3, &der(0x04, &[0x11; 16]))); // a MIC, left unchecked
    der(0xa1, &der(0x30, &fields))
}

/// The fields of a server NegTokenResp: (negState, supportedMech, responseToken).
fn read_neg_token_resp(b: &[u8]) -> (u8, Option<Vec<u8>>, Option<Vec<u8>>) {
    let (tag, seq, rest) = tlv(b);
    assert_eq!((tag, rest.len()), (0xa1, 0));
    let (tag, mut fields, _) = tlv(seq);
    assert_eq!(tag, 0x30);
    let (mut state, mut mech, mut token) = (255, None, None);
    while !fields.is_empty() {
        let (tag, value, rest) = tlv(fields);
        let (_, inner, _) = tlv(value);
        match tag {
            0xa0 => state = inner[0],
            0xa1 => mech = Some(inner.to_vec()),
            0xa2 => token = Some(inner.to_vec()),
            _ => {}
        }
        fields = rest;
    }
    (state, mech, token)
}

fn b64(b: &[u8]) -> String {
    STANDARD.encode(b)
}

fn token_of(line: &str, scheme: &str) -> Vec<u8> {
    let t = line
        .strip_prefix(scheme)
        .and_then(|t| t.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{line:?} is not a {scheme} token"));
    STANDARD.decode(t).unwrap()
}

// ----- helpers ----------------------------------------------------------------------------

/// Legs 1 and 2 over NTLM on `conn`: the server's challenge.
fn ntlm_negotiate(conn: &mut Conn) -> Challenge {
    let r = conn.grant(Some(&format!("NTLM {}", b64(&type1()))));
    assert_eq!(r.status, 401, "{}", r.text());
    let lines = offers(&r);
    assert_eq!(lines.len(), 1, "{lines:?}");
    read_type2(&token_of(&lines[0], "NTLM"))
}

fn ntlm_sign_in(sim: &Sim, domain: &str, user: &str, password: &str) -> Response {
    let mut conn = Conn::open(sim);
    let c = ntlm_negotiate(&mut conn);
    conn.grant(Some(&format!(
        "NTLM {}",
        b64(&type3(&c, domain, user, password))
    )))
}

fn assert_token_json(r: &Response) -> Value {
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let v = r.json();
    assert!(
        v["access_token"].as_str().unwrap().starts_with("cwt=AAEB"),
        "{v}"
    );
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["ms_rtc_identityscope"], "local");
    v
}

/// The answer a failed leg gets: IIS's 401 page offering both schemes again.
fn assert_offer(r: &Response) {
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(offers(r), ["Negotiate", "NTLM"]);
    assert!(r.content_type().starts_with("text/html"), "{:?}", r.headers);
    assert!(r.text().contains("401 - Unauthorized"));
}

fn last_token_entry(sim: &Sim) -> TokenLogEntry {
    sim.token_log().pop().expect("a token log entry")
}

/// The bearer token works on the pool: the user resource answers 200.
fn assert_token_works(sim: &Sim, token: &str) {
    let http = Http::plain();
    let root = http.get(&sim.root_url(), &[]).json();
    let user = href_at(&root, "/_links/user/href");
    let r = http.get(&user, &[("Authorization", &format!("Bearer {token}"))]);
    assert_eq!(r.status, 200, "{}", r.text());
}

// ----- the handshake as served ------------------------------------------------------------

#[test]
fn ntlm_over_one_connection_gets_the_password_grants_token() {
    let sim = start(fast());
    let mut conn = Conn::open(&sim);
    let r = conn.grant(None);
    assert_offer(&r);

    let c = ntlm_negotiate(&mut conn);
    assert_eq!(c.target_name, "CONTOSO");
    for flag in [
        UNICODE,
        NTLM,
        ESS,
        TARGET_INFO,
        REQUEST_TARGET,
        ALWAYS_SIGN,
        N128,
        N56,
        VERSION,
    ] {
        assert_ne!(c.flags & flag, 0, "flag {flag:#x} in {:#x}", c.flags);
    }
    let pairs = av_pairs(&c.target_info);
    let ids: Vec<u16> = pairs.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [2, 1, 4, 3, 7, 0]);
    assert_eq!(pairs[0].1, u16le("CONTOSO"));
    assert_eq!(pairs[1].1, u16le("LYNC-SE1"));
    assert_eq!(pairs[2].1, u16le("contoso.com"));
    assert_eq!(pairs[3].1, u16le("lync-se1.contoso.com"));
    let filetime = u64::from_le_bytes(pairs[4].1[..].try_into().unwrap());
    assert!(
        filetime > 133_000_000_000_000_000,
        "FILETIME now: {filetime}"
    );

    let r = conn.grant(Some(&format!(
        "NTLM {}",
        b64(&type3(&c, "CONTOSO", "alice", ALICE_PW))
    )));
    let v = assert_token_json(&r);
    assert_eq!(v["expires_in"], 28800);
    assert!(offers(&r).is_empty(), "NTLM has no final token");
    assert_token_works(&sim, v["access_token"].as_str().unwrap());

    let log = sim.token_log();
    assert_eq!(log.len(), 3, "{log:?}");
    let legs: Vec<_> = log.iter().map(|e| e.leg.as_deref()).collect();
    assert_eq!(
        legs,
        [Some("challenge"), Some("negotiate"), Some("authenticate")]
    );
    assert!(log.iter().all(|e| e.conn == log[0].conn), "one connection");
    assert_eq!(log[0].scheme, None);
    assert!(log[1..].iter().all(|e| e.scheme.as_deref() == Some("NTLM")));
    assert_eq!(log[0].outcome, "offered Negotiate, NTLM");
    assert_eq!(log[1].outcome, "challenge sent");
    assert_eq!(log[2].outcome, "granted alice@contoso.com");
    assert_eq!(log[2].status, 200);
    assert_eq!(log[2].ntlm_user.as_deref(), Some("alice"));
    assert_eq!(log[2].ntlm_domain.as_deref(), Some("CONTOSO"));
    assert!(log
        .iter()
        .all(|e| e.grant.as_deref() == Some("urn:microsoft.rtc:windows") && !e.spnego));
    // The request log holds the same requests under the same seq; the user as sent.
    let requests = sim.log();
    let third = requests.iter().find(|e| e.seq == log[2].seq).unwrap();
    assert_eq!((third.route.as_str(), third.status), ("token", 200));
    assert_eq!(third.user.as_deref(), Some("CONTOSO\\alice"));
    // No secret reaches either log.
    let text = format!("{log:?}{requests:?}");
    assert!(!text.contains(ALICE_PW) && !text.contains("cwt="), "{text}");
}

#[test]
fn negotiate_with_spnego_gets_a_token_and_accept_completed() {
    let sim = start(fast());
    let mut conn = Conn::open(&sim);
    let r = conn.grant(Some(&format!(
        "Negotiate {}",
        b64(&neg_token_init(&type1()))
    )));
    assert_eq!(r.status, 401, "{}", r.text());
    let lines = offers(&r);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let (state, mech, token) = read_neg_token_resp(&token_of(&lines[0], "Negotiate"));
    assert_eq!(state, 1, "accept-incomplete");
    assert_eq!(mech.as_deref(), Some(NTLMSSP_OID));
    let c = read_type2(&token.expect("the CHALLENGE_MESSAGE"));

    let t3 = type3(&c, "CONTOSO", "Bob", BOB_PW);
    let r = conn.grant(Some(&format!("Negotiate {}", b64(&neg_token_resp(&t3)))));
    let v = assert_token_json(&r);
    assert_token_works(&sim, v["access_token"].as_str().unwrap());
    let lines = offers(&r);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let (state, mech, token) = read_neg_token_resp(&token_of(&lines[0], "Negotiate"));
    assert_eq!((state, mech, token), (0, None, None), "accept-completed");

    let e = last_token_entry(&sim);
    assert_eq!(e.scheme.as_deref(), Some("Negotiate"));
    assert!(e.spnego);
    assert_eq!(e.outcome, "granted bob@contoso.com");
}

#[test]
fn raw_ntlm_under_negotiate_is_accepted_and_answered_raw() {
    let sim = start(fast());
    let mut conn = Conn::open(&sim);
    let r = conn.grant(Some(&format!("Negotiate {}", b64(&type1()))));
    let c = read_type2(&token_of(&offers(&r)[0], "Negotiate"));
    let t3 = type3(&c, "CONTOSO", "alice", ALICE_PW);
    let r = conn.grant(Some(&format!("Negotiate {}", b64(&t3))));
    assert_token_json(&r);
    assert!(offers(&r).is_empty(), "raw NTLM has no final token");
    let e = last_token_entry(&sim);
    assert_eq!((e.scheme.as_deref(), e.spnego), (Some("Negotiate"), false));
}

#[test]
fn a_upn_with_an_empty_domain_and_the_dns_domain_are_accepted() {
    let sim = start(fast());
    assert_token_json(&ntlm_sign_in(&sim, "", "Alice@Contoso.com", ALICE_PW));
    assert_token_json(&ntlm_sign_in(&sim, "contoso.com", "alice", ALICE_PW));
    assert_token_json(&ntlm_sign_in(&sim, "contoso", "ALICE", ALICE_PW));
}

#[test]
fn the_windows_grant_mints_as_the_password_grant_does() {
    let sim = start(SimConfig {
        token_lifetime_s: 1000.0,
        ..fast()
    });
    let v = assert_token_json(&ntlm_sign_in(&sim, "CONTOSO", "alice", ALICE_PW));
    assert_eq!(v["expires_in"], 1000);
    // The same cached ticket: a later password grant reports its remaining lifetime.
    let url = format!("{}WebTicket/oauthtoken", sim.root_url());
    let p = password_token(&Http::plain(), &url, ALICE, ALICE_PW).json();
    assert!(p["expires_in"].as_u64().unwrap() <= 1000, "{p}");
    assert_eq!(last_token_entry(&sim).outcome, "granted alice@contoso.com");
}

// ----- refusals ---------------------------------------------------------------------------

#[test]
fn the_third_leg_on_another_connection_is_refused_as_split() {
    let sim = start(fast());
    let mut first = Conn::open(&sim);
    let c = ntlm_negotiate(&mut first);
    let mut second = Conn::open(&sim);
    let r = second.grant(Some(&format!(
        "NTLM {}",
        b64(&type3(&c, "CONTOSO", "alice", ALICE_PW))
    )));
    assert_offer(&r);
    let log = sim.token_log();
    let e = log.last().unwrap();
    assert_eq!(e.outcome, "refused: split connection");
    assert_eq!(e.leg.as_deref(), Some("authenticate"));
    assert_ne!(e.conn, log[0].conn);

    // Nor does it work after the first connection closed.
    drop(first);
    std::thread::sleep(Duration::from_millis(100));
    let r = Conn::open(&sim).grant(Some(&format!(
        "NTLM {}",
        b64(&type3(&c, "CONTOSO", "alice", ALICE_PW))
    )));
    assert_offer(&r);
    assert_eq!(last_token_entry(&sim).outcome, "refused: split connection");
}

#[test]
fn a_wrong_password_an_unknown_user_and_a_wrong_domain_get_the_offer_again() {
    let sim = start(fast());
    for (domain, user, pw, why) in [
        ("CONTOSO", "alice", "wrong", "refused: bad password"),
        ("CONTOSO", "alice", BOB_PW, "refused: bad password"),
        ("CONTOSO", "carol", ALICE_PW, "refused: unknown user"),
        ("", "alice", ALICE_PW, "refused: unknown user"),
        ("FABRIKAM", "alice", ALICE_PW, "refused: wrong domain"),
        ("fabrikam.com", "alice", ALICE_PW, "refused: wrong domain"),
    ] {
        let r = ntlm_sign_in(&sim, domain, user, pw);
        assert_offer(&r);
        let e = last_token_entry(&sim);
        assert_eq!(
            (e.outcome.as_str(), e.status),
            (why, 401),
            "{domain}\\{user}"
        );
    }
    // The handshake is over: the same third leg again is refused too.
    let mut conn = Conn::open(&sim);
    let c = ntlm_negotiate(&mut conn);
    let t3 = format!("NTLM {}", b64(&type3(&c, "CONTOSO", "alice", ALICE_PW)));
    assert_token_json(&conn.grant(Some(&t3)));
    assert_offer(&conn.grant(Some(&t3)));
    assert_eq!(last_token_entry(&sim).outcome, "refused: split connection");
}

#[test]
fn ntlmv1_lm_only_and_anonymous_responses_are_refused() {
    let sim = start(fast());
    for (user, nt, why) in [
        ("alice", vec![0x33; 24], "refused: ntlmv1"),
        ("alice", Vec::new(), "refused: lm only"),
        ("", Vec::new(), "refused: anonymous"),
    ] {
        let mut conn = Conn::open(&sim);
        let c = ntlm_negotiate(&mut conn);
        let t3 = type3_with("CONTOSO", user, &nt, c.flags);
        assert_offer(&conn.grant(Some(&format!("NTLM {}", b64(&t3)))));
        assert_eq!(last_token_entry(&sim).outcome, why);
    }
}

#[test]
fn windows_auth_ntlm_offers_only_ntlm_and_refuses_negotiate() {
    let sim = start(SimConfig {
        windows_auth: vec![WindowsAuth::Ntlm],
        ..fast()
    });
    let mut conn = Conn::open(&sim);
    assert_eq!(offers(&conn.grant(None)), ["NTLM"]);
    let r = conn.grant(Some(&format!(
        "Negotiate {}",
        b64(&neg_token_init(&type1()))
    )));
    assert_eq!((r.status, offers(&r)), (401, vec!["NTLM".to_owned()]));
    assert_eq!(
        last_token_entry(&sim).outcome,
        "refused: scheme not offered"
    );
    assert_token_json(&ntlm_sign_in(&sim, "CONTOSO", "alice", ALICE_PW));

    let sim = start(SimConfig {
        windows_auth: vec![WindowsAuth::Ntlm, WindowsAuth::Negotiate],
        fold_challenges: true,
        ..fast()
    });
    assert_eq!(offers(&Conn::open(&sim).grant(None)), ["NTLM, Negotiate"]);
    assert_eq!(last_token_entry(&sim).outcome, "offered NTLM, Negotiate");
}

#[test]
fn without_the_windows_grant_in_grants_it_is_unsupported() {
    let sim = start(SimConfig {
        grants: vec!["password".into()],
        ..fast()
    });
    let r = Conn::open(&sim).grant(Some(&format!("NTLM {}", b64(&type1()))));
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"], "unsupported_grant_type");
    assert!(r.header("x-ms-diagnostics").unwrap().starts_with("28029;"));
    let e = last_token_entry(&sim);
    assert_eq!(e.outcome, "refused: unsupported_grant_type");
    assert_eq!((e.leg, e.scheme), (None, None));
}

#[test]
fn garbage_authorization_values_get_the_offer_never_a_server_error() {
    let sim = start(fast());
    let mut truncated = type3_with("CONTOSO", "alice", &[1; 60], UNICODE);
    truncated.truncate(70);
    let mut bad_offsets = type3_with("CONTOSO", "alice", &[1; 60], UNICODE);
    bad_offsets[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut wrong_oid = neg_token_init(&type1());
    wrong_oid[4] ^= 0xff;
    let values: Vec<(String, &str)> = vec![
        ("NTLM".into(), "refused: malformed"),
        ("NTLM !!!!".into(), "refused: malformed"),
        ("NTLM AAAA".into(), "refused: malformed"),
        (format!("NTLM {}", b64(b"NTLMSSP\0")), "refused: malformed"),
        (
            format!("NTLM {}", b64(b"NTLMSSP\0\x01\0\0\0")),
            "refused: malformed",
        ),
        (
            format!("NTLM {}", b64(b"NTLMSSP\0\x02\0\0\0\0\0\0\0")),
            "refused: unexpected message",
        ),
        (format!("NTLM {}", b64(&truncated)), "refused: malformed"),
        (format!("NTLM {}", b64(&bad_offsets)), "refused: malformed"),
        (
            format!("Negotiate {}", b64(&[0x60, 0x80, 0, 0])),
            "refused: malformed",
        ),
        (
            format!("Negotiate {}", b64(&wrong_oid)),
            "refused: malformed",
        ),
        (
            format!("Negotiate {}", b64(&[0xa1, 0x84, 0xff, 0xff, 0xff, 0xff])),
            "refused: malformed",
        ),
        (
            format!("Negotiate {}", b64(&neg_token_resp(b"not ntlm"))),
            "refused: malformed",
        ),
        ("Negotiate YIIB".into(), "refused: malformed"),
        ("Basic YWxpY2U6cHc=".into(), "refused: scheme not offered"),
        (
            format!("Bearer cwt=AAEB{}", "x".repeat(40)),
            "refused: scheme not offered",
        ),
        (format!("NTLM {}", "A".repeat(60_000)), "refused: malformed"),
    ];
    let mut conn = Conn::open(&sim);
    for (value, why) in &values {
        let r = conn.grant(Some(value));
        assert_offer(&r);
        assert_eq!(&last_token_entry(&sim).outcome, why, "{value:.60}");
    }
    // Still serving, on the same connection and on new ones.
    let c = ntlm_negotiate(&mut conn);
    let r = conn.grant(Some(&format!(
        "NTLM {}",
        b64(&type3(&c, "CONTOSO", "alice", ALICE_PW))
    )));
    assert_token_json(&r);
    assert!(sim.log().iter().all(|e| e.status != 500 && e.status != 0));
}

#[test]
fn the_token_log_is_in_the_control_api_and_cleared_with_the_log() {
    let sim = start(fast());
    assert_token_json(&ntlm_sign_in(&sim, "CONTOSO", "alice", ALICE_PW));
    let url = format!("{}_sim/token-log", sim.root_url());
    let r = Http::plain().get(&url, &[]);
    assert_eq!(r.status, 200);
    let entries: Vec<TokenLogEntry> = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(entries, sim.token_log());
    let v = r.json();
    let last = &v[1];
    for field in [
        "seq",
        "pool",
        "conn",
        "grant",
        "scheme",
        "spnego",
        "leg",
        "ntlm_user",
        "ntlm_domain",
        "outcome",
        "status",
    ] {
        assert!(last.get(field).is_some(), "{field} in {last}");
    }
    assert_eq!(last["scheme"], "NTLM");
    assert_eq!(last["pool"], "pool1");
    let del = Http::plain()
        .send("DELETE", &format!("{}_sim/log", sim.root_url()), &[], b"")
        .unwrap();
    assert_eq!(del.status, 204);
    assert!(sim.token_log().is_empty() && sim.log().is_empty());
}
