//! OAuth as UCWA does it: reading the challenges (one RFC 7235 parser for every
//! `WWW-Authenticate` line, however proxies fold them, yielding the `MsRtcOAuth` and `Bearer`
//! challenges), choosing the grant (the one place option `grant` meets the server's
//! `grant_type` list), the password grant, the Windows grant (in `windows`), and the tokens we
//! hold (one per origin, since a web ticket is valid only on the pool that issued it).
//!
//! What a token endpoint answers is checked before it is used: the token must be usable as a
//! header value (else `Protocol`), and its lifetime has a floor (option `min_token_lifetime_s`),
//! so a server claiming tiny lifetimes cannot make the client renew in a tight loop.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};
use reqwest::Method;
use serde::Deserialize;
use url::Url;
use zeroize::Zeroizing;

use crate::error::{Error, Step};
use crate::options::Grant;
use crate::transport::{server_error, Body, Exchange, Reply};

mod windows;
pub use windows::{windows_grant, CURRENT_USER_ELSEWHERE};
#[cfg(windows)]
pub(crate) use windows::{Handshake, Scheme};

/// Who a grant signs in as.
#[derive(Clone)]
pub enum Identity {
    /// A user name (`DOMAIN\user`, a UPN or the SIP address) and its password: the password
    /// grant, or the Windows grant with explicit credentials.
    Named {
        username: String,
        password: Zeroizing<String>,
    },
    /// The logged-on Windows user, through the system's SSPI: the Windows grant only.
    CurrentUser,
}

impl Identity {
    /// The password held, for the scrubber.
    pub fn password(&self) -> Option<&str> {
        match self {
            Identity::Named { password, .. } => Some(password.as_str()),
            Identity::CurrentUser => None,
        }
    }
}

/// The longest `WWW-Authenticate` line read. A longer one is ignored whole: real challenges are
/// a few hundred bytes, and a partial read could pick a truncated href.
pub(crate) const MAX_CHALLENGE_LINE: usize = 8 * 1024;
/// The most challenges kept over all `WWW-Authenticate` lines of one response.
pub(crate) const MAX_CHALLENGES: usize = 16;
/// The most auth-params kept per challenge (real ones have two or three).
pub(crate) const MAX_PARAMS: usize = 32;

/// One challenge of a `WWW-Authenticate` list (RFC 7235 §4.1): a scheme with either a token68
/// or auth-params. Parameter names are kept in ASCII lower case (they are case-insensitive);
/// the scheme is kept as sent and compared with [`AuthChallenge::is`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthChallenge {
    pub scheme: String,
    pub token68: Option<String>,
    pub params: Vec<(String, String)>,
}

impl AuthChallenge {
    fn new(scheme: &[u8]) -> AuthChallenge {
        AuthChallenge {
            scheme: String::from_utf8_lossy(scheme).into_owned(),
            token68: None,
            params: Vec::new(),
        }
    }

    /// Whether this challenge has the scheme `name` (case-insensitive).
    pub fn is(&self, name: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(name)
    }

    /// The first value of parameter `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// RFC 7230 `tchar`: what a scheme or a parameter name is made of.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 7235 `token68` characters, before its trailing `=` padding.
fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

/// A position in one header line.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn at_element_end(&self) -> bool {
        matches!(self.peek(), None | Some(b','))
    }

    /// Skips optional whitespace; says whether there was any.
    fn ows(&mut self) -> bool {
        let start = self.i;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
        self.i > start
    }

    fn run(&mut self, f: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.i;
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
        &self.s[start..self.i]
    }

    fn token(&mut self) -> Option<&'a [u8]> {
        Some(self.run(is_tchar)).filter(|t| !t.is_empty())
    }

    fn token68(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        if self.run(is_token68_char).is_empty() {
            return None;
        }
        self.run(|b| b == b'=');
        Some(&self.s[start..self.i])
    }

    /// A quoted-string at the cursor, unescaped; `None` when it never ends.
    fn quoted(&mut self) -> Option<String> {
        debug_assert_eq!(self.peek(), Some(b'"'));
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(String::from_utf8_lossy(&out).into_owned());
                }
                b'\\' => {
                    self.i += 1;
                    out.push(self.peek()?);
                }
                b => out.push(b),
            }
            self.i += 1;
        }
    }

    /// An unquoted value. Wider than RFC `token` on purpose: Microsoft's documentation shows
    /// the href unquoted (`href=https://contoso.com/WebTicket/oauthtoken,grant_type=…`), so a
    /// value runs to the next comma, whitespace or quote.
    fn bare(&mut self) -> Option<String> {
        let v = self.run(|b| b > b' ' && b != 0x7f && b != b',' && b != b'"');
        (!v.is_empty()).then(|| String::from_utf8_lossy(v).into_owned())
    }

    /// After a malformed element: on to the next comma that is not inside a quoted string.
    fn skip_element(&mut self) {
        let mut quoted = false;
        while let Some(b) = self.peek() {
            match b {
                b',' if !quoted => return,
                b'"' => quoted = !quoted,
                b'\\' if quoted => self.i += 1,
                _ => {}
            }
            self.i += 1;
        }
    }
}

