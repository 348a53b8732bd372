//! The Windows grant (`grant_type=urn:microsoft.rtc:windows`) at the token endpoint, served as
//! IIS's Windows authentication serves it: a POST without `Authorization` is offered the
//! configured schemes (`Negotiate`, `NTLM`); an NTLM NEGOTIATE_MESSAGE (bare, or under
//! `Negotiate` raw or in SPNEGO) is answered with a CHALLENGE_MESSAGE and the handshake is
//! remembered for that TCP connection only; the AUTHENTICATE_MESSAGE on the same connection is
//! verified as NTLMv2 against the configured user's password, and a valid one gets the same
//! token answer as the password grant. Every failure is IIS's 401.1: the offer again.

use std::collections::HashMap;
use std::time::Instant;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;

use crate::config::WindowsAuth;
use crate::handlers::Outcome;
use crate::http::{Req, Resp};
use crate::ntlm::{self, NtResponse};
use crate::spnego;
use crate::state::{unauthorized_page, user_key, Pool, PoolKind, Shared, State};
use crate::tokens::{TokenNote, WINDOWS_GRANT};

/// Handshakes remembered at once. A test may open connections and send NEGOTIATE messages
/// without ever finishing; beyond this the oldest pending handshake is forgotten (its client
/// gets the 401 of a split handshake), so memory stays bounded.
pub(crate) const MAX_HANDSHAKES: usize = 1024;

/// A CHALLENGE_MESSAGE sent on a connection, waiting for its AUTHENTICATE_MESSAGE.
#[derive(Debug, Clone)]
pub(crate) struct Handshake {
    /// The scheme the NEGOTIATE_MESSAGE came under; the third leg must use the same.
    pub scheme: WindowsAuth,
    pub server_challenge: [u8; 8],
    pub started: Instant,
}

/// Why a Windows-grant request got the offer again instead of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    SchemeNotOffered,
    Malformed,
    NotNtlm,
    UnexpectedMessage,
    SplitConnection,
    SchemeChanged,
    Anonymous,
    NtlmV1,
    LmOnly,
    WrongDomain,
    UnknownUser,
    BadPassword,
}

impl Refusal {
    fn why(self) -> &'static str {
        match self {
            Refusal::SchemeNotOffered => "refused: scheme not offered",
            Refusal::Malformed => "refused: malformed",
            Refusal::NotNtlm => "refused: not ntlm",
            Refusal::UnexpectedMessage => "refused: unexpected message",
            Refusal::SplitConnection => "refused: split connection",
            Refusal::SchemeChanged => "refused: scheme changed",
            Refusal::Anonymous => "refused: anonymous",
            Refusal::NtlmV1 => "refused: ntlmv1",
            Refusal::LmOnly => "refused: lm only",
            Refusal::WrongDomain => "refused: wrong domain",
            Refusal::UnknownUser => "refused: unknown user",
            Refusal::BadPassword => "refused: bad password",
        }
    }
}

/// The 401 that offers the configured schemes: one `WWW-Authenticate` line each, in order, or
/// one folded line.
fn offer(shared: &Shared, pool: &Pool) -> Resp {
    let schemes = offered_schemes(shared);
    let mut page = unauthorized_page();
    if pool.fold_challenges {
        page = page.with_header("WWW-Authenticate", &schemes.join(", "));
    } else {
        for s in schemes {
            page = page.with_header("WWW-Authenticate", s);
        }
    }
    page
}

/// The configured schemes' names, in offer order.
fn offered_schemes(shared: &Shared) -> Vec<&'static str> {
    shared
        .config
        .windows_auth
        .iter()
        .map(|s| s.scheme())
        .collect()
}

fn offered_text(shared: &Shared) -> String {
    format!("offered {}", offered_schemes(shared).join(", "))
}

/// 8 random bytes: the random parts of a v4 UUID (its version and variant bits left out).
fn random_challenge() -> [u8; 8] {
    let u = uuid::Uuid::new_v4();
    let b = u.as_bytes();
    [b[0], b[1], b[2], b[3], b[4], b[5], b[10], b[11]]
}

