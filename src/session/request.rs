//! The authenticated exchange: one UCWA request with everything a request needs — the transport
//! check, this origin's token (renewed when due), the 401 challenge answered with the grant
//! `auth::choose_grant` picks (only for trusted origins), the other pool's 28032, and
//! Retry-After.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;
use url::Url;
use zeroize::Zeroizing;

use super::Session;
use crate::auth::{self, Challenge, Identity, UsableGrant};
use crate::error::{Error, Result, Step};
use crate::log::ucwa_log;
use crate::options::Options;
use crate::pacing;
use crate::security;
use crate::transport::{server_error, shown_url, Body, Exchange, Kept, Reply};

/// How many Retry-After waits one call honours before it gives up.
const MAX_RETRY_AFTER: u32 = 2;

/// A body that can be sent again on retry: JSON is serialized once, when the payload is made.
#[derive(Clone)]
pub enum Payload {
    Empty,
    Json(bytes::Bytes),
    /// A `multipart/batching` body: content type (with its boundary) and bytes.
    Batch(std::sync::Arc<str>, bytes::Bytes),
}

impl Payload {
    pub fn json(value: &Value) -> Payload {
        Payload::Json(bytes::Bytes::from(value.to_string()))
    }

    fn body(&self) -> Body {
        match self {
            Payload::Empty => Body::Empty,
            Payload::Json(b) => Body::Json(b.clone()),
            Payload::Batch(ct, b) => Body::Batch(ct.clone(), b.clone()),
        }
    }
}

