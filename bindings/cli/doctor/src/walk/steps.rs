//! The steps after discovery: the challenge and grants, the doctor's own token, the
//! library's sign-in and what it showed, then (after `session`) sign-out and the profile.

use std::io::Write;
use std::time::{Duration, Instant};

use ucwa::{Client, Error};

type Result<T> = std::result::Result<T, Error>;
use url::Url;

use super::{Doctor, WINDOWS};
use crate::advice::for_error;
use crate::observe::{absolute_hrefs, link_revisions, Trace};
use crate::probe;
use crate::report::Advice;

impl Doctor<'_> {
    pub(super) fn challenge(&mut self, user: &Url) -> Option<Url> {
        let answer = match self
            .rt
            .block_on(probe::send(self.http.trusted.get(user.clone())))
        {
            Ok(a) => a,
            Err(e) => {
                let advice = crate::advice::for_text(&e, None, &self.cx());
                self.r.fail(
                    "challenge",
                    &format!("the user resource did not answer: {e}"),
                    &advice,
                );
                return None;
            }
        };
        let c = probe::read_challenge(&answer, user);
        if c.status != 401 || c.lines.is_empty() {
            let advice = Advice::new(
                "the user resource is not protected by the UCWA OAuth challenge (a reverse proxy or a wrong URL answers)",
                "publish /Autodiscover and /ucwa of the pool's external web services unchanged through the reverse proxy",
            );
            self.r.fail(
                "challenge",
                &format!(
                    "an anonymous GET of the user resource got {} without a challenge",
                    c.status
                ),
                &advice,
            );
            return None;
        }
        self.obs.fold_challenges = Some(c.folded);
        self.obs.modern_auth = Some(c.modern);
        if !c.modern {
            self.obs.bearer_challenge = c.bearer.or(Some("standard"));
        }
        self.obs.grants = c.grants.clone();
        let shape = if c.folded {
            "folded into one line"
        } else {
            "one line per challenge"
        };
        let grants = c.grants.clone().unwrap_or_default();
        self.r.ok(
            "challenge",
            &format!(
                "401 with {} WWW-Authenticate line(s), {shape}; Bearer {}; grants offered: {}",
                c.lines.len(),
                c.bearer.unwrap_or("absent"),
                grants.join(", ")
            ),
        );
        if c.modern {
            let advice = Advice::new(
                "the pool uses modern authentication (ADFS or Azure AD): it offers no MsRtcOAuth grant",
                "get tokens from your identity provider and sign in with tokens (ucwa_sign_in_with_tokens); a password sign-in cannot work here",
            );
            self.r.fail("grant", "no MsRtcOAuth challenge", &advice);
            return None;
        }
        let token_href = c.token_href.clone()?;
        self.probe_grants(&grants, &token_href, user)?;
        Some(token_href)
    }

    /// The grant this run needs is offered; the Windows schemes; the invalid-token status.
    fn probe_grants(&mut self, grants: &[String], token_href: &Url, user: &Url) -> Option<()> {
        let has = |g: &str| grants.iter().any(|x| x.eq_ignore_ascii_case(g));
        let missing = match self.a.grant.as_str() {
            "password" if !has("password") => Some((
                "the pool does not offer the password grant",
                "use --grant windows (hosts: option grant=windows)",
            )),
            "windows" if !has(WINDOWS) => Some((
                "the pool does not offer the Windows grant",
                "use --grant password, or enable Windows authentication on the pool's web services",
            )),
            "auto" if !has("password") && !has(WINDOWS) => Some((
                "the pool offers neither the password nor the Windows grant",
                "enable one of them on the pool's OAuth (WebTicket) service",
            )),
            _ => None,
        };
        if let Some((cause, fix)) = missing {
            self.r.fail(
                "grant",
                &format!(
                    "grant {} not usable: offered {}",
                    self.a.grant,
                    grants.join(", ")
                ),
                &Advice::new(cause, fix),
            );
            return None;
        }
        if has(WINDOWS) {
            if let Ok(schemes) = self
                .rt
                .block_on(probe::windows_schemes(&self.http.trusted, token_href))
            {
                self.r.info(
                    "grant",
                    &format!("Windows grant schemes: {}", schemes.join(", ")),
                );
                if !schemes.is_empty() {
                    self.ntlm_target(token_href, &schemes);
                }
                self.obs.windows_auth = (!schemes.is_empty()).then_some(schemes);
            }
        }
        let bogus = "cwt=ucwa-doctor-not-a-token";
        if let Ok(a) = self.rt.block_on(probe::with_token(
            &self.http.trusted,
            reqwest::Method::GET,
            user,
            bogus,
            None,
        )) {
            self.r
                .info("token", &format!("an invalid token gets {}", a.status));
            self.obs.invalid_token_status = matches!(a.status, 401 | 403).then_some(a.status);
        }
        Some(())
    }

    /// The doctor's own password grant (when this run may use it): the token's lifetime and
    /// scope, and a token for the probes the library cannot make.
    pub(super) fn token(&mut self, token_href: &Url) -> bool {
        let offered = self
            .obs
            .grants
            .as_ref()
            .is_some_and(|g| g.iter().any(|x| x == "password"));
        if self.a.grant == "windows" || !offered {
            self.r.info(
                "token",
                "the Windows grant: the token is read from the library's sign-in",
            );
            return true;
        }
        let g = match self.rt.block_on(probe::password_grant(
            &self.http.trusted,
            token_href,
            &self.a.user,
            self.pw,
        )) {
            Ok(g) => g,
            Err(e) => {
                let advice = crate::advice::for_text(&e, None, &self.cx());
                self.r.fail(
                    "token",
                    &format!("the token endpoint did not answer: {e}"),
                    &advice,
                );
                return false;
            }
        };
        match (g.status, g.access_token) {
            (200, Some(t)) => {
                self.r.add_secret(&t);
                let life = g.expires_in.unwrap_or(0);
                self.r.ok(
                    "token",
                    &format!(
                        "password grant: lifetime {life} s, scope {}",
                        g.scope.as_deref().unwrap_or("-")
                    ),
                );
                self.obs.token_lifetime = g.expires_in;
                self.raw = Some((token_href.clone(), t, life, Instant::now()));
                true
            }
            (s, _) => {
                let text = format!(
                    "{} {}",
                    g.error.unwrap_or_default(),
                    g.diagnostics.unwrap_or_default()
                );
                let advice =
                    crate::advice::for_text(&text, Some(ucwa::Status::Authentication), &self.cx());
                self.r.fail(
                    "token",
                    &format!("the password grant was refused ({s}: {text})"),
                    &advice,
                );
                false
            }
        }
    }

    pub(super) fn sign_in(&mut self) -> Option<Client> {
        // A second grant at least a second after the first shows whether tickets are cached.
        if let Some((.., at)) = &self.raw {
            let wait = Duration::from_millis(1200).saturating_sub(at.elapsed());
            std::thread::sleep(wait);
        }
        let c = match self.client() {
            Ok(c) => c,
            Err(e) => {
                let advice = for_error(&e, &self.cx());
                self.r.fail(
                    "sign-in",
                    &format!("the client could not be set up: {e}"),
                    &advice,
                );
                return None;
            }
        };
        if let Err(e) = c.sign_in(&self.a.user, self.pw) {
            let advice = for_error(&e, &self.cx());
            self.r.fail("sign-in", &e.to_string(), &advice);
            return None;
        }
        self.after_sign_in();
        Some(c)
    }

    fn client(&self) -> Result<Client> {
        let c = Client::new(&self.a.server)?;
        c.set_option("timeout_ms", &self.a.timeout.as_millis().to_string())?;
        if let Some(f) = &self.a.ca_file {
            c.set_option("ca_file", &f.to_string_lossy())?;
        }
        c.set_option("transcript", &self.transcript.to_string_lossy())?;
        c.set_option("grant", &self.a.grant)?;
        c.set_option(
            "event_timeout_s",
            &self.a.max_wait.as_secs().max(1).to_string(),
        )?;
        Ok(c)
    }

    /// What the library's sign-in showed: the token, the pool, the application.
    fn after_sign_in(&mut self) {
        let trace = Trace::read(&self.transcript);
        let grants = trace.grants();
        for (url, life, scope) in &grants {
            let origin = url.origin().ascii_serialization();
            let scope = scope.as_deref().unwrap_or("-");
            self.r.ok(
                "sign-in",
                &format!("token from {origin}: lifetime {life} s, scope {scope}"),
            );
        }
        if let Some((_, life, _)) = grants.first() {
            if self.obs.token_lifetime.is_none() {
                self.obs.token_lifetime = Some(*life);
            }
        }
        if let Some((raw_url, _, raw_life, _)) = &self.raw {
            if let Some((_, life, _)) = grants.iter().find(|(u, ..)| u == raw_url) {
                self.obs.fresh_tickets = Some(life >= raw_life);
                let how = if life >= raw_life {
                    "every grant gets the full lifetime"
                } else {
                    "a second grant gets the cached ticket's remaining lifetime"
                };
                self.r.info("token", how);
            }
        }
        let users = trace.user_answers();
        let redirect = users
            .iter()
            .find_map(|(_, b)| b["_links"]["redirect"]["href"].as_str().map(str::to_string));
        let app = trace.application_post();
        let user_origin = users.first().map(|(u, _)| u.origin());
        let app_origin = app.as_ref().map(|(u, ..)| u.origin());
        self.obs.pool2_user = Some(redirect.is_some());
        self.obs.pool2_apps_user =
            Some(redirect.is_none() && user_origin.is_some() && user_origin != app_origin);
        if let Some((url, status, _, resource)) = &app {
            let host = url.origin().ascii_serialization();
            let change = if redirect.is_some() {
                " (pool change: the user resource redirected there)"
            } else if self.obs.pool2_apps_user == Some(true) {
                " (pool change: applications on another pool)"
            } else {
                ""
            };
            self.r.ok("pool", &format!("{host}{change}"));
            self.r.ok("application", &format!("created ({status})"));
            self.obs.absolute_hrefs = absolute_hrefs(resource);
            self.obs.link_revisions = link_revisions(resource);
        }
    }

    pub(super) fn sign_out(&mut self, c: &Client) {
        let result = c.sign_out();
        let status = Trace::read(&self.transcript).delete_status();
        let shown = status.map_or("no DELETE answered".to_string(), |s| {
            format!("the application's DELETE got {s}")
        });
        match result {
            Ok(()) if status.is_some_and(|s| (200..300).contains(&s) || s == 404) => {
                self.r.ok("sign-out", &shown)
            }
            other => {
                let why = other.err().map(|e| format!(": {e}")).unwrap_or_default();
                let advice = Advice::new(
                    "the application was not deleted by sign-out",
                    "it expires on the server by itself within minutes (no P-GET keeps it); if this repeats, run again with --transcript and send the transcript",
                );
                self.r.fail("sign-out", &format!("{shown}{why}"), &advice);
            }
        }
        if Trace::read(&self.transcript).version_header() {
            self.obs.ucwa_version_header = Some(true);
        }
    }

    /// Prints the profile (its command line last) and writes it beside the transcript.
    pub(super) fn profile(&mut self, err: &mut dyn Write) {
        let lines = self.obs.lines(&self.a.user);
        self.r.line("");
        for l in &lines {
            self.r.line(l);
        }
        if let Some(t) = &self.a.transcript {
            let path = format!("{}.ucwa-sim", t.display());
            let text: String = lines.iter().map(|l| self.r.scrub(l) + "\n").collect();
            if let Err(e) = std::fs::write(&path, text) {
                let _ = writeln!(err, "ucwa-doctor: cannot write the profile to {path}: {e}");
            }
        }
    }
}