/// What an `Authorization` header carried: the scheme, and the NTLM message inside its token
/// with whether SPNEGO wrapped it.
fn unwrap_token(scheme: WindowsAuth, token: &str) -> Result<(Vec<u8>, bool), Refusal> {
    let token = token.trim();
    let bytes = STANDARD
        .decode(token)
        .or_else(|_| STANDARD_NO_PAD.decode(token))
        .map_err(|_| Refusal::Malformed)?;
    if scheme == WindowsAuth::Ntlm || ntlm::message_type(&bytes).is_some() {
        // Windows clients sometimes send raw NTLM under Negotiate; IIS accepts it.
        return Ok((bytes, false));
    }
    match spnego::parse(&bytes).ok_or(Refusal::Malformed)? {
        spnego::Token::Init {
            mech_types,
            mech_token,
        } => {
            if !mech_types.contains(&spnego::NTLMSSP_OID) {
                return Err(Refusal::NotNtlm);
            }
            match mech_token {
                Some(t) if ntlm::message_type(t).is_some() => Ok((t.to_vec(), true)),
                _ => Err(Refusal::NotNtlm),
            }
        }
        spnego::Token::Resp {
            response_token: Some(t),
        } if ntlm::message_type(t).is_some() => Ok((t.to_vec(), true)),
        spnego::Token::Resp { .. } => Err(Refusal::Malformed),
    }
}

/// The configured user an AUTHENTICATE_MESSAGE's user and domain name: `user` with the
/// NetBIOS domain or the user's DNS domain, or a full UPN with an empty domain; names compare
/// case-insensitively.
fn resolve(shared: &Shared, st: &State, user: &str, domain: &str) -> Result<String, Refusal> {
    if domain.is_empty() {
        let key = user_key(user);
        return if key.contains('@') && st.users.contains_key(&key) {
            Ok(key)
        } else {
            Err(Refusal::UnknownUser)
        };
    }
    let netbios = domain.eq_ignore_ascii_case(&shared.config.netbios_domain);
    let mut domain_known = netbios;
    for key in st.users.keys() {
        let Some((local, dns)) = key.split_once('@') else {
            continue;
        };
        let in_domain = netbios || dns.eq_ignore_ascii_case(domain);
        domain_known |= in_domain;
        if in_domain && local.eq_ignore_ascii_case(user) {
            return Ok(key.clone());
        }
    }
    Err(if domain_known {
        Refusal::UnknownUser
    } else {
        Refusal::WrongDomain
    })
}

/// Answers one Windows-grant POST (the grant is known to be offered).
pub(crate) fn grant(shared: &Shared, pool: &Pool, req: &Req) -> Outcome {
    let mut note = TokenNote {
        grant: Some(WINDOWS_GRANT.to_owned()),
        ..TokenNote::default()
    };
    let mut user = None;
    let resp = match answer(shared, pool, req, &mut note, &mut user) {
        Ok((resp, why)) => {
            note.outcome = why;
            resp
        }
        Err(refusal) => {
            note.outcome = refusal.why().to_owned();
            offer(shared, pool)
        }
    };
    let mut out = Outcome::new(resp, user);
    out.token = Some(Box::new(note));
    out
}

