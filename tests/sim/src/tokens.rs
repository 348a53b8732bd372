//! Tokens, in one place: the token endpoint (the password grant as IIS answers it, and the
//! dispatch of the Windows grant to [`crate::windows`]), what each token request did for the
//! token log, issuing and minting web tickets (cached tickets share their end, as real servers
//! seem to), authenticating a request's bearer token (the 401 challenge, the other pool's
//! 28032, the Online-style 403), expiring tokens from the control API, and the user-name forms
//! a grant accepts.

use std::time::Instant;

use serde_json::json;

use crate::handlers::{require, Outcome};
use crate::http::{Req, Resp};
use crate::state::{random_base64url, secs, user_key, Pool, PoolKind, Shared, State, Token};
use crate::types::{LogEntry, MintedToken, TokenLogEntry};

/// The token of a `Bearer` `Authorization` header, if the request carries one.
pub(crate) fn bearer_token(req: &Req) -> Option<&str> {
    let value = req.header("authorization")?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn oauth_error(error: &str) -> Resp {
    Resp::json_plain(400, &json!({ "error": error }))
}

/// What one token request did, for the token log; the pipeline adds seq, pool, connection and
/// status when it logs the request.
#[derive(Debug, Default)]
pub(crate) struct TokenNote {
    pub grant: Option<String>,
    pub scheme: Option<&'static str>,
    pub spnego: bool,
    pub leg: Option<&'static str>,
    pub ntlm_user: Option<String>,
    pub ntlm_domain: Option<String>,
    pub outcome: String,
}

impl TokenNote {
    pub(crate) fn entry(self, log: &LogEntry, conn: u64) -> TokenLogEntry {
        TokenLogEntry {
            seq: log.seq,
            pool: log.pool.clone(),
            conn,
            grant: self.grant,
            scheme: self.scheme.map(str::to_owned),
            spnego: self.spnego,
            leg: self.leg.map(str::to_owned),
            ntlm_user: self.ntlm_user,
            ntlm_domain: self.ntlm_domain,
            outcome: self.outcome,
            status: log.status,
        }
    }
}

/// The token endpoint: the password grant, the Windows grant (NTLM or Negotiate on the
/// request, see [`crate::windows`]) and the passive grant's pointer, answered as IIS does.
pub(crate) fn endpoint(shared: &Shared, pool: &Pool, req: &Req) -> Outcome {
    let form: Vec<(String, String)> = form_urlencoded::parse(&req.body)
        .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let grant = field("grant_type");
    let username = field("username");
    // Every answer but the Windows grant's own: the JSON ones with no-store.
    let outcome = |resp: Resp, why: String| {
        let mut o = Outcome::new(no_store(resp), username.clone());
        o.token = Some(Box::new(TokenNote {
            grant: grant.clone(),
            outcome: why,
            ..TokenNote::default()
        }));
        o
    };
    if let Err(r) = require(req, &["POST"]) {
        let mut o = Outcome::anon(r);
        o.token = Some(Box::new(TokenNote {
            outcome: "refused: method not allowed".to_owned(),
            ..TokenNote::default()
        }));
        return o;
    }
    let error = |e: &str| outcome(oauth_error(e), format!("refused: {e}"));
    if !req
        .content_type()
        .contains("application/x-www-form-urlencoded")
    {
        return error("invalid_request");
    }
    let Some(grant_type) = grant.as_deref() else {
        return error("invalid_request");
    };
    let offered = |g: &str| shared.config.grants.iter().any(|x| x == g);
    let refused = || {
        outcome(
            unsupported_grant(pool),
            "refused: unsupported_grant_type".to_owned(),
        )
    };
    match grant_type {
        // A pool whose challenge does not offer a grant refuses it (Online answered so for the
        // password grant: wapacro#3, skype-docs#282). The other grants keep their fixed answers.
        "password" | WINDOWS_GRANT if !offered(grant_type) => refused(),
        WINDOWS_GRANT => crate::windows::grant(shared, pool, req),
        "password" => {
            let (Some(name), Some(password)) = (username.clone(), field("password")) else {
                return error("invalid_request");
            };
            let (resp, why) = password_grant(shared, pool, &name, &password);
            outcome(resp, why)
        }
        "urn:microsoft.rtc:passive" => outcome(
            Resp::json_plain(
                400,
                &json!({
                    "error": "invalid_grant",
                    "ms_rtc_passiveauthuri": pool.paths.abs("/passiveauth/PassiveAuth.aspx"),
                }),
            ),
            "refused: passive grant (pointer to the passive page)".to_owned(),
        ),
        _ => refused(),
    }
}

fn no_store(r: Resp) -> Resp {
    r.with_header("Cache-Control", "no-store")
        .with_header("Pragma", "no-cache")
}

/// A grant type this pool does not offer (28029).
fn unsupported_grant(pool: &Pool) -> Resp {
    oauth_error("unsupported_grant_type").with_header(
        "X-Ms-diagnostics",
        &format!(
            "28029;source=\"{}\";reason=\"Authentication type not allowed.\"",
            pool.fqdn()
        ),
    )
}

/// The password grant: the token answer, or `invalid_grant` (28020) for an unknown user or a
/// wrong password; with what happened, for the token log.
fn password_grant(shared: &Shared, pool: &Pool, name: &str, password: &str) -> (Resp, String) {
    let mut st = shared.lock();
    let key = shared.resolve_user_name(&st, name).unwrap_or_default();
    let why = match st.users.get(&key) {
        None => "refused: unknown user",
        Some(u) if u.password != password => "refused: bad password",
        Some(_) => {
            let (resp, user) = shared.grant_answer(&mut st, &key, pool);
            return (resp, format!("granted {user}"));
        }
    };
    let resp = oauth_error("invalid_grant").with_header(
        "X-Ms-diagnostics",
        &format!(
            "28020;source=\"{}\";reason=\"The user name or password is incorrect.\"",
            pool.fqdn()
        ),
    );
    (resp, why.to_owned())
}

/// The grant type of Windows (integrated) authentication.
pub(crate) const WINDOWS_GRANT: &str = "urn:microsoft.rtc:windows";

impl Shared {
    /// The `200` token answer of a successful grant (password or Windows) for a user key, with
    /// the user's configured name: one minting for both, so lifetimes and cached tickets
    /// behave the same whichever way the user signed in.
    pub(crate) fn grant_answer(&self, st: &mut State, key: &str, pool: &Pool) -> (Resp, String) {
        let (token, lifetime) = self.issue_token(st, key, pool.kind);
        // Integer seconds as real servers send; rounded up so a sub-second test lifetime
        // does not read as "already expired".
        let expires_in = if lifetime > 0.0 {
            lifetime.ceil() as u64
        } else {
            0
        };
        let name = st
            .users
            .get(key)
            .map(|u| u.name.clone())
            .unwrap_or_default();
        let resp = Resp::json_plain(
            200,
            &json!({
                "access_token": token,
                "expires_in": expires_in,
                "ms_rtc_identityscope": "local",
                "token_type": "Bearer",
            }),
        );
        (resp, name)
    }

    /// A password-grant token and its `expires_in` in seconds. Real servers hand out the
    /// remaining lifetime of a cached web ticket (28289, 27402 in captures, not 28800); here a
    /// grant within the first half of the user's current ticket on this pool shares its end,
    /// and a later one starts a new ticket so that renewing clients always gain time.
    pub(crate) fn issue_token(&self, st: &mut State, key: &str, pool: PoolKind) -> (String, f64) {
        let lifetime = secs(self.config.token_lifetime_s);
        let now = Instant::now();
        let ticket = (key.to_owned(), pool);
        let end = match st.tickets.get(&ticket) {
            Some(end) if !self.config.fresh_tickets && *end > now + lifetime / 2 => *end,
            _ => now + lifetime,
        };
        st.tickets.insert(ticket, end);
        let remaining = end.saturating_duration_since(now).as_secs_f64();
        let token = self.issue_token_for(st, key, pool, remaining);
        (token, remaining)
    }

    fn issue_token_for(
        &self,
        st: &mut State,
        key: &str,
        pool: PoolKind,
        lifetime_s: f64,
    ) -> String {
        let token = format!("cwt=AAEB{}", random_base64url(140));
        st.tokens.insert(
            token.clone(),
            Token {
                user_key: key.to_owned(),
                pool,
                expires_at: Instant::now() + secs(lifetime_s),
            },
        );
        token
    }

    /// A pool-1 token for a configured user with its own lifetime (control API `tokens`).
    /// `Err` says why not: unknown user (404) or an unusable lifetime (400).
    pub(crate) fn mint_token(
        &self,
        name: &str,
        lifetime_s: f64,
    ) -> Result<MintedToken, (u16, &'static str)> {
        if !lifetime_s.is_finite() || !(0.0..=1.0e9).contains(&lifetime_s) {
            return Err((400, "lifetime_s must be a number of seconds in [0, 1e9]"));
        }
        let key = user_key(name);
        let mut st = self.lock();
        if !st.users.contains_key(&key) {
            return Err((404, "unknown user"));
        }
        let access_token = self.issue_token_for(&mut st, &key, PoolKind::Pool1, lifetime_s);
        Ok(MintedToken {
            access_token,
            token_type: "Bearer".to_owned(),
            expires_in: lifetime_s,
            resource: self.pool1.paths.origin().to_owned(),
        })
    }

    /// The user a live pool-1 token belongs to, if it is one (the foreign listener logs whose
    /// token leaked to it).
    pub(crate) fn pool1_token_owner(&self, req: &Req) -> Option<String> {
        let token = bearer_token(req)?;
        let st = self.lock();
        let t = st.tokens.get(token)?;
        (t.pool == PoolKind::Pool1 && t.expires_at > Instant::now())
            .then(|| st.users.get(&t.user_key).map(|u| u.name.clone()))
            .flatten()
    }

    /// Checks `Authorization` against this pool. `Ok(user key)` or the answer to send.
    pub(crate) fn authenticate(
        &self,
        st: &mut State,
        pool: &Pool,
        req: &Req,
    ) -> Result<String, Resp> {
        let challenge = || pool.challenge(&self.domain);
        let Some(value) = req.header("authorization") else {
            return Err(challenge());
        };
        let mut parts = value.trim().splitn(2, ' ');
        let scheme = parts.next().unwrap_or("");
        let token = parts.next().unwrap_or("").trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return Err(challenge());
        }
        // A token that was sent but is not (or no longer) valid.
        let invalid = || {
            if self.config.invalid_token_status != 403 {
                return challenge();
            }
            let reason = "The OAuth token is invalid.";
            let mut r = challenge();
            r.status = 403;
            r.with_header("Warning", &format!("120 {} \"InvalidToken\"", pool.fqdn()))
                .with_header(
                    "X-Ms-diagnostics",
                    &format!(
                        "28055;source=\"{}\";reason=\"{reason}\";faultcode=\"wsse:FailedAuthentication\"",
                        pool.fqdn()
                    ),
                )
        };
        let now = Instant::now();
        let (key, token_pool, expired) = match st.tokens.get(token) {
            None => return Err(invalid()),
            Some(t) => (t.user_key.clone(), t.pool, t.expires_at <= now),
        };
        if expired {
            st.tokens.remove(token);
            return Err(invalid());
        }
        if token_pool != pool.kind {
            // A web ticket from another pool: the poptart blog's 500/28032, or a fresh challenge.
            if self.config.foreign_token_status == 500 {
                let mut page = Resp::html(
                    500,
                    "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \
                     \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\r\n\
                     <html xmlns=\"http://www.w3.org/1999/xhtml\">\r\n<head>\r\n\
                     <meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\"/>\r\n\
                     <title>500 - Internal server error.</title></head>\
                     <body><h1>500 - Internal server error.</h1></body></html>",
                );
                // As mattermost#9 captured it.
                page.set_header("Content-Type", "text/html; charset=iso-8859-1");
                return Err(page.with_header(
                    "X-Ms-diagnostics",
                    &format!(
                        "28032;source=\"{}\";reason=\"The web ticket is invalid.\"",
                        pool.fqdn()
                    ),
                ));
            }
            return Err(challenge());
        }
        Ok(key)
    }

    pub(crate) fn expire_tokens(&self, user: Option<&str>) {
        let mut st = self.lock();
        match user {
            None => {
                st.tokens.clear();
                st.tickets.clear();
            }
            Some(name) => {
                let key = user_key(name);
                st.tokens.retain(|_, t| t.user_key != key);
                st.tickets.retain(|(k, _), _| *k != key);
            }
        }
    }

    /// The user key a token-endpoint user name means: `user@domain`, `sip:user@domain`, or
    /// (unless `upn_only`) `DOMAIN\\user` with the configured NetBIOS domain, all
    /// case-insensitive, as real servers accept them for one account.
    pub(crate) fn resolve_user_name(&self, st: &State, name: &str) -> Option<String> {
        let name = name.trim();
        if let Some((domain, local)) = name.split_once('\\') {
            if self.config.upn_only || !domain.eq_ignore_ascii_case(&self.config.netbios_domain) {
                return None;
            }
            return st
                .users
                .keys()
                .find(|k| {
                    k.split_once('@')
                        .is_some_and(|(l, _)| l.eq_ignore_ascii_case(local))
                })
                .cloned();
        }
        let key = user_key(name);
        st.users.contains_key(&key).then_some(key)
    }
}
