//! The steps after discovery: the challenge and grants, the doctor's own token, then the
//! library's sign-in, the session's checks (each restored as found), sign-out, and the
//! profile.

use std::io::Write;
use std::time::{Duration, Instant};

use ucwa::{Availability, Client, Error, EventKind};

type Result<T> = std::result::Result<T, Error>;
use url::Url;

use super::{Doctor, WINDOWS};
use crate::advice::for_error;
use crate::observe::{absolute_hrefs, link_revisions, Trace};
use crate::probe;
use crate::report::Advice;

/// A note and location the doctor sets for a moment (then restores what it found).
const CHECK_TEXT: &str = "ucwa-doctor check";

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

    pub(super) fn session(&mut self, c: &Client) {
        let step = |d: &mut Self, name: &str, r: Result<String>| match r {
            Ok(text) => d.r.ok(name, &text),
            Err(e) => {
                let advice = for_error(&e, &d.cx());
                d.r.fail(name, &e.to_string(), &advice);
            }
        };
        let made = c.make_me_available(Availability::Unspecified);
        let ok = made.is_ok();
        step(
            self,
            "makeMeAvailable",
            made.map(|_| "the user is available".into()),
        );
        if !ok {
            return;
        }
        let found = (c.presence(), c.note(), c.location());
        let (Ok(p), Ok(note), Ok(location)) = found else {
            step(
                self,
                "presence read",
                Err(ucwa::Error::InvalidState(
                    "presence, note or location could not be read".into(),
                )),
            );
            return;
        };
        self.r
            .info("presence", &format!("as found: {:?}", p.availability));
        let target = if p.availability == Availability::Busy {
            Availability::Away
        } else {
            Availability::Busy
        };
        let set = c.set_availability(target).and_then(|_| c.presence());
        step(
            self,
            "presence",
            set.and_then(|q| read_back(format!("{target:?}"), format!("{:?}", q.availability))),
        );
        let n = c.set_note(CHECK_TEXT).and_then(|_| c.note());
        step(
            self,
            "note",
            n.and_then(|v| read_back(CHECK_TEXT.into(), v.unwrap_or_default())),
        );
        let l = c.set_location(CHECK_TEXT).and_then(|_| c.location());
        step(
            self,
            "location",
            l.and_then(|v| read_back(CHECK_TEXT.into(), v.unwrap_or_default())),
        );
        step(
            self,
            "reportMyActivity",
            c.report_activity().map(|_| "accepted".into()),
        );
        self.raw_probes();
        self.events(c);
        if let Some(contact) = self.a.contact.clone() {
            let r = c
                .contact_presence(&contact)
                .map(|q| format!("{contact}: {:?}", q.availability));
            step(self, "contact", r);
        }
        let restored = restore(c, p.availability, note.as_deref(), location.as_deref());
        step(
            self,
            "restore",
            restored.map(|_| "presence, note and location as found".into()),
        );
    }

    /// With the doctor's own token: the status of a re-POST of the application (same pool), or
    /// of this pool's token on the other pool (after a pool change).
    fn raw_probes(&mut self) {
        let Some((token_url, token, ..)) = self.raw.clone() else {
            return;
        };
        let Some((apps, _, body, _)) = Trace::read(&self.transcript).application_post() else {
            return;
        };
        if apps.origin() == token_url.origin() {
            let r = self.rt.block_on(probe::with_token(
                &self.http.trusted,
                reqwest::Method::POST,
                &apps,
                &token,
                Some(&body),
            ));
            if let Ok(a) = r {
                self.r.info(
                    "application",
                    &format!("a re-POST with the same endpointId gets {}", a.status),
                );
                self.obs.repost_status = matches!(a.status, 200 | 201).then_some(a.status);
            }
        } else {
            let r = self.rt.block_on(probe::with_token(
                &self.http.trusted,
                reqwest::Method::GET,
                &apps,
                &token,
                None,
            ));
            if let Ok(a) = r {
                self.r.info(
                    "pool",
                    &format!(
                        "the first pool's token gets {} on the user's pool",
                        a.status
                    ),
                );
                self.obs.foreign_token_status = matches!(a.status, 401 | 500).then_some(a.status);
            }
        }
    }

    fn events(&mut self, c: &Client) {
        let deadline = Instant::now() + self.a.max_wait;
        let mut kinds: Vec<EventKind> = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match c.next_event(left.min(Duration::from_millis(250))) {
                Ok(Some(e)) if !kinds.contains(&e.kind()) => kinds.push(e.kind()),
                Ok(_) => {}
                Err(_) => break,
            }
            let answered = Trace::read(&self.transcript)
                .pgets()
                .iter()
                .filter(|(s, _)| *s == 200)
                .count();
            if !kinds.is_empty() && answered >= 2 {
                break;
            }
        }
        let trace = Trace::read(&self.transcript);
        let pgets = trace.pgets();
        let held = pgets.iter().map(|(_, ms)| *ms).max().unwrap_or(0);
        self.obs.empty_events = trace.empty_events();
        self.obs.embed_self_events = trace.embed_self_events();
        if kinds.is_empty() && pgets.is_empty() {
            let advice = Advice::new(
                "no P-GET of the event channel was answered and no event arrived: a reverse proxy or load balancer buffers or cuts long requests",
                "let /ucwa requests run for at least 180 s unbuffered on the reverse proxy and load balancer; or raise --max-wait-s",
            );
            self.r.fail(
                "event channel",
                &format!("nothing within {} s", self.a.max_wait.as_secs()),
                &advice,
            );
            return;
        }
        let names: Vec<String> = kinds.iter().map(|k| format!("{k:?}")).collect();
        self.r.ok(
            "event channel",
            &format!("first events: {}; {} P-GET(s) answered, the longest held {:.1} s (asked timeout={} s)", if names.is_empty() { "none".into() } else { names.join(", ") }, pgets.len(), held as f64 / 1000.0, self.a.max_wait.as_secs().max(1)),
        );
    }

    pub(super) fn sign_out(&mut self, c: &Client) {
        match c.sign_out() {
            Ok(()) => {
                let status = Trace::read(&self.transcript).delete_status();
                let shown = status.map_or("no DELETE seen".to_string(), |s| {
                    format!("the application's DELETE got {s}")
                });
                if status.is_some_and(|s| (200..300).contains(&s) || s == 404) {
                    self.r.ok("sign-out", &shown);
                } else {
                    let advice = Advice::new("the application was not deleted", "it expires on the server by itself within minutes; run again with --transcript to see the answer");
                    self.r.fail("sign-out", &shown, &advice);
                }
            }
            Err(e) => {
                let advice = for_error(&e, &self.cx());
                self.r.fail("sign-out", &e.to_string(), &advice);
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

fn read_back(want: String, got: String) -> Result<String> {
    if want == got {
        Ok(format!("set {want}, read back {got}"))
    } else {
        Err(ucwa::Error::InvalidState(format!(
            "set {want} but read back {got}"
        )))
    }
}

/// Puts presence, note and location back as they were found.
fn restore(c: &Client, a: Availability, note: Option<&str>, location: Option<&str>) -> Result<()> {
    let settable = matches!(
        a,
        Availability::Online
            | Availability::Busy
            | Availability::DoNotDisturb
            | Availability::BeRightBack
            | Availability::Away
            | Availability::OffWork
    );
    if settable {
        c.set_availability(a)?;
    } else {
        c.reset_availability()?;
    }
    c.set_note(note.unwrap_or(""))?;
    c.set_location(location.unwrap_or(""))
}