/// Parses one `WWW-Authenticate` line (a comma-separated list of challenges) onto `out`,
/// keeping at most [`MAX_CHALLENGES`] in `out` and [`MAX_PARAMS`] per challenge. A line over
/// [`MAX_CHALLENGE_LINE`] bytes is ignored. A malformed element is skipped up to the next
/// comma and the rest still counts, since proxies fold unrelated challenges together and one
/// odd challenge must not hide the `MsRtcOAuth` one.
pub fn parse_challenge_line(line: &[u8], out: &mut Vec<AuthChallenge>) {
    if line.len() > MAX_CHALLENGE_LINE {
        return;
    }
    let mut c = Cursor { s: line, i: 0 };
    let mut current: Option<AuthChallenge> = None;
    let finish = |current: &mut Option<AuthChallenge>, out: &mut Vec<AuthChallenge>| {
        if let Some(ch) = current.take() {
            if out.len() < MAX_CHALLENGES {
                out.push(ch);
            }
        }
    };
    loop {
        // Empty list elements (`, ,`) are allowed by the list rule.
        loop {
            c.ows();
            if c.peek() == Some(b',') {
                c.i += 1;
            } else {
                break;
            }
        }
        if c.peek().is_none() || out.len() >= MAX_CHALLENGES {
            break;
        }
        let Some(name) = c.token() else {
            // Neither a scheme nor a parameter name: skipped. Only a new scheme ends the
            // current challenge, so a broken parameter does not cost it its other ones.
            c.skip_element();
            continue;
        };
        let gap = c.ows();
        match c.peek() {
            Some(b'=') => {
                // An auth-param (`name BWS "=" BWS value`) of the current challenge.
                c.i += 1;
                c.ows();
                let value = if c.peek() == Some(b'"') {
                    c.quoted()
                } else {
                    c.bare()
                };
                c.ows();
                match (value, current.as_mut()) {
                    (Some(v), Some(ch)) if c.at_element_end() && ch.token68.is_none() => {
                        if ch.params.len() < MAX_PARAMS {
                            ch.params
                                .push((String::from_utf8_lossy(name).to_ascii_lowercase(), v));
                        }
                    }
                    // No scheme before it, after a token68, or a malformed value.
                    _ => c.skip_element(),
                }
            }
            None | Some(b',') => {
                // A scheme alone.
                finish(&mut current, out);
                current = Some(AuthChallenge::new(name));
            }
            Some(_) if gap => {
                // A scheme, then a token68 or the first auth-param.
                finish(&mut current, out);
                let mut ch = AuthChallenge::new(name);
                let start = c.i;
                if let Some(t) = c.token68() {
                    c.ows();
                    if c.at_element_end() {
                        ch.token68 = Some(String::from_utf8_lossy(t).into_owned());
                    } else {
                        c.i = start;
                    }
                }
                current = Some(ch);
            }
            // A token glued to something else (`name"x"`): skipped like any broken element.
            Some(_) => c.skip_element(),
        }
    }
    finish(&mut current, out);
}

/// Every challenge of every `WWW-Authenticate` line, in order, within the bounds above.
pub fn challenges(headers: &HeaderMap) -> Vec<AuthChallenge> {
    let mut out = Vec::new();
    for line in headers.get_all(WWW_AUTHENTICATE) {
        parse_challenge_line(line.as_bytes(), &mut out);
    }
    out
}

/// The `MsRtcOAuth` challenge: where the token endpoint is and which grants it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub href: String,
    /// The `grant_type` list; `None` when the challenge names none.
    pub grant_types: Option<Vec<String>>,
}

/// The `Bearer` challenge's parameters, as a pool with modern authentication (or Online)
/// states where a token comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BearerChallenge {
    pub authorization_uri: Option<String>,
    // Read by the modern-auth sign-in (design §8); parsed here so the challenge is read once.
    #[allow(dead_code)]
    pub client_id: Option<String>,
    #[allow(dead_code)]
    pub trusted_issuers: Option<String>,
}

/// What one 401 (or 403) offers: the `MsRtcOAuth` challenge and the `Bearer` one, wherever in
/// the `WWW-Authenticate` lines they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Challenges {
    pub ms_rtc_oauth: Option<Challenge>,
    pub bearer: Option<BearerChallenge>,
}

/// Reads what a server offers among all challenges of all `WWW-Authenticate` lines (separate
/// lines, or folded into one by a proxy, in any order): the first `MsRtcOAuth` with an href,
/// and the first `Bearer`.
pub fn parse_challenge(headers: &HeaderMap) -> Challenges {
    let all = challenges(headers);
    let ms_rtc_oauth = all.iter().filter(|c| c.is("MsRtcOAuth")).find_map(|c| {
        let href = c.param("href").filter(|h| !h.trim().is_empty())?;
        Some(Challenge {
            href: href.trim().to_string(),
            grant_types: c.param("grant_type").map(|g| {
                g.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            }),
        })
    });
    let bearer = all.iter().find(|c| c.is("Bearer")).map(|c| {
        let p = |n: &str| c.param(n).map(str::to_string);
        BearerChallenge {
            authorization_uri: p("authorization_uri"),
            client_id: p("client_id"),
            trusted_issuers: p("trusted_issuers"),
        }
    });
    Challenges {
        ms_rtc_oauth,
        bearer,
    }
}