impl Session {
    /// The per-request settings of this client for one exchange.
    pub(super) fn exchange<'a>(
        &'a self,
        opts: &'a Options,
        timeout: Duration,
    ) -> Result<Exchange<'a>> {
        Exchange::new(opts, timeout, &self.requests, &self.secrets)
    }

    /// One UCWA request with everything a request needs: the transport check, the token for
    /// this origin (renewed when due), the 401 challenge, Retry-After, and error mapping.
    pub async fn call(
        &self,
        step: Step,
        method: Method,
        url: &Url,
        payload: Payload,
    ) -> Result<Reply> {
        let opts = self.options();
        self.call_on(step, method, url, payload, &opts, opts.timeout, None)
            .await
    }

    /// [`Session::call`] with the caller's options and time bound, on a connection of the
    /// caller's own (the event channel's) instead of the pool; token requests still go through
    /// the pool.
    #[allow(clippy::too_many_arguments)]
    pub async fn call_kept(
        &self,
        step: Step,
        method: Method,
        url: &Url,
        payload: Payload,
        opts: &Options,
        timeout: Duration,
        kept: &Kept,
    ) -> Result<Reply> {
        self.call_on(step, method, url, payload, opts, timeout, Some(kept))
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn call_on(
        &self,
        step: Step,
        method: Method,
        url: &Url,
        payload: Payload,
        opts: &Options,
        timeout: Duration,
        kept: Option<&Kept>,
    ) -> Result<Reply> {
        security::check_transport(step, url)?;
        let origin = security::origin(url);
        let pooled = self.exchange(opts, timeout)?;
        // Token requests keep the ordinary timeout even when this call waits longer (a P-GET),
        // and go through the pool.
        let token_ex = pooled.with_timeout(opts.timeout);
        let ex = pooled.on(kept);
        let mut fresh_token = false;
        let mut waits = 0;
        loop {
            self.ensure_open()?;
            let (authorization, generation) = self.token_for(&token_ex, &origin).await;
            let reply = ex
                .send(
                    step,
                    method.clone(),
                    url,
                    authorization.as_ref().map(|a| a.as_str()),
                    payload.body(),
                )
                .await?;
            match reply.status {
                200..=299 | 304 => return Ok(reply),
                401 => {
                    let sent = authorization.is_some().then_some(generation);
                    let challenge = self.challenge_of(step, &origin, url, &reply, sent)?;
                    if fresh_token {
                        return Err(Error::Authentication {
                            step,
                            detail: format!(
                                "the server refused a token it had just issued [{}]",
                                url.path()
                            ),
                            http_status: Some(401),
                            diagnostics: reply.diagnostics(),
                        });
                    }
                    // Boxed, as the renewal in `token_for`: a parked P-GET sits in this
                    // future for minutes, and should not carry the room of a grant it rarely runs.
                    Box::pin(
                        self.authenticate(&token_ex, opts, &origin, &reply, &challenge, generation),
                    )
                    .await?;
                    fresh_token = true;
                }
                500 if !fresh_token
                    && authorization.is_some()
                    && reply
                        .header("x-ms-diagnostics")
                        .is_some_and(|d| d.trim_start().starts_with("28032")) =>
                {
                    // "The web ticket is invalid": a token from another pool. Drop it; the
                    // next attempt meets this pool's own challenge.
                    self.drop_foreign_token(step, &origin, generation);
                }
                429 | 503 if waits < MAX_RETRY_AFTER && reply.retry_after().is_some() => {
                    let wait = reply
                        .retry_after()
                        .unwrap_or_default()
                        .min(opts.retry_after_max);
                    waits += 1;
                    let (status, at) = (reply.status, shown_url(url));
                    ucwa_log!(Warn, &self.secrets, "{step}: {status} from {at}, Retry-After: retry {waits} of {MAX_RETRY_AFTER} in {wait:?}");
                    tokio::time::sleep(wait).await;
                }
                _ => return Err(server_error(step, &reply)),
            }
        }
    }

    /// Forgets a token that another pool issued (500 with X-Ms-Diagnostics 28032).
    fn drop_foreign_token(&self, step: Step, origin: &str, generation: u64) {
        ucwa_log!(Info, &self.secrets, "{step}: 500 28032 (a token of another pool) from {origin}: token dropped, asking again");
        self.state().tokens.drop_grant(origin, generation);
    }

    /// What a 401 to `url` asks for: the `MsRtcOAuth` challenge to answer, or the error that
    /// ends the call. Signed in with host tokens, the host is asked for one (`sent`: the
    /// generation of the host token the request carried).
    fn challenge_of(
        &self,
        step: Step,
        origin: &str,
        url: &Url,
        reply: &Reply,
        sent: Option<u64>,
    ) -> Result<Challenge> {
        let why = match sent {
            Some(_) => "token refused or expired, getting a new one",
            None => "challenged, signing in",
        };
        ucwa_log!(
            Info,
            &self.secrets,
            "{step}: 401 from {}: {why}",
            shown_url(url)
        );
        let offered = auth::parse_challenge(&reply.headers);
        let authorization_uri = offered
            .bearer
            .and_then(|b| b.authorization_uri)
            .map(|u| reply.server_text(&u));
        if self.state().tokens.with_tokens() {
            // The host is asked for a token only for an origin the password would be trusted
            // to: a foreign one's token source is not relayed.
            self.state()
                .tokens
                .trusted()
                .check_challenge(&reply.url, None)?;
            return Err(self.token_needed(step, origin, sent, authorization_uri, url.path()));
        }
        offered.ms_rtc_oauth.ok_or_else(|| {
            // A pool with modern authentication names where its tokens come from; say so,
            // since that is what an administrator (or a host that can acquire tokens) needs.
            let modern = authorization_uri
                .map(|uri| {
                    format!(
                        "; the server asks for a Bearer token from {uri} (modern authentication: acquire tokens there and sign in with sign_in_with_tokens)"
                    )
                })
                .unwrap_or_default();
            Error::Authentication {
                step,
                detail: format!(
                    "401 without an MsRtcOAuth challenge{modern} [{}]",
                    url.path()
                ),
                http_status: Some(401),
                diagnostics: reply.diagnostics(),
            }
        })
    }

    /// The Authorization value for an origin, renewing the token first when it is due.
    pub(super) async fn token_for(
        &self,
        ex: &Exchange<'_>,
        origin: &str,
    ) -> (Option<Zeroizing<String>>, u64) {
        let now = Instant::now();
        let held = self.state().tokens.grant_for(origin, now);
        match held {
            Some(((auth, generation), Some((token_url, grant)))) => {
                if Box::pin(self.renew(ex, origin, &token_url, generation, grant))
                    .await
                    .is_ok()
                {
                    if let Some((auth, generation)) = self.state().tokens.grant(origin) {
                        return (Some(auth), generation);
                    }
                }
                (Some(auth), generation)
            }
            Some(((auth, generation), None)) => (Some(auth), generation),
            // Signed in with host tokens: that origin's own token, never another's.
            None => {
                let host = self.state().tokens.host_for(origin, now);
                host.map_or((None, 0), |(auth, generation)| (Some(auth), generation))
            }
        }
    }

    /// Answers a challenge: checks where the password would go and where the token would be
    /// sent (`TrustedHosts::check_challenge`, the check host tokens pass too), chooses the
    /// grant (the one place that does), then runs it. A token is obtained only for an origin
    /// that itself passes the host check, so a foreign origin that reflects the real pool's
    /// challenge gets nothing.
    pub(super) async fn authenticate(
        &self,
        ex: &Exchange<'_>,
        opts: &Options,
        origin: &str,
        challenged: &Reply,
        challenge: &Challenge,
        seen_generation: u64,
    ) -> Result<()> {
        let challenged_url = &challenged.url;
        let token_url = challenged_url
            .join(&challenge.href)
            .map_err(|_| Error::Protocol {
                step: Step::Token,
                detail: "the MsRtcOAuth challenge's href is not a URL".into(),
                http_status: Some(401),
                path: challenged_url.path().to_string(),
            })?;
        security::check_transport(Step::Token, &token_url)?;
        let current_user = {
            let st = self.state();
            st.tokens
                .trusted()
                .check_challenge(challenged_url, Some(&token_url))?;
            st.tokens.signs_in_as_current_user()
        };
        let chosen = auth::choose_grant(opts.grant, challenge.grant_types.as_deref(), current_user);
        ucwa_log!(Info, &self.secrets, "grant for {origin}: {} (option grant={:?}, offered {:?}, current user: {current_user}); token endpoint {}",
            match &chosen { Ok(g) => format!("{g:?}"), Err(_) => "none usable".into() },
            opts.grant, challenge.grant_types, shown_url(&token_url));
        match chosen {
            Ok(grant) => {
                self.renew(ex, origin, &token_url, seen_generation, grant)
                    .await
            }
            Err(none) => Err(Error::Authentication {
                step: Step::Token,
                detail: format!(
                    "no usable grant: {}",
                    none.detail(|t| challenged.server_text(t))
                ),
                http_status: Some(challenged.status),
                diagnostics: challenged.diagnostics(),
            }),
        }
    }

    /// Gets a new token for `origin` unless another caller already replaced `seen_generation`.
    pub(super) async fn renew(
        &self,
        ex: &Exchange<'_>,
        origin: &str,
        token_url: &Url,
        seen_generation: u64,
        grant: UsableGrant,
    ) -> Result<()> {
        let _guard = self.auth_lock.lock().await;
        let begun = self
            .state()
            .tokens
            .begin_renewal(origin, seen_generation, Instant::now())?;
        let Some((identity, generation)) = begun else {
            return Ok(());
        };
        let floor = self.options().min_token_lifetime;
        let token = match (grant, &identity) {
            (UsableGrant::Password, Identity::Named { username, password }) => {
                let credentials = (username.as_str(), password.as_str());
                auth::password_grant(ex, token_url, credentials, generation, floor).await?
            }
            (UsableGrant::Password, Identity::CurrentUser) => {
                return Err(Error::Internal(
                    "the password grant was chosen for the current user".into(),
                ))
            }
            (UsableGrant::Windows, identity) => {
                auth::windows_grant(ex, token_url, identity, generation, floor).await?
            }
        };
        self.ensure_open()?;
        let short_run = self.state().tokens.store_grant(origin, token);
        if short_run >= pacing::SHORT_TOKEN_RUN {
            return Err(Error::Authentication {
                step: Step::Token,
                detail: format!(
                    "the token endpoint issued {short_run} tokens in a row that live less than {} s (min_token_lifetime_s); tokens are renewed no faster than that",
                    floor.as_secs_f64()
                ),
                http_status: None,
                diagnostics: None,
            });
        }
        Ok(())
    }

    /// The earliest moment a held token should be renewed, for the supervisor.
    pub fn next_renewal(&self) -> Option<(String, Url, u64, Instant)> {
        self.state().tokens.next_renewal()
    }

    /// Renews one origin's token now (the supervisor's ahead-of-time renewal).
    /// Runs the grant the held token came from; if it is gone meanwhile, the grant option's
    /// choice with no server list to narrow it.
    pub async fn renew_now(&self, origin: &str, token_url: &Url, generation: u64) -> Result<()> {
        let opts = self.options();
        let ex = self.exchange(&opts, opts.timeout)?;
        let (held, current_user) = {
            let st = self.state();
            (
                st.tokens.held_grant(origin),
                st.tokens.signs_in_as_current_user(),
            )
        };
        let grant = match held {
            Some(g) => g,
            None => auth::choose_grant(opts.grant, None, current_user).map_err(|none| {
                Error::Authentication {
                    step: Step::Token,
                    detail: format!("no usable grant: {}", none.detail(str::to_string)),
                    http_status: None,
                    diagnostics: None,
                }
            })?,
        };
        self.renew(&ex, origin, token_url, generation, grant).await
    }
}
