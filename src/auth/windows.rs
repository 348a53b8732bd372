//! The Windows grant (`grant_type=urn:microsoft.rtc:windows`): the token request authenticated
//! with HTTP Negotiate or NTLM instead of a password in the form, as IIS in front of the token
//! endpoint asks for it.
//!
//! The handshake runs on one dedicated connection (`transport::Dedicated`), because NTLM is
//! bound to the connection the server challenged: the anonymous request learns the schemes
//! offered (401 `WWW-Authenticate: Negotiate` / `NTLM`), then each leg carries the next token
//! until the server answers with the web ticket, or refuses (a SPNEGO `negState` reject ends
//! the handshake with no further leg). Negotiate is preferred when offered.
//!
//! Two sources of tokens: explicit credentials through Devolutions' pure-Rust SSPI on every OS
//! (NTLMv2, and SPNEGO wrapping NTLM; Kerberos would need a KDC client this build leaves out),
//! and, on Windows only, the logged-on user through the system's SSPI (`sys::windows_sspi`).

use std::time::{Duration, Instant};

use base64::Engine as _;
use sspi::ntlm::NtlmConfig;
use sspi::{
    AuthIdentity, BufferType, ClientRequestFlags, CredentialUse, DataRepresentation, Negotiate,
    NegotiateConfig, Ntlm, SecurityBuffer, SecurityStatus, Sspi, SspiImpl, Username,
};
use url::Url;
use zeroize::Zeroizing;

use super::challenge::challenges;
use super::grant::UsableGrant;
use super::spnego::{neg_state, NEG_STATE_REJECT};
use super::token::{lifetime, token_from_reply, Token};
use super::Identity;
use crate::error::{Error, Step};
use crate::redact::Secrets;
use crate::transport::{Body, Dedicated, Exchange, Reply};

/// The most tokens one handshake sends (NTLM takes two, SPNEGO at most three).
const MAX_LEGS: usize = 4;

/// An HTTP authentication scheme of the Windows grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Negotiate,
    Ntlm,
}

impl Scheme {
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Negotiate => "Negotiate",
            Scheme::Ntlm => "NTLM",
        }
    }
}

/// One side of a handshake in progress: given the server's last token (none at first), the
/// next token to send, and whether the context is complete once it is sent.
pub trait Handshake: Send {
    fn step(&mut self, input: Option<&[u8]>) -> Result<(Vec<u8>, bool), String>;
}

/// A handshake with explicit credentials through the pure-Rust SSPI.
struct Explicit<S: SspiImpl> {
    sspi: S,
    credentials: S::CredentialsHandle,
    target: String,
}

impl<S> Explicit<S>
where
    S: Sspi + Send + 'static,
    S::CredentialsHandle: Send,
{
    /// Acquires the outbound credentials for `auth` and wraps the package as a handshake.
    fn start(
        mut sspi: S,
        auth: &S::AuthenticationData,
        target: String,
    ) -> Result<Box<dyn Handshake>, String> {
        let acquired = sspi
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Outbound)
            .with_auth_data(auth)
            .execute(&mut sspi)
            .map_err(|e| e.description.clone())?;
        Ok(Box::new(Explicit {
            sspi,
            credentials: acquired.credentials_handle,
            target,
        }))
    }
}

impl<S> Handshake for Explicit<S>
where
    S: Sspi + Send,
    S::CredentialsHandle: Send,
{
    fn step(&mut self, input: Option<&[u8]>) -> Result<(Vec<u8>, bool), String> {
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut inputs = input.map(|t| vec![SecurityBuffer::new(t.to_vec(), BufferType::Token)]);
        let mut builder = self
            .sspi
            .initialize_security_context()
            .with_credentials_handle(&mut self.credentials)
            .with_context_requirements(ClientRequestFlags::ALLOCATE_MEMORY)
            .with_target_data_representation(DataRepresentation::Native)
            .with_target_name(&self.target)
            .with_output(&mut output);
        if let Some(i) = inputs.as_mut() {
            builder = builder.with_input(i);
        }
        let result = self
            .sspi
            .initialize_security_context_impl(&mut builder)
            .and_then(|mut g| g.resolve_to_result())
            .map_err(|e| e.description.clone())?;
        let done = !matches!(
            result.status,
            SecurityStatus::ContinueNeeded | SecurityStatus::CompleteAndContinue
        );
        Ok((std::mem::take(&mut output[0].buffer), done))
    }
}