/// The grant a sign-in runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsableGrant {
    Password,
    /// Windows integrated authentication: NTLM or Negotiate on the token request.
    Windows,
}

impl UsableGrant {
    /// The `grant_type` value of this grant.
    pub fn grant_type(self) -> &'static str {
        match self {
            UsableGrant::Password => "password",
            UsableGrant::Windows => "urn:microsoft.rtc:windows",
        }
    }
}

/// Why no grant can be used: the server's list, what this sign-in could have used, and why a
/// grant that was asked for cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoUsableGrant {
    pub offered: Option<Vec<String>>,
    pub usable: Vec<&'static str>,
    pub wanted: Grant,
    /// Signing in as the current user (no password to send).
    pub current_user: bool,
}

impl NoUsableGrant {
    /// The error text; `server_text` passes the server's grant names through the scrubber.
    pub fn detail(&self, server_text: impl Fn(&str) -> String) -> String {
        let offered = match &self.offered {
            None => "the server names no grant_type".to_string(),
            Some(list) if list.is_empty() => "the server offers no grant".to_string(),
            Some(list) => format!("the server offers {}", server_text(&list.join(", "))),
        };
        let usable = if self.usable.is_empty() {
            "none".to_string()
        } else {
            self.usable.join(", ")
        };
        let mut detail = format!("{offered}; this sign-in can use {usable}");
        if self.current_user && self.wanted == Grant::Password {
            detail.push_str(
                " (grant=password: signing in as the current user has no password to send; set grant to auto or windows)",
            );
        }
        detail
    }
}

/// The one decision of which grant a sign-in runs: option `grant` against the challenge's
/// `grant_type` list and who signs in. Nothing is sent when this fails, so a server that does
/// not offer the password grant never receives the password. `auto` prefers the password grant
/// (one request) and falls back to the Windows grant with the same credentials; the current
/// user has only the Windows grant.
///
/// A challenge that names no `grant_type` at all restricts nothing; the first usable grant is
/// tried then (no capture lacks the list, and the token endpoint still refuses a grant it does
/// not take with `unsupported_grant_type`).
pub fn choose_grant(
    wanted: Grant,
    offered: Option<&[String]>,
    current_user: bool,
) -> Result<UsableGrant, NoUsableGrant> {
    let candidates: &[UsableGrant] = match (wanted, current_user) {
        (Grant::Password, true) => &[],
        (Grant::Auto | Grant::Windows, true) | (Grant::Windows, false) => &[UsableGrant::Windows],
        (Grant::Password, false) => &[UsableGrant::Password],
        (Grant::Auto, false) => &[UsableGrant::Password, UsableGrant::Windows],
    };
    let offers =
        |g: &str| offered.is_none_or(|list| list.iter().any(|o| o.eq_ignore_ascii_case(g)));
    if let Some(g) = candidates.iter().find(|g| offers(g.grant_type())) {
        return Ok(*g);
    }
    Err(NoUsableGrant {
        offered: offered.map(<[String]>::to_vec),
        usable: candidates.iter().map(|g| g.grant_type()).collect(),
        wanted,
        current_user,
    })
}

/// A bearer token for one origin. Its value is wiped from memory when dropped.
pub struct Token {
    /// The whole `Authorization` value: `token_type + " " + access_token`.
    pub authorization: Zeroizing<String>,
    /// The bare `access_token`, as a server could echo it.
    access_token: Zeroizing<String>,
    pub issued: Instant,
    pub expires: Instant,
    /// The shortest lifetime renewals are planned by, whatever the server claimed.
    floor: Duration,
    /// Where it came from, to renew it before it runs out.
    pub token_url: Url,
    /// Bumped every time a token is replaced, so concurrent callers renew only once.
    pub generation: u64,
    /// The grant it came from; renewal runs the same one.
    pub grant: UsableGrant,
}

impl Token {
    /// The lifetime renewals are planned by: what the server claimed, never less than the floor.
    fn planned_life(&self) -> Duration {
        self.expires
            .saturating_duration_since(self.issued)
            .max(self.floor)
    }

    /// When to renew: a fifth of the (floored) lifetime ahead, at most five minutes ahead.
    pub fn renew_at(&self) -> Instant {
        let life = self.planned_life();
        let margin = (life / 5).min(Duration::from_secs(300));
        self.issued + life - margin
    }

    /// Whether the server claimed a lifetime under the floor.
    pub fn is_short(&self) -> bool {
        self.expires.saturating_duration_since(self.issued) < self.floor
    }

    /// The texts of this token that must never appear in an error.
    pub fn secrets(&self) -> [&str; 2] {
        [self.authorization.as_str(), self.access_token.as_str()]
    }
}

