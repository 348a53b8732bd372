//! The Windows grant (`urn:microsoft.rtc:windows`) against the simulator's token endpoint, which
//! verifies NTLMv2 server-side and binds the handshake to its TCP connection as IIS does: NTLM
//! and Negotiate, every user-name form, `auto` falling back to it, refused credentials, a SPNEGO
//! reject, renewal, a proxy's CONNECT tunnel, and the current user (Windows only). Each test
//! reads the simulator's token log (which legs came, on which connection, and what it decided)
//! or, where a fault answered, its request log.

mod common;

use base64::Engine as _;
use common::*;
use ucwa::{Availability, Status};
use ucwa_sim::{FaultAction, SimConfig, TokenLogEntry, WindowsAuth};

const WINDOWS: &str = "urn:microsoft.rtc:windows";

fn windows_only(schemes: &[WindowsAuth]) -> SimConfig {
    SimConfig {
        grants: vec![WINDOWS.into()],
        windows_auth: schemes.to_vec(),
        ..fast_config()
    }
}

/// Asserts one whole handshake: the anonymous request, the NEGOTIATE and the AUTHENTICATE legs,
/// all on one connection, ending with `outcome`.
fn assert_one_handshake(entries: &[TokenLogEntry], scheme: &str, outcome: &str) {
    let windows: Vec<&TokenLogEntry> = entries
        .iter()
        .filter(|e| e.grant.as_deref() == Some(WINDOWS))
        .collect();
    let seen: Vec<(Option<&str>, Option<&str>)> = windows
        .iter()
        .map(|e| (e.leg.as_deref(), e.scheme.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            (Some("challenge"), None),
            (Some("negotiate"), Some(scheme)),
            (Some("authenticate"), Some(scheme)),
        ],
        "{windows:?}"
    );
    assert!(
        windows.iter().all(|e| e.conn == windows[0].conn),
        "every leg on one connection: {windows:?}"
    );
    assert_eq!(windows[2].outcome, outcome, "{windows:?}");
}

#[test]
fn a_windows_only_pool_signs_in_with_ntlm_on_one_connection_and_never_gets_the_password() {
    let sim = start(windows_only(&[WindowsAuth::Ntlm]));
    let c = client(&sim);
    c.sign_in(ALICE, ALICE_PW)
        .expect("sign in with the Windows grant");
    let log = sim.token_log();
    assert_one_handshake(&log, "NTLM", "granted alice@contoso.com");
    assert!(
        log.iter().all(|e| e.grant.as_deref() == Some(WINDOWS)),
        "no password grant was tried: {log:?}"
    );
    // A UPN travels as the user with an empty domain, as Windows sends it.
    let authenticate = &log[2];
    assert_eq!(authenticate.ntlm_user.as_deref(), Some(ALICE));
    assert_eq!(authenticate.ntlm_domain.as_deref(), Some(""));
    // The web ticket works on the pool.
    c.make_me_available(Availability::Online).unwrap();
    c.set_availability(Availability::Busy).unwrap();
    assert_eq!(c.presence().unwrap().availability, Availability::Busy);
    let requests = sim.log();
    let applications = on_route(&requests, "applications");
    assert!(applications
        .iter()
        .any(|e| e.status == 201 && e.authorization));
}

#[test]
fn negotiate_is_preferred_when_offered_and_wraps_ntlm_in_spnego() {
    let sim = start(windows_only(&[WindowsAuth::Ntlm, WindowsAuth::Negotiate]));
    let c = client(&sim);
    c.sign_in(ALICE, ALICE_PW).expect("sign in with Negotiate");
    let log = sim.token_log();
    assert_one_handshake(&log, "Negotiate", "granted alice@contoso.com");
    assert!(log[1].spnego && log[2].spnego, "SPNEGO tokens: {log:?}");
}

