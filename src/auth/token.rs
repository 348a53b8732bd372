//! The tokens we hold and how a token endpoint's answer becomes one: one per origin, since a
//! web ticket is valid only on the pool that issued it; the password grant.
//!
//! What a token endpoint answers is checked before it is used: the token must be usable as a
//! header value (else `Protocol`), and its lifetime has a floor (option `min_token_lifetime_s`),
//! so a server claiming tiny lifetimes cannot make the client renew in a tight loop.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Deserialize;
use url::Url;
use zeroize::Zeroizing;

use super::grant::UsableGrant;
use crate::error::{Error, Step};
use crate::transport::{server_error, Body, Exchange, Reply};

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
pub(super) fn token_from_reply(
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

    proptest! {
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
}