/// The user name as NTLM carries it: `DOMAIN\user` as is, a UPN as is (empty domain), and a
/// SIP address as its UPN.
pub fn ntlm_user_name(username: &str) -> &str {
    let u = username.trim();
    u.strip_prefix("sip:")
        .or_else(|| u.strip_prefix("SIP:"))
        .unwrap_or(u)
}

/// This machine's name as the NTLM workstation (only logged by the server).
fn workstation() -> String {
    std::env::var("COMPUTERNAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .ok()
        .filter(|n| !n.is_empty() && n.len() <= 63 && n.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or_else(|| "UCWA".to_string())
}

fn explicit(
    scheme: Scheme,
    username: &str,
    password: &str,
    target: String,
) -> Result<Box<dyn Handshake>, String> {
    let username = Username::parse(ntlm_user_name(username))
        .map_err(|e| format!("the user name cannot be used for Windows sign-in: {e}"))?;
    let identity = AuthIdentity {
        username,
        password: password.to_string().into(),
    };
    let host = workstation();
    match scheme {
        Scheme::Ntlm => {
            Explicit::start(Ntlm::with_config(NtlmConfig::new(host)), &identity, target)
        }
        Scheme::Negotiate => {
            let config = NegotiateConfig::new(
                Box::new(NtlmConfig::new(host.clone())),
                Some("!kerberos,!pku2u,ntlm".to_string()),
                host,
            );
            let negotiate = Negotiate::new_client(config).map_err(|e| e.description.clone())?;
            Explicit::start(negotiate, &sspi::Credentials::from(identity), target)
        }
    }
}

/// The handshake for this identity and scheme.
fn handshake(
    identity: &Identity,
    scheme: Scheme,
    host: &str,
) -> Result<Box<dyn Handshake>, String> {
    let target = format!("HTTP/{host}");
    match identity {
        Identity::Named { username, password } => explicit(scheme, username, password, target),
        Identity::CurrentUser => current_user(scheme, target),
    }
}

#[cfg(windows)]
impl Handshake for crate::sys::windows_sspi::CurrentUser {
    fn step(&mut self, input: Option<&[u8]>) -> Result<(Vec<u8>, bool), String> {
        crate::sys::windows_sspi::CurrentUser::step(self, input)
    }
}

#[cfg(windows)]
fn current_user(scheme: Scheme, target: String) -> Result<Box<dyn Handshake>, String> {
    let handshake = crate::sys::windows_sspi::CurrentUser::acquire(scheme.name(), &target)?;
    Ok(Box::new(handshake))
}

#[cfg(not(windows))]
fn current_user(_scheme: Scheme, _target: String) -> Result<Box<dyn Handshake>, String> {
    Err(CURRENT_USER_ELSEWHERE.to_string())
}

/// Why the current user cannot sign in on this OS, and what to do instead.
pub const CURRENT_USER_ELSEWHERE: &str = "signing in as the current user needs Windows (the logged-on user's credentials through Windows SSPI); on this system call sign-in with a user name (DOMAIN\\user or a UPN) and password, which uses the Windows grant with explicit credentials";

/// Which scheme to run, from the anonymous request's challenges.
fn offered_scheme(reply: &Reply) -> Result<Scheme, String> {
    let offered = challenges(&reply.headers);
    if offered.iter().any(|c| c.is("Negotiate")) {
        Ok(Scheme::Negotiate)
    } else if offered.iter().any(|c| c.is("NTLM")) {
        Ok(Scheme::Ntlm)
    } else {
        let names: Vec<&str> = offered.iter().map(|c| c.scheme.as_str()).collect();
        Err(format!(
            "the token endpoint offers neither Negotiate nor NTLM for the Windows grant (it offers {})",
            if names.is_empty() {
                "nothing".to_string()
            } else {
                reply.server_text(&names.join(", "))
            }
        ))
    }
}

/// The server's next token for `scheme` in a 401, if it sent one. Its size is bounded where
/// every challenge is read (`MAX_CHALLENGE_LINE`: a longer `WWW-Authenticate` line is ignored).
fn server_token(reply: &Reply, scheme: Scheme) -> Option<Vec<u8>> {
    let challenge = challenges(&reply.headers)
        .into_iter()
        .find(|c| c.is(scheme.name()) && c.token68.is_some())?;
    base64::engine::general_purpose::STANDARD
        .decode(challenge.token68?)
        .ok()
}

/// The server's token for the next leg, from its 401. The handshake ends when the server sent
/// none, when ours was the last, or when SPNEGO rejected the negotiation.
fn next_input(
    reply: &Reply,
    scheme: Scheme,
    done: bool,
    identity: &Identity,
) -> Result<Vec<u8>, Error> {
    let next = server_token(reply, scheme);
    let rejected = scheme == Scheme::Negotiate
        && next.as_deref().and_then(neg_state) == Some(NEG_STATE_REJECT);
    match next {
        _ if rejected => Err(refused(
            format!(
                "the server rejected the Negotiate (SPNEGO) negotiation for {} (negState reject, urn:microsoft.rtc:windows)",
                who(identity)
            ),
            Some(reply),
        )),
        Some(next) if !done && !next.is_empty() => Ok(next),
        _ => Err(refused(
            format!(
                "the server refused the Windows credentials of {} ({}, urn:microsoft.rtc:windows)",
                who(identity),
                scheme.name()
            ),
            Some(reply),
        )),
    }
}

fn refused(detail: String, reply: Option<&Reply>) -> Error {
    Error::Authentication {
        step: Step::Token,
        detail,
        http_status: reply.map(|r| r.status),
        diagnostics: reply.and_then(Reply::diagnostics),
    }
}

/// Who the error names: the user name for explicit credentials, else "the current user".
fn who(identity: &Identity) -> String {
    match identity {
        Identity::Named { username, .. } => ntlm_user_name(username).to_string(),
        Identity::CurrentUser => "the current Windows user".to_string(),
    }
}

/// The handshake's tokens, both ways, as the scrubber must know them before a server can echo
/// one: an AUTHENTICATE message holds the user, domain, workstation and the NTLMv2 proof
/// (crackable offline with the server's challenge). Kept like a token: as long as the web
/// ticket the handshake earned would live, and at least as long as one whose server names no
/// lifetime.
struct Legs<'s> {
    secrets: &'s Secrets,
    texts: Vec<Zeroizing<String>>,
    until: Instant,
}

impl<'s> Legs<'s> {
    fn new(secrets: &'s Secrets) -> Legs<'s> {
        Legs {
            secrets,
            texts: Vec::new(),
            until: Instant::now() + lifetime(None),
        }
    }

    /// Registers one token of `scheme`, bare and as its header value; returns the header value.
    fn record(&mut self, scheme: Scheme, token: &[u8]) -> Zeroizing<String> {
        let bare = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(token));
        let header = Zeroizing::new(format!("{} {}", scheme.name(), *bare));
        for text in [&bare, &header] {
            self.secrets.keep_until(text, self.until);
        }
        self.texts.extend([bare, header.clone()]);
        header
    }

    /// Keeps them as long as the web ticket they earned.
    fn outlive(&self, ticket: &Token) {
        for text in &self.texts {
            self.secrets.keep_until(text, ticket.expires);
        }
    }
}

/// Runs the Windows grant against `token_url` and reads the web ticket.
pub async fn windows_grant(
    ex: &Exchange<'_>,
    token_url: &Url,
    identity: &Identity,
    generation: u64,
    floor: Duration,
) -> Result<Token, Error> {
    let body = Body::Form(Zeroizing::new(
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", UsableGrant::Windows.grant_type())
            .finish(),
    ));
    let mut conn = Dedicated::open(ex, Step::Token, token_url).await?;
    let offer = conn.send(Step::Token, token_url, None, &body).await?;
    if offer.status != 401 {
        // A server that needs no handshake (or refuses the grant outright) answers at once.
        return token_from_reply(&offer, token_url, generation, floor, UsableGrant::Windows);
    }
    let scheme = offered_scheme(&offer).map_err(|d| refused(d, Some(&offer)))?;
    let host = token_url.host_str().unwrap_or_default().to_string();
    let mut context = handshake(identity, scheme, &host).map_err(|d| {
        refused(
            format!(
                "the Windows sign-in could not start ({}): {d}",
                scheme.name()
            ),
            None,
        )
    })?;
    let mut input: Option<Vec<u8>> = None;
    let mut legs = Legs::new(ex.secrets);
    for _ in 0..MAX_LEGS {
        let (token, done) = context.step(input.as_deref()).map_err(|d| {
            refused(
                format!(
                    "the {} handshake failed for {}: {d}",
                    scheme.name(),
                    who(identity)
                ),
                None,
            )
        })?;
        let authorization = legs.record(scheme, &token);
        let reply = conn
            .send(Step::Token, token_url, Some(&authorization), &body)
            .await?;
        if reply.status != 401 {
            let ticket =
                token_from_reply(&reply, token_url, generation, floor, UsableGrant::Windows)?;
            legs.outlive(&ticket);
            return Ok(ticket);
        }
        let next = next_input(&reply, scheme, done, identity)?;
        legs.record(scheme, &next);
        input = Some(next);
    }
    Err(refused(
        format!(
            "the {} handshake did not finish within {MAX_LEGS} legs",
            scheme.name()
        ),
        None,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_reach_ntlm_as_windows_reads_them() {
        assert_eq!(ntlm_user_name(r"CONTOSO\alice"), r"CONTOSO\alice");
        assert_eq!(ntlm_user_name("alice@contoso.com"), "alice@contoso.com");
        assert_eq!(
            ntlm_user_name(" sip:alice@contoso.com "),
            "alice@contoso.com"
        );
    }

    #[test]
    fn both_handshakes_start_with_an_ntlm_negotiate_message() {
        for scheme in [Scheme::Ntlm, Scheme::Negotiate] {
            let identity = Identity::Named {
                username: r"CONTOSO\alice".into(),
                password: Zeroizing::new("alice-password".into()),
            };
            let mut h = handshake(&identity, scheme, "lyncweb.contoso.com").unwrap();
            let (first, done) = h.step(None).unwrap();
            assert!(!done);
            let ntlmssp = first.windows(8).any(|w| w == b"NTLMSSP\0");
            assert!(
                ntlmssp,
                "{scheme:?}: no NTLM NEGOTIATE_MESSAGE in the first token"
            );
            if scheme == Scheme::Negotiate {
                assert_eq!(first[0], 0x60, "SPNEGO NegTokenInit (GSS-API framing)");
            } else {
                assert!(first.starts_with(b"NTLMSSP\0\x01\0\0\0"));
            }
        }
    }

    #[test]
    fn a_garbage_server_token_fails_the_handshake_without_panicking() {
        let identity = Identity::Named {
            username: "alice@contoso.com".into(),
            password: Zeroizing::new("pw".into()),
        };
        for scheme in [Scheme::Ntlm, Scheme::Negotiate] {
            let mut h = handshake(&identity, scheme, "h").unwrap();
            h.step(None).unwrap();
            assert!(h.step(Some(b"\x00\x01garbage")).is_err());
        }
    }
}