/// The lifetime a token endpoint's `expires_in` stands for: seconds, finite and positive, at
/// most a year; anything else (absent, zero, negative, NaN) reads as one hour.
pub fn lifetime(expires_in: Option<f64>) -> Duration {
    let secs = expires_in
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(3600.0)
        .min(365.0 * 86400.0);
    Duration::from_secs_f64(secs)
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    token_type: Option<String>,
    #[serde(default, deserialize_with = "number_or_string")]
    expires_in: Option<f64>,
}

/// `expires_in` as a JSON number or a numeric string (both appear in the wild); anything else
/// reads as absent.
fn number_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

#[derive(Deserialize)]
struct OAuthError {
    error: String,
    error_description: Option<String>,
}

/// The longest access token used, from a token endpoint or the host. Web tickets are one or two
/// KiB and AAD tokens a few; a longer one would ride on every request and through every scrub.
pub(crate) const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Builds the `Authorization` value from what the token endpoint sent, refusing anything that
/// cannot travel as a header (CR, LF, control characters), a token over [`MAX_TOKEN_LEN`] bytes
/// or a token type that is not a word.
pub(crate) fn authorization_value(token_type: &str, access_token: &str) -> Option<String> {
    if access_token.len() > MAX_TOKEN_LEN {
        return None;
    }
    let scheme_ok = !token_type.is_empty()
        && token_type.len() <= 32
        && token_type
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let value = format!("{token_type} {access_token}");
    let header_ok = !access_token.trim().is_empty()
        && value.bytes().all(|b| (0x20..0x7f).contains(&b))
        && reqwest::header::HeaderValue::from_str(&value).is_ok();
    (scheme_ok && header_ok).then_some(value)
}

/// The password grant: POST the form to the token endpoint and read the token. `floor` is the
/// shortest lifetime its renewal is planned by.
pub async fn password_grant(
    ex: &Exchange<'_>,
    token_url: &Url,
    (username, password): (&str, &str),
    generation: u64,
    floor: Duration,
) -> Result<Token, Error> {
    let form: Zeroizing<String> = Zeroizing::new(
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", UsableGrant::Password.grant_type())
            .append_pair("username", username)
            .append_pair("password", password)
            .finish(),
    );
    let reply = ex
        .send(Step::Token, Method::POST, token_url, None, Body::Form(form))
        .await?;
    token_from_reply(&reply, token_url, generation, floor, UsableGrant::Password)
}

/// Reads a token endpoint's answer to `grant`: the token, or the OAuth error it names.
fn token_from_reply(
    reply: &Reply,
    token_url: &Url,
    generation: u64,
    floor: Duration,
    grant: UsableGrant,
) -> Result<Token, Error> {
    if reply.status == 400 || reply.status == 401 {
        let oauth = serde_json::from_slice::<OAuthError>(&reply.body).ok();
        let (what, description) = match oauth {
            Some(o) => (
                reply.server_text(&o.error),
                o.error_description.map(|d| reply.server_text(&d)),
            ),
            None => ("no OAuth error body".to_string(), None),
        };
        let mut detail = match what.as_str() {
            "invalid_grant" => "credentials refused (invalid_grant)".to_string(),
            "unsupported_grant_type" => format!(
                "the server does not accept the {} grant (unsupported_grant_type)",
                match grant {
                    UsableGrant::Password => "password",
                    UsableGrant::Windows => "Windows",
                }
            ),
            other => format!("token endpoint answered {} ({other})", reply.status),
        };
        if let Some(d) = description.filter(|d| !d.trim().is_empty()) {
            detail.push_str(": ");
            detail.push_str(&d);
        }
        return Err(Error::Authentication {
            step: Step::Token,
            detail,
            http_status: Some(reply.status),
            diagnostics: reply.diagnostics(),
        });
    }
    if !reply.is_success() {
        return Err(server_error(Step::Token, reply));
    }
    let (access_token, token_type, life) =
        parse_token_reply(&reply.body).ok_or_else(|| Error::Protocol {
            step: Step::Token,
            detail: "token endpoint answered without a JSON access_token".into(),
            http_status: Some(reply.status),
            path: token_url.path().to_string(),
        })?;
    let token_type = token_type.unwrap_or_else(|| "Bearer".into());
    let access = Zeroizing::new(access_token);
    let authorization = authorization_value(&token_type, &access).ok_or_else(|| Error::Protocol {
        step: Step::Token,
        detail: format!(
            "the token endpoint sent a token that cannot be used as a header (control characters, over {MAX_TOKEN_LEN} bytes, or a malformed token_type)"
        ),
        http_status: Some(reply.status),
        path: token_url.path().to_string(),
    })?;
    let issued = Instant::now();
    Ok(Token {
        authorization: Zeroizing::new(authorization),
        access_token: access,
        issued,
        expires: issued + life,
        floor,
        token_url: token_url.clone(),
        generation,
        grant,
    })
}