#[test]
fn a_domain_backslash_user_name_signs_in_as_that_domain_and_user() {
    for fold_challenges in [false, true] {
        let sim = start(SimConfig {
            fold_challenges,
            ..windows_only(&[WindowsAuth::Negotiate, WindowsAuth::Ntlm])
        });
        let c = client(&sim);
        c.sign_in(r"CONTOSO\alice", ALICE_PW)
            .expect("sign in as CONTOSO\\alice");
        let log = sim.token_log();
        assert_one_handshake(&log, "Negotiate", "granted alice@contoso.com");
        assert_eq!(log[2].ntlm_user.as_deref(), Some("alice"));
        assert_eq!(log[2].ntlm_domain.as_deref(), Some("CONTOSO"));
        assert_eq!(sim.user(ALICE).unwrap().applications.len(), 1);
    }
}

#[test]
fn the_sip_address_signs_in_as_its_upn() {
    let sim = start(windows_only(&[WindowsAuth::Ntlm]));
    let c = client(&sim);
    c.sign_in("sip:alice@contoso.com", ALICE_PW).unwrap();
    let log = sim.token_log();
    assert_one_handshake(&log, "NTLM", "granted alice@contoso.com");
    assert_eq!(log[2].ntlm_user.as_deref(), Some(ALICE));
}

#[test]
fn with_both_grants_offered_auto_uses_the_password_and_grant_windows_the_handshake() {
    let sim = start(fast_config());
    client(&sim).sign_in(ALICE, ALICE_PW).unwrap();
    let log = sim.token_log();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].grant.as_deref(), Some("password"));

    let sim = start(fast_config());
    let c = client(&sim);
    c.set_option("grant", "windows").unwrap();
    c.sign_in(ALICE, ALICE_PW).unwrap();
    let log = sim.token_log();
    assert_one_handshake(&log, "Negotiate", "granted alice@contoso.com");
    assert!(log.iter().all(|e| e.grant.as_deref() == Some(WINDOWS)));
}

#[test]
fn a_wrong_password_or_domain_is_refused_as_authentication_without_repeating_the_password() {
    for (user, password, outcome) in [
        (ALICE, "not-alices-password", "refused: bad password"),
        (r"FABRIKAM\alice", ALICE_PW, "refused: wrong domain"),
        (r"CONTOSO\mallory", ALICE_PW, "refused: unknown user"),
    ] {
        for scheme in [WindowsAuth::Ntlm, WindowsAuth::Negotiate] {
            let sim = start(windows_only(&[scheme]));
            let e = client(&sim).sign_in(user, password).unwrap_err();
            assert_eq!(e.status(), Status::Authentication, "{user} {scheme:?}: {e}");
            let msg = e.to_string();
            assert!(
                msg.contains("the server refused the Windows credentials of"),
                "{msg}"
            );
            assert!(msg.contains(scheme.scheme()), "{msg}");
            assert!(!msg.contains(password), "{msg}");
            assert_one_handshake(&sim.token_log(), scheme.scheme(), outcome);
            assert!(on_route(&sim.log(), "applications").is_empty());
        }
    }
}

#[test]
fn an_expired_ticket_is_renewed_with_the_windows_grant_again() {
    let sim = start(windows_only(&[WindowsAuth::Ntlm]));
    let c = client(&sim);
    c.sign_in(r"CONTOSO\alice", ALICE_PW).unwrap();
    c.make_me_available(Availability::Online).unwrap();
    sim.clear_log();
    sim.expire_tokens(Some(ALICE));
    c.set_availability(Availability::DoNotDisturb)
        .expect("the call re-authenticates and succeeds");
    assert_one_handshake(&sim.token_log(), "NTLM", "granted alice@contoso.com");
    assert_eq!(sim.user(ALICE).unwrap().availability, "DoNotDisturb");
}

#[test]
fn the_handshake_goes_through_a_proxys_connect_tunnel() {
    let (sim, ca) = tls_sim("windows-proxy");
    let c = client(&sim);
    c.set_option("ca_file", ca.to_str().unwrap()).unwrap();
    c.set_option("proxy", &sim.proxy_url()).unwrap();
    c.set_option("grant", "windows").unwrap();
    c.sign_in(ALICE, ALICE_PW)
        .expect("sign in through the proxy");
    assert_one_handshake(&sim.token_log(), "Negotiate", "granted alice@contoso.com");
    let seen = sim.proxy_log();
    assert!(
        seen.len() >= 2
            && seen
                .iter()
                .all(|e| e.method == "CONNECT" && e.answered == Some(200)),
        "the pooled requests and the dedicated connection each tunnelled: {seen:?}"
    );
    let _ = std::fs::remove_dir_all(ca.parent().unwrap());
}