fn answer(
    shared: &Shared,
    pool: &Pool,
    req: &Req,
    note: &mut TokenNote,
    user: &mut Option<String>,
) -> Result<(Resp, String), Refusal> {
    let Some(value) = req.headers.get("authorization") else {
        note.leg = Some("challenge");
        return Ok((offer(shared, pool), offered_text(shared)));
    };
    let value = value.to_str().map_err(|_| Refusal::Malformed)?.trim();
    let (name, token) = value.split_once(' ').unwrap_or((value, ""));
    let scheme = if name.eq_ignore_ascii_case("ntlm") {
        WindowsAuth::Ntlm
    } else if name.eq_ignore_ascii_case("negotiate") {
        WindowsAuth::Negotiate
    } else {
        return Err(Refusal::SchemeNotOffered);
    };
    note.scheme = Some(scheme.scheme());
    if !shared.config.windows_auth.contains(&scheme) {
        return Err(Refusal::SchemeNotOffered);
    }
    let (message, wrapped) = unwrap_token(scheme, token)?;
    note.spnego = wrapped;
    let leg = Leg {
        scheme,
        message: &message,
        wrapped,
    };
    match ntlm::message_type(&message) {
        Some(1) => {
            note.leg = Some("negotiate");
            negotiate(shared, pool, req, &leg)
        }
        Some(3) => {
            note.leg = Some("authenticate");
            authenticate(shared, pool, req, &leg, note, user)
        }
        Some(_) => Err(Refusal::UnexpectedMessage),
        None => Err(Refusal::Malformed),
    }
}

/// One NTLM message as it arrived: under which scheme, and whether SPNEGO wrapped it.
struct Leg<'a> {
    scheme: WindowsAuth,
    message: &'a [u8],
    wrapped: bool,
}

/// The first leg: a NEGOTIATE_MESSAGE gets a CHALLENGE_MESSAGE, remembered for the connection.
fn negotiate(
    shared: &Shared,
    pool: &Pool,
    req: &Req,
    leg: &Leg<'_>,
) -> Result<(Resp, String), Refusal> {
    let flags = ntlm::negotiate_flags(leg.message).ok_or(Refusal::Malformed)?;
    let server_challenge = random_challenge();
    remember(
        shared,
        req.conn,
        Handshake {
            scheme: leg.scheme,
            server_challenge,
            started: Instant::now(),
        },
    );
    let challenge = challenge_message(shared, pool, flags, &server_challenge);
    let token = if leg.wrapped {
        spnego::response(spnego::ACCEPT_INCOMPLETE, true, Some(&challenge))
    } else {
        challenge
    };
    let line = format!("{} {}", leg.scheme.scheme(), STANDARD.encode(token));
    let resp = unauthorized_page().with_header("WWW-Authenticate", &line);
    Ok((resp, "challenge sent".to_owned()))
}

/// The CHALLENGE_MESSAGE of this pool's front end, naming its computer and domains.
fn challenge_message(
    shared: &Shared,
    pool: &Pool,
    flags: u32,
    server_challenge: &[u8; 8],
) -> Vec<u8> {
    let dns_domain = shared.domain.to_ascii_lowercase();
    let computer = match pool.kind {
        PoolKind::Pool2 => "LYNC-SE2",
        _ => "LYNC-SE1",
    };
    let dns_computer = format!("{}.{dns_domain}", computer.to_ascii_lowercase());
    let target = ntlm::Target {
        nb_domain: &shared.config.netbios_domain,
        nb_computer: computer,
        dns_domain: &dns_domain,
        dns_computer: &dns_computer,
    };
    ntlm::challenge_message(
        ntlm::challenge_flags(flags),
        server_challenge,
        &target,
        ntlm::filetime_now(),
    )
}