/// Reads a token endpoint's success body: the access token, its type and its lifetime.
fn parse_token_reply(body: &[u8]) -> Option<(String, Option<String>, Duration)> {
    let parsed: TokenReply = serde_json::from_slice(body).ok()?;
    Some((
        parsed.access_token,
        parsed.token_type,
        lifetime(parsed.expires_in),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use reqwest::header::HeaderValue;

    /// What a generated challenge carries after its scheme.
    #[derive(Debug, Clone)]
    enum Body {
        Nothing,
        Token68(String),
        Params(Vec<(String, String)>),
    }

    fn token() -> impl Strategy<Value = String> {
        "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,8}"
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![token(), "[ -~é€]{0,16}", Just(ON_PREM_GRANTS.join(","))]
    }

    fn challenge_list() -> impl Strategy<Value = Vec<(String, Body)>> {
        let body = prop_oneof![
            Just(Body::Nothing),
            "[A-Za-z0-9._~+/-]{1,12}={0,2}".prop_map(Body::Token68),
            proptest::collection::vec((token(), value()), 1..5).prop_map(Body::Params),
        ];
        proptest::collection::vec((token(), body), 0..6)
    }

    /// Random rendering choices, drawn in turn (and over again when used up).
    struct Dice(Vec<u8>, usize);

    impl Dice {
        fn roll(&mut self) -> u8 {
            self.1 += 1;
            self.0[self.1 % self.0.len()]
        }
        fn one_in(&mut self, n: u8) -> bool {
            self.roll().is_multiple_of(n)
        }
        fn ows(&mut self) -> &'static str {
            ["", "", " ", "\t", "  "][self.roll() as usize % 5]
        }
    }

    fn is_token(v: &str) -> bool {
        !v.is_empty() && v.bytes().all(is_tchar)
    }

    /// A value as a server may write it: bare when it is a token and the dice say so, else a
    /// quoted-string, sometimes escaping characters that need no escape.
    fn render_value(v: &str, dice: &mut Dice) -> String {
        if is_token(v) && dice.one_in(2) {
            return v.to_string();
        }
        let escape_all = dice.one_in(4);
        let mut out = String::from("\"");
        for ch in v.chars() {
            if ch == '"' || ch == '\\' || (escape_all && ch.is_ascii()) {
                out.push('\\');
            }
            out.push(ch);
        }
        out.push('"');
        out
    }

    fn render_challenge(scheme: &str, body: &Body, dice: &mut Dice) -> String {
        let gap = [" ", "  ", "   "][dice.roll() as usize % 3];
        match body {
            Body::Nothing => scheme.to_string(),
            Body::Token68(t) => format!("{scheme}{gap}{t}"),
            Body::Params(params) => {
                let rendered: Vec<String> = params
                    .iter()
                    .map(|(k, v)| {
                        let (a, b) = (dice.ows(), dice.ows());
                        format!("{k}{a}={b}{}", render_value(v, dice))
                    })
                    .collect();
                let mut out = format!("{scheme}{gap}");
                for (i, p) in rendered.iter().enumerate() {
                    if i > 0 {
                        out.push_str(&format!("{},{}", dice.ows(), dice.ows()));
                    }
                    out.push_str(p);
                }
                out
            }
        }
    }

    /// The list as one line or several, with optional whitespace and empty list elements.
    fn render_lines(list: &[(String, Body)], dice: &mut Dice) -> Vec<String> {
        let mut lines = vec![String::new()];
        for (i, (scheme, body)) in list.iter().enumerate() {
            if i > 0 {
                if dice.one_in(3) {
                    lines.push(String::new());
                } else {
                    let sep = if dice.one_in(4) { ", ," } else { "," };
                    let line = lines.last_mut().unwrap();
                    line.push_str(&format!("{}{sep}{}", dice.ows(), dice.ows()));
                }
            }
            let text = render_challenge(scheme, body, dice);
            let line = lines.last_mut().unwrap();
            if line.is_empty() && dice.one_in(4) {
                line.push_str(", ");
            }
            line.push_str(&text);
        }
        lines
            .into_iter()
            .map(|l| format!("{}{l}{}", dice.ows(), if dice.one_in(5) { "," } else { "" }))
            .collect()
    }

    fn expected(list: &[(String, Body)]) -> Vec<AuthChallenge> {
        list.iter()
            .map(|(scheme, body)| AuthChallenge {
                scheme: scheme.clone(),
                token68: match body {
                    Body::Token68(t) => Some(t.clone()),
                    _ => None,
                },
                params: match body {
                    Body::Params(p) => p
                        .iter()
                        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                        .collect(),
                    _ => Vec::new(),
                },
            })
            .collect()
    }

    proptest! {
        #[test]
        fn rendered_challenge_lists_parse_back_to_the_same_challenges(
            list in challenge_list(),
            dice in proptest::collection::vec(any::<u8>(), 1..32),
        ) {
            let lines = render_lines(&list, &mut Dice(dice, 0));
            let mut h = HeaderMap::new();
            for l in &lines {
                h.append(WWW_AUTHENTICATE, HeaderValue::from_bytes(l.as_bytes()).unwrap());
            }
            prop_assert_eq!(challenges(&h), expected(&list), "lines: {:?}", lines);
        }

        #[test]
        fn any_bytes_on_a_line_never_panic_and_stay_bounded(
            line in proptest::collection::vec(any::<u8>(), 0..400),
            syntax in "[ \t,=\"\\\\a-zA-Z0-9/:]{0,300}",
        ) {
            for bytes in [&line[..], syntax.as_bytes()] {
                let mut out = Vec::new();
                parse_challenge_line(bytes, &mut out);
                prop_assert!(out.len() <= MAX_CHALLENGES);
                prop_assert!(out.iter().all(|c| c.params.len() <= MAX_PARAMS && !c.scheme.is_empty()));
            }
        }
    }

    proptest! {
        #[test]
        fn any_www_authenticate_bytes_parse_or_are_ignored(values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..4)) {
            let mut h = HeaderMap::new();
            for v in &values {
                if let Ok(v) = HeaderValue::from_bytes(v) {
                    h.append(WWW_AUTHENTICATE, v);
                }
            }
            if let Some(c) = parse_challenge(&h).ms_rtc_oauth {
                prop_assert!(c.grant_types.iter().flatten().all(|g| !g.is_empty()));
                prop_assert!(!c.href.is_empty());
            }
        }

        #[test]
        fn challenge_like_text_never_panics(s in "(MsRtcOAuth|Bearer|msrtcoauth)?[ ,=\"a-z_:/.]{0,80}") {
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&s) {
                h.append(WWW_AUTHENTICATE, v);
            }
            let _ = parse_challenge(&h);
        }

        #[test]
        fn any_token_body_gives_a_bounded_lifetime_or_nothing(body in proptest::collection::vec(any::<u8>(), 0..300), n in any::<f64>()) {
            // Tiny claims (even ones that round to zero) are the lifetime floor's business.
            if let Some((_, _, life)) = parse_token_reply(&body) {
                prop_assert!(life <= Duration::from_secs(365 * 86400));
            }
            let json = format!(r#"{{"access_token":"a","expires_in":{}}}"#, serde_json::json!(n));
            if let Some((_, _, life)) = parse_token_reply(json.as_bytes()) {
                prop_assert!(life <= Duration::from_secs(365 * 86400));
            }
        }

        #[test]
        fn only_header_safe_tokens_become_authorization_values(t in "[ -~\r\n\t\u{0}]{0,40}", a in "[ -~\r\n\u{7f}]{0,60}") {
            if let Some(v) = authorization_value(&t, &a) {
                prop_assert!(HeaderValue::from_str(&v).is_ok());
                prop_assert!(!v.contains('\r') && !v.contains('\n'));
            }
        }
    }

    #[test]
    fn a_token_longer_than_16_kib_is_not_used() {
        let long = "a".repeat(MAX_TOKEN_LEN);
        assert!(authorization_value("Bearer", &long).is_some());
        assert!(authorization_value("Bearer", &format!("{long}a")).is_none());
    }

    #[test]
    fn expires_in_reads_numbers_and_numeric_strings() {
        let life = |b: &str| parse_token_reply(b.as_bytes()).map(|t| t.2);
        assert_eq!(
            life(r#"{"access_token":"a","expires_in":30}"#),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            life(r#"{"access_token":"a","expires_in":"28800"}"#),
            Some(Duration::from_secs(28800))
        );
        for odd in ["-5", "0", "\"soon\"", "null", "\"1e400\""] {
            let body = format!(r#"{{"access_token":"a","expires_in":{odd}}}"#);
            assert_eq!(life(&body), Some(Duration::from_secs(3600)), "{odd}");
        }
        assert_eq!(life(r#"{"expires_in":30}"#), None);
        assert_eq!(
            life(r#"{"access_token":"a","expires_in":1e400}"#),
            None,
            "not JSON"
        );
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(WWW_AUTHENTICATE, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const ON_PREM_GRANTS: [&str; 3] = [
        "urn:microsoft.rtc:windows",
        "urn:microsoft.rtc:anonmeeting",
        "password",
    ];

    fn ms_rtc_oauth(values: &[&str]) -> Challenge {
        parse_challenge(&headers(values))
            .ms_rtc_oauth
            .expect("an MsRtcOAuth challenge")
    }

    #[test]
    fn a_challenge_folded_by_a_reverse_proxy_is_found_after_the_bearer_one() {
        let folded = r#"Bearer trusted_issuers="", client_id="00000004-0000-0ff1-ce00-000000000000", MsRtcOAuth href="https://lyncweb.contoso.com/WebTicket/oauthtoken",grant_type="urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password""#;
        let got = parse_challenge(&headers(&[folded]));
        assert_eq!(
            got.ms_rtc_oauth,
            Some(Challenge {
                href: "https://lyncweb.contoso.com/WebTicket/oauthtoken".into(),
                grant_types: Some(ON_PREM_GRANTS.map(String::from).to_vec()),
            })
        );
        assert_eq!(
            got.bearer,
            Some(BearerChallenge {
                authorization_uri: None,
                client_id: Some("00000004-0000-0ff1-ce00-000000000000".into()),
                trusted_issuers: Some(String::new()),
            })
        );
        // .NET shows the same merge without a space after the comma.
        let dotnet = folded.replace(r#"0000", MsRtcOAuth"#, r#"0000",MsRtcOAuth"#);
        assert_eq!(ms_rtc_oauth(&[&dotnet]), got.ms_rtc_oauth.unwrap());
    }

    #[test]
    fn the_simulators_two_lines_and_its_modern_auth_variant_parse() {
        // As ucwa-sim sends them (tests/sim/src/state.rs), Bearer first.
        let sim = [
            r#"Bearer trusted_issuers="00000002-0000-0ff1-ce00-000000000000@contoso.com", client_id="00000004-0000-0ff1-ce00-000000000000""#,
            r#"MsRtcOAuth href="http://127.0.0.1:41234/WebTicket/oauthtoken",grant_type="urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password""#,
        ];
        let c = ms_rtc_oauth(&sim);
        assert_eq!(c.href, "http://127.0.0.1:41234/WebTicket/oauthtoken");
        assert_eq!(c.grant_types.unwrap(), ON_PREM_GRANTS);
        let all = challenges(&headers(&sim));
        assert_eq!(all.len(), 2);
        assert_eq!(
            all[0].param("TRUSTED_ISSUERS"),
            Some("00000002-0000-0ff1-ce00-000000000000@contoso.com")
        );
        // In either order.
        assert_eq!(ms_rtc_oauth(&[sim[1], sim[0]]).href, c.href);

        let modern = r#"Bearer trusted_issuers="00000001-0000-0000-c000-000000000000@*", client_id="00000004-0000-0ff1-ce00-000000000000", authorization_uri="https://login.windows.net/common/oauth2/authorize""#;
        let got = parse_challenge(&headers(&[modern, sim[1]]));
        let bearer = got.bearer.unwrap();
        assert_eq!(
            bearer.authorization_uri.as_deref(),
            Some("https://login.windows.net/common/oauth2/authorize")
        );
        assert_eq!(
            bearer.trusted_issuers.as_deref(),
            Some("00000001-0000-0000-c000-000000000000@*")
        );
        assert!(got.ms_rtc_oauth.is_some());
        // Online without MsRtcOAuth: the Bearer challenge alone is still read.
        let only = parse_challenge(&headers(&[modern]));
        assert!(only.ms_rtc_oauth.is_none() && only.bearer.is_some());
    }

    #[test]
    fn unquoted_hrefs_case_and_whitespace_variants_parse() {
        // Microsoft's documentation shows the href unquoted.
        let c = ms_rtc_oauth(&[
            r#"MsRtcOAuth href=https://contoso.com/WebTicket/oauthtoken,grant_type="urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password""#,
        ]);
        assert_eq!(c.href, "https://contoso.com/WebTicket/oauthtoken");
        assert_eq!(c.grant_types.unwrap(), ON_PREM_GRANTS);

        let c = ms_rtc_oauth(&[
            "msrtcoauth HREF = https://contoso.com/WebTicket/oauthtoken ,\tGrant_Type=password",
        ]);
        assert_eq!(c.href, "https://contoso.com/WebTicket/oauthtoken");
        assert_eq!(c.grant_types.unwrap(), ["password"]);

        // Escapes inside quoted strings.
        let all = challenges(&headers(&[
            r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple""#,
        ]));
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].param("title"), Some(r#"Login to "apps""#));
        assert_eq!(all[0].param("type"), Some("1"));
        assert!(all[1].is("basic") && all[1].param("realm") == Some("simple"));
    }

    #[test]
    fn token68_and_bare_schemes_are_challenges_of_their_own() {
        let all = challenges(&headers(&[
            "Negotiate, Basic YWxhZGRpbjpvcGVuc2VzYW1l==, NTLM",
            r#"MsRtcOAuth href="/WebTicket/oauthtoken""#,
        ]));
        let schemes: Vec<&str> = all.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["Negotiate", "Basic", "NTLM", "MsRtcOAuth"]);
        assert_eq!(
            all[1].token68.as_deref(),
            Some("YWxhZGRpbjpvcGVuc2VzYW1l==")
        );
        assert!(all[0].params.is_empty() && all[0].token68.is_none());
        // No grant_type: nothing named, which is not the same as an empty list.
        assert_eq!(ms_rtc_oauth(&[r#"MsRtcOAuth href="/t""#]).grant_types, None);
        assert_eq!(
            ms_rtc_oauth(&[r#"MsRtcOAuth href="/t", grant_type="""#]).grant_types,
            Some(vec![])
        );
    }

    #[test]
    fn malformed_elements_are_skipped_and_the_rest_still_count() {
        let c = ms_rtc_oauth(&[
            r#""junk", Bearer realm="x" trailing, MsRtcOAuth href="/t", orphan"x", grant_type=password"#,
        ]);
        assert_eq!(c.href, "/t");
        assert_eq!(c.grant_types.unwrap(), ["password"]);
        // A parameter never belongs to a challenge on another line.
        let c = ms_rtc_oauth(&[r#"MsRtcOAuth href="/t""#, "grant_type=password"]);
        assert_eq!(c.grant_types, None);
        // An unterminated quoted string takes nothing with it.
        assert!(parse_challenge(&headers(&[r#"MsRtcOAuth href="/t"#]))
            .ms_rtc_oauth
            .is_none());
        // No href, or an empty one: not a usable challenge; a later one is.
        assert!(
            parse_challenge(&headers(&["MsRtcOAuth grant_type=password"]))
                .ms_rtc_oauth
                .is_none()
        );
        assert_eq!(
            ms_rtc_oauth(&[r#"MsRtcOAuth href="", MsRtcOAuth href="/second""#]).href,
            "/second"
        );
        assert!(parse_challenge(&headers(&[r#"Bearer realm="x""#]))
            .ms_rtc_oauth
            .is_none());
    }

    #[test]
    fn lines_challenges_and_params_are_bounded() {
        let pad = "x".repeat(MAX_CHALLENGE_LINE);
        let long = format!(r#"MsRtcOAuth href="/t", pad="{pad}""#);
        assert!(long.len() > MAX_CHALLENGE_LINE);
        assert!(parse_challenge(&headers(&[&long])).ms_rtc_oauth.is_none());

        let many: Vec<String> = (0..40).map(|i| format!("S{i} a=1")).collect();
        let all = challenges(&headers(&[&many.join(", "), r#"MsRtcOAuth href="/t""#]));
        assert_eq!(all.len(), MAX_CHALLENGES);
        assert_eq!(
            all[MAX_CHALLENGES - 1].scheme,
            format!("S{}", MAX_CHALLENGES - 1)
        );

        let params: Vec<String> = (0..100).map(|i| format!("p{i}={i}")).collect();
        let all = challenges(&headers(&[&format!("S {}", params.join(","))]));
        assert_eq!(all[0].params.len(), MAX_PARAMS);
        assert_eq!(all[0].param("p31"), Some("31"));
        assert_eq!(all[0].param("p32"), None);
    }

    fn offered(list: &[&str]) -> Vec<String> {
        list.iter().map(|g| g.to_string()).collect()
    }

    #[test]
    fn the_password_grant_is_preferred_when_offered_and_allowed() {
        let on_prem = offered(&ON_PREM_GRANTS);
        for wanted in [Grant::Auto, Grant::Password] {
            let pick = |list: Option<&[String]>| choose_grant(wanted, list, false);
            assert_eq!(pick(Some(&on_prem)), Ok(UsableGrant::Password));
            assert_eq!(pick(None), Ok(UsableGrant::Password));
            assert_eq!(
                pick(Some(&offered(&["PASSWORD"]))),
                Ok(UsableGrant::Password)
            );
        }
    }

    #[test]
    fn auto_falls_back_to_the_windows_grant_when_password_is_not_offered() {
        let windows_only = offered(&["urn:microsoft.rtc:windows", "urn:microsoft.rtc:anonmeeting"]);
        assert_eq!(
            choose_grant(Grant::Auto, Some(&windows_only), false),
            Ok(UsableGrant::Windows)
        );
        let none = choose_grant(Grant::Password, Some(&windows_only), false).unwrap_err();
        assert_eq!(
            none.detail(str::to_string),
            "the server offers urn:microsoft.rtc:windows, urn:microsoft.rtc:anonmeeting; this sign-in can use password"
        );
        let empty = choose_grant(Grant::Auto, Some(&[]), false).unwrap_err();
        assert_eq!(
            empty.detail(str::to_string),
            "the server offers no grant; this sign-in can use password, urn:microsoft.rtc:windows"
        );
    }

    #[test]
    fn grant_windows_runs_only_the_windows_grant() {
        for current_user in [false, true] {
            let on_prem = offered(&ON_PREM_GRANTS);
            assert_eq!(
                choose_grant(Grant::Windows, Some(&on_prem), current_user),
                Ok(UsableGrant::Windows)
            );
            let none = choose_grant(Grant::Windows, Some(&offered(&["password"])), current_user)
                .unwrap_err();
            // The server's names go through the scrubber it is given.
            assert_eq!(
                none.detail(|t| t.replace("password", "[x]")),
                "the server offers [x]; this sign-in can use urn:microsoft.rtc:windows"
            );
        }
    }

    #[test]
    fn the_current_user_never_runs_the_password_grant() {
        let on_prem = offered(&ON_PREM_GRANTS);
        assert_eq!(
            choose_grant(Grant::Auto, Some(&on_prem), true),
            Ok(UsableGrant::Windows)
        );
        let none = choose_grant(Grant::Password, Some(&on_prem), true).unwrap_err();
        let detail = none.detail(str::to_string);
        assert!(detail.contains("this sign-in can use none"), "{detail}");
        assert!(detail.contains("no password to send"), "{detail}");
        let none = choose_grant(Grant::Auto, None, true);
        assert_eq!(none, Ok(UsableGrant::Windows));
    }
}
