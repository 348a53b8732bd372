//! Host-supplied tokens (modern authentication): the bearer tokens the host acquired itself
//! (MSAL, ADAL, a device-code flow) and gave with `set_token`, one per resource origin, and
//! the pull model around them. No library thread runs host code: when a token is about to
//! expire, or the server refused it, the host hears `Event::TokenNeeded` and calls
//! `set_token` again; until then requests to that origin fail as any other failure does.
//!
//! This file checks what the host gives and speaks to the host; the tokens themselves, their
//! announcement schedule and the `authorization_uri`s live in the token store (`tokens`). A
//! supplied token goes only to its own origin: it is looked up by the origin of the request and
//! by nothing else.

use std::time::{Duration, Instant};

use url::Url;

use super::Session;
use crate::error::{Error, Result, Step};
use crate::types::Event;

/// The longest lifetime a host may claim for a token (a week); real ones live about an hour.
const MAX_HOST_TOKEN_LIFETIME_S: u32 = 7 * 24 * 3600;
/// The longest token accepted (a JWT with many claims is a few KiB).
const MAX_HOST_TOKEN_LEN: usize = crate::auth::MAX_TOKEN_LEN;

/// The origin `resource` names: `https://host[:port]` (or plain http on loopback, for tests),
/// with nothing after the authority.
fn resource_origin(resource: &str) -> Result<String> {
    let bad = |why: &str| Err(Error::InvalidArgument(format!("resource: {why}")));
    let Ok(url) = Url::parse(resource.trim()) else {
        return bad("expected an origin such as https://lyncweb.contoso.com");
    };
    if url.host_str().is_none() || !matches!(url.path(), "" | "/") || url.query().is_some() {
        return bad("expected an origin such as https://lyncweb.contoso.com (no path or query)");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return bad("an origin holds no credentials");
    }
    crate::security::check_transport(Step::Token, &url).map_err(|_| {
        Error::InvalidArgument(
            "resource: tokens travel over https only (plain http to loopback for tests)".into(),
        )
    })?;
    Ok(crate::security::origin(&url))
}

impl Session {
    /// Gives or replaces the bearer token for `resource`, valid for `expires_in_s` seconds.
    pub fn set_token(&self, resource: &str, access_token: &str, expires_in_s: u32) -> Result<()> {
        let origin = resource_origin(resource)?;
        if access_token.len() > MAX_HOST_TOKEN_LEN {
            return Err(Error::InvalidArgument(format!(
                "access_token: longer than {MAX_HOST_TOKEN_LEN} bytes"
            )));
        }
        let authorization =
            crate::auth::authorization_value("Bearer", access_token).ok_or_else(|| {
                Error::InvalidArgument(
                    "access_token: empty, or holds characters a header cannot carry".into(),
                )
            })?;
        if !(1..=MAX_HOST_TOKEN_LIFETIME_S).contains(&expires_in_s) {
            return Err(Error::InvalidArgument(format!(
                "expires_in_s: {expires_in_s} is outside 1..{MAX_HOST_TOKEN_LIFETIME_S}"
            )));
        }
        let life = Duration::from_secs(expires_in_s as u64);
        self.state()
            .tokens
            .set_host(origin, authorization, access_token, life, Instant::now());
        Ok(())
    }

    /// A 401 while signed in with host tokens: the token was refused (it is dropped, and the
    /// host told once) or there is none; the error says what to acquire.
    pub(super) fn token_needed(
        &self,
        step: Step,
        origin: &str,
        sent: Option<u64>,
        authorization_uri: Option<String>,
        path: &str,
    ) -> Error {
        let (refused, authorization_uri) =
            self.state()
                .tokens
                .host_refused(origin, sent, authorization_uri);
        if refused {
            self.emit(Event::TokenNeeded {
                resource: origin.to_string(),
                authorization_uri: authorization_uri.clone(),
            });
        }
        let what = if refused {
            "the server refused the token supplied for"
        } else {
            "no live token was supplied for"
        };
        let source = authorization_uri
            .as_deref()
            .map(|u| format!(" (the server names {u})"))
            .unwrap_or_default();
        Error::NeedsToken {
            step,
            detail: format!(
                "{what} {origin}; acquire one{source} and give it with set_token [{path}]"
            ),
            resource: origin.to_string(),
            authorization_uri,
        }
    }

    /// Tells the host, once per token, that one expires soon (the supervisor's timer).
    pub fn announce_expiring_tokens(&self) {
        let due = self.state().tokens.due_announcements(Instant::now());
        for (resource, authorization_uri) in due {
            self.emit(Event::TokenNeeded {
                resource,
                authorization_uri,
            });
        }
    }

    /// When the next host token is to be announced (for the supervisor's wake-up).
    pub fn next_token_announcement(&self) -> Option<Instant> {
        self.state().tokens.next_announcement()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_is_an_https_origin_or_loopback_http() {
        assert_eq!(
            resource_origin("https://lyncweb.contoso.com").unwrap(),
            "https://lyncweb.contoso.com"
        );
        assert_eq!(
            resource_origin("https://LyncWeb.contoso.com:443/").unwrap(),
            "https://lyncweb.contoso.com"
        );
        assert_eq!(
            resource_origin("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        for bad in [
            "",
            "lyncweb.contoso.com",
            "http://lyncweb.contoso.com",
            "https://lyncweb.contoso.com/ucwa",
            "https://lyncweb.contoso.com/?x=1",
            "https://u:p@lyncweb.contoso.com",
        ] {
            assert!(resource_origin(bad).is_err(), "{bad:?}");
        }
    }
}