/// The third leg: an AUTHENTICATE_MESSAGE on the handshake's connection, verified as NTLMv2,
/// gets the token answer.
fn authenticate(
    shared: &Shared,
    pool: &Pool,
    req: &Req,
    leg: &Leg<'_>,
    note: &mut TokenNote,
    user: &mut Option<String>,
) -> Result<(Resp, String), Refusal> {
    // Whatever follows, the connection's handshake ends with its third leg.
    let pending = shared.lock().handshakes.remove(&req.conn);
    let auth = ntlm::parse_authenticate(leg.message).ok_or(Refusal::Malformed)?;
    note.ntlm_user = Some(auth.user.clone());
    note.ntlm_domain = Some(auth.domain.clone());
    *user = Some(if auth.domain.is_empty() {
        auth.user.clone()
    } else {
        format!("{}\\{}", auth.domain, auth.user)
    });
    // IIS binds NTLM to the connection: a third leg elsewhere has nothing to answer.
    let pending = pending.ok_or(Refusal::SplitConnection)?;
    if pending.scheme != leg.scheme {
        return Err(Refusal::SchemeChanged);
    }
    if auth.user.is_empty() {
        return Err(Refusal::Anonymous);
    }
    match ntlm::classify(&auth.nt_response) {
        NtResponse::V2 => {}
        NtResponse::V1 => return Err(Refusal::NtlmV1),
        NtResponse::LmOnly => return Err(Refusal::LmOnly),
        NtResponse::Malformed => return Err(Refusal::Malformed),
    }
    let mut st = shared.lock();
    let key = resolve(shared, &st, &auth.user, &auth.domain)?;
    let password = st
        .users
        .get(&key)
        .map(|u| u.password.clone())
        .unwrap_or_default();
    // The key is derived from the names exactly as the message carries them.
    let key_v2 = ntlm::ntowfv2(&password, &auth.user, &auth.domain);
    if !ntlm::verify_v2(&key_v2, &pending.server_challenge, &auth.nt_response) {
        return Err(Refusal::BadPassword);
    }
    let (mut resp, name) = shared.grant_answer(&mut st, &key, pool);
    resp = resp
        .with_header("Cache-Control", "no-store")
        .with_header("Pragma", "no-cache");
    if leg.wrapped {
        // SPNEGO's last word: accept-completed (NTLM itself has no final token, so a
        // raw-NTLM Negotiate gets none).
        let done = spnego::response(spnego::ACCEPT_COMPLETED, false, None);
        resp = resp.with_header(
            "WWW-Authenticate",
            &format!("Negotiate {}", STANDARD.encode(done)),
        );
    }
    Ok((resp, format!("granted {name}")))
}

/// Keeps a handshake for its connection (replacing one the connection already had), forgetting
/// the oldest other one when the table is full.
fn remember(shared: &Shared, conn: u64, handshake: Handshake) {
    remember_in(&mut shared.lock().handshakes, conn, handshake);
}

fn remember_in(table: &mut HashMap<u64, Handshake>, conn: u64, handshake: Handshake) {
    if !table.contains_key(&conn) && table.len() >= MAX_HANDSHAKES {
        let oldest = table.iter().min_by_key(|(_, h)| h.started).map(|(c, _)| *c);
        if let Some(c) = oldest {
            table.remove(&c);
        }
    }
    table.insert(conn, handshake);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake(at: Instant) -> Handshake {
        Handshake {
            scheme: WindowsAuth::Ntlm,
            server_challenge: [0; 8],
            started: at,
        }
    }

    #[test]
    fn pending_handshakes_are_bounded_by_forgetting_the_oldest() {
        let mut table = HashMap::new();
        let t0 = Instant::now();
        for conn in 0..MAX_HANDSHAKES as u64 + 10 {
            remember_in(
                &mut table,
                conn,
                handshake(t0 + std::time::Duration::from_millis(conn)),
            );
        }
        assert_eq!(table.len(), MAX_HANDSHAKES);
        assert!(!table.contains_key(&9) && table.contains_key(&10));
        // A connection starting over replaces its own entry and forgets no one else.
        remember_in(&mut table, 10, handshake(Instant::now()));
        assert_eq!(table.len(), MAX_HANDSHAKES);
        assert!(table.contains_key(&11));
    }

    #[test]
    fn garbage_tokens_never_yield_an_ntlm_message() {
        // Empty, not base64, short, a truncated SPNEGO wrapper, a NegTokenResp without a
        // token, the bare NTLM signature.
        for token in ["", "!!", "AAAA", "YIIB", "oQcwBaADCgEA", "TlRMTVNTUAA="] {
            for scheme in [WindowsAuth::Ntlm, WindowsAuth::Negotiate] {
                let usable = unwrap_token(scheme, token)
                    .is_ok_and(|(m, _)| ntlm::message_type(&m).is_some());
                assert!(!usable, "{scheme} {token:?}");
            }
        }
    }
}