#[test]
fn the_handshake_over_tls_without_a_proxy_signs_in() {
    let (sim, ca) = tls_sim("windows-tls");
    let c = client(&sim);
    c.set_option("ca_file", ca.to_str().unwrap()).unwrap();
    c.set_option("proxy", "none").unwrap();
    c.set_option("grant", "windows").unwrap();
    c.sign_in(ALICE, ALICE_PW).unwrap();
    assert_one_handshake(&sim.token_log(), "Negotiate", "granted alice@contoso.com");
    let _ = std::fs::remove_dir_all(ca.parent().unwrap());
}

#[test]
fn a_token_endpoint_offering_no_windows_scheme_is_refused_after_one_request() {
    let sim = start(windows_only(&[WindowsAuth::Ntlm]));
    // The anonymous request's answer names only Basic: nothing to run.
    sim.inject_fault(respond(
        "token",
        1,
        401,
        &[("WWW-Authenticate", r#"Basic realm="lync""#)],
        "",
    ));
    let e = client(&sim).sign_in(ALICE, ALICE_PW).unwrap_err();
    assert_eq!(e.status(), Status::Authentication, "{e}");
    assert!(
        e.to_string()
            .contains("offers neither Negotiate nor NTLM for the Windows grant (it offers Basic)"),
        "{e}"
    );
    assert_eq!(on_route(&sim.log(), "token").len(), 1);
}

/// The NTLM messages quoted in `text`, whole or cut short (errors quote a few hundred
/// characters): every run of base64 characters whose whole groups decode to bytes holding an
/// `NTLMSSP` signature (bare NTLM, or wrapped in SPNEGO), as its message type (1 NEGOTIATE,
/// 2 CHALLENGE, 3 AUTHENTICATE: the one with the user, domain, workstation and NTLMv2 proof).
fn quoted_ntlm_messages(text: &str) -> Vec<u8> {
    let b64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=');
    text.split(|c: char| !b64(c))
        .map(|run| run.trim_end_matches('='))
        .filter(|run| run.len() >= 16)
        .filter_map(|run| {
            let whole = &run[..run.len() / 4 * 4];
            base64::engine::general_purpose::STANDARD.decode(whole).ok()
        })
        .filter_map(|bytes| {
            let at = bytes.windows(8).position(|w| w == b"NTLMSSP\0")?;
            bytes.get(at + 8).copied()
        })
        .collect()
}

#[test]
fn a_token_endpoint_that_echoes_a_leg_gets_no_ntlm_message_into_the_error() {
    // The echo answers the NEGOTIATE leg (after one normal request) or the AUTHENTICATE leg
    // (after two), as a refusal (401) or as a token error (400).
    for scheme in [WindowsAuth::Ntlm, WindowsAuth::Negotiate] {
        for (before, leg) in [(1, "negotiate"), (2, "authenticate")] {
            for status in [400, 401] {
                let sim = start(windows_only(&[scheme]));
                sim.inject_fault(fault("token", before, FaultAction::Delay { ms: 0 }));
                sim.inject_fault(fault("token", 1, FaultAction::EchoSecrets { status }));
                let e = client(&sim).sign_in(ALICE, ALICE_PW).unwrap_err();
                let what = format!("{scheme:?} {leg} {status}");
                assert_eq!(e.status(), Status::Authentication, "{what}: {e}");
                let log = sim.log();
                let token = on_route(&log, "token");
                assert_eq!(token.len(), before as usize + 1, "{what}: {log:?}");
                assert!(token[before as usize].authorization, "{what}: {log:?}");
                assert_eq!(token[before as usize].status, status, "{what}");
                // The legs handled normally; the echoed one is the next.
                let legs: Vec<Option<String>> =
                    sim.token_log().into_iter().map(|t| t.leg).collect();
                let handled = [Some("challenge".to_string()), Some("negotiate".to_string())];
                assert_eq!(legs, handled[..before as usize], "{what}");
                let text = host_text(&e);
                assert!(text.contains("[redacted]"), "{what}: {text}");
                let quoted = quoted_ntlm_messages(&text);
                assert!(
                    quoted.is_empty(),
                    "{what}: NTLM messages {quoted:?} in {text}"
                );
            }
        }
    }
}

#[cfg(not(windows))]
#[test]
fn signing_in_as_the_current_user_elsewhere_than_windows_fails_at_once() {
    let sim = start(fast_config());
    let c = client(&sim);
    let e = c.sign_in_current_user().unwrap_err();
    assert_eq!(e.status(), Status::Authentication);
    assert!(
        e.to_string()
            .contains("signing in as the current user needs Windows"),
        "{e}"
    );
    assert!(sim.log().is_empty(), "nothing was sent: {:?}", sim.log());
    // The client is unharmed: a password sign-in still works.
    c.sign_in(ALICE, ALICE_PW).unwrap();
}

/// DER tag-length-value with the shortest length form (what SPNEGO tokens are made of).
fn der(tag: u8, value: &[u8]) -> Vec<u8> {
    let n = value.len();
    let mut out = vec![tag];
    match n {
        0..0x80 => out.push(n as u8),
        0x80..0x100 => out.extend([0x81, n as u8]),
        _ => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(value);
    out
}

/// A CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2) as a Windows server sends one: Unicode, NTLMv2 with
/// extended session security, target info with a current timestamp.
fn ntlm_challenge() -> Vec<u8> {
    let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let filetime = (now.as_secs() + 11_644_473_600) * 10_000_000;
    let mut info = Vec::new();
    for (id, value) in [
        (2u16, utf16("CONTOSO")),
        (1, utf16("LYNC-SE1")),
        (4, utf16("contoso.com")),
        (3, utf16("lync-se1.contoso.com")),
        (7, filetime.to_le_bytes().to_vec()),
        (0, Vec::new()),
    ] {
        info.extend(id.to_le_bytes());
        info.extend((value.len() as u16).to_le_bytes());
        info.extend(value);
    }
    let name = utf16("CONTOSO");
    let flags: u32 = 0xe28a_8235;
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend(2u32.to_le_bytes());
    m.extend((name.len() as u16).to_le_bytes());
    m.extend((name.len() as u16).to_le_bytes());
    m.extend(56u32.to_le_bytes());
    m.extend(flags.to_le_bytes());
    m.extend([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
    m.extend([0; 8]);
    m.extend((info.len() as u16).to_le_bytes());
    m.extend((info.len() as u16).to_le_bytes());
    m.extend((56 + name.len() as u32).to_le_bytes());
    m.extend([10, 0, 0x63, 0x45, 0, 0, 0, 0x0f]);
    m.extend(name);
    m.extend(info);
    m
}

#[test]
fn a_spnego_reject_ends_the_negotiate_handshake_with_no_further_leg() {
    use base64::Engine as _;
    let sim = start(windows_only(&[WindowsAuth::Negotiate]));
    // negState reject (2), yet with NTLMSSP selected and a usable CHALLENGE inside: RFC 4178
    // §4.2.2 ends the negotiation there, whatever else the token holds.
    const NTLMSSP: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];
    let fields = [
        der(0xa0, &der(0x0a, &[2])),
        der(0xa1, &der(0x06, NTLMSSP)),
        der(0xa2, &der(0x04, &ntlm_challenge())),
    ]
    .concat();
    let reject = der(0xa1, &der(0x30, &fields));
    let line = format!(
        "Negotiate {}",
        base64::engine::general_purpose::STANDARD.encode(reject)
    );
    sim.inject_fault(respond(
        "token",
        0,
        401,
        &[("WWW-Authenticate", line.as_str())],
        "",
    ));
    let e = client(&sim).sign_in(ALICE, ALICE_PW).unwrap_err();
    assert_eq!(e.status(), Status::Authentication, "{e}");
    assert!(e.to_string().contains("Negotiate"), "{e}");
    let legs = on_route(&sim.log(), "token").len();
    assert_eq!(
        legs, 2,
        "the anonymous request and the NEGOTIATE leg, no AUTHENTICATE"
    );
}
