//! One client's session, asynchronously: credentials, per-origin tokens, the application and
//! its links, the host's desired state, and every protocol operation with its synchronous
//! recovery (re-authenticate on 401, recreate on 404 ApplicationNotFound, honour Retry-After).
//!
//! State sits behind a short-held std mutex and is never locked across an await; operations that
//! must not run twice at once (token renewal, application recovery) take async locks and
//! compare generations, so concurrent callers recover once and then all retry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use url::Url;
use zeroize::Zeroizing;

use crate::auth::{self, parse_challenge, Challenge, Token};
use crate::discovery;
use crate::error::{Error, Result, Step};
use crate::events::EventQueue;
use crate::hal::Resource;
use crate::options::Options;
use crate::pacing::{self, Budget};
use crate::redact::Secrets;
use crate::security::{self, TrustedHosts};
use crate::transport::{server_error, Body, Exchange, Reply};
use crate::types::{Availability, ConnectionState, Event, Presence};

/// How many Retry-After waits one call honours before it gives up.
const MAX_RETRY_AFTER: u32 = 2;
/// How many user→redirect hops sign-in follows.
const MAX_USER_HOPS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not signed in (never, or signed out).
    Idle,
    /// An application exists; not yet made available.
    SignedIn,
    /// makeMeAvailable succeeded: presence can be read and set.
    Available,
}

/// Counts an operation in flight for as long as it lives, also when its future is dropped
/// half-way (a call that timed out).
struct InFlight<'a>(&'a AtomicU32);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a AtomicU32) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        InFlight(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A body that can be sent again on retry.
#[derive(Clone)]
pub enum Payload {
    Empty,
    Json(Value),
}

impl Payload {
    fn body(&self) -> Body {
        match self {
            Payload::Empty => Body::Empty,
            Payload::Json(v) => Body::Json(v.clone()),
        }
    }
}

/// The links of our application that operations follow; replaced whole on recovery.
#[derive(Debug, Clone)]
pub struct App {
    pub generation: u64,
    pub self_url: Url,
    pub events_url: Url,
    links: HashMap<String, Url>,
}

impl App {
    /// Collects links from the application and its embedded resources. Where the same rel
    /// appears twice, `me` wins, as the docs place presence links there.
    fn from_resource(res: &Resource, generation: u64) -> Result<App> {
        let self_url = res.require_link(Step::Application, "self")?;
        let events_url = res.require_link(Step::Application, "events")?;
        let mut links = HashMap::new();
        let rels = [
            "makeMeAvailable",
            "presence",
            "note",
            "location",
            "reportMyActivity",
        ];
        let me = res.embedded("me");
        let sources = [
            me.as_ref(),
            Some(res),
            res.embedded("communication").as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|r| {
            rels.iter()
                .filter_map(|rel| r.link(rel).map(|u| (rel.to_string(), u)))
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>();
        for found in sources.into_iter().rev() {
            links.extend(found);
        }
        Ok(App {
            generation,
            self_url,
            events_url,
            links,
        })
    }

    pub fn link(&self, rel: &str) -> Option<&Url> {
        self.links.get(rel)
    }
}

/// What the host asked for; re-applied after recovery.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    pub availability: Option<Availability>,
    pub note: Option<String>,
    pub location: Option<String>,
}

impl Desired {
    fn text_mut(&mut self, field: TextField) -> &mut Option<String> {
        match field {
            TextField::Note => &mut self.note,
            TextField::Location => &mut self.location,
        }
    }
}

/// The two free-text parts of presence, which work alike: a link, one property, POST to set,
/// an empty value to clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    Note,
    Location,
}

impl TextField {
    pub fn from_rel(rel: &str) -> Option<TextField> {
        match rel {
            "note" => Some(TextField::Note),
            "location" => Some(TextField::Location),
            _ => None,
        }
    }

    pub fn rel(self) -> &'static str {
        match self {
            TextField::Note => "note",
            TextField::Location => "location",
        }
    }

    fn property(self) -> &'static str {
        match self {
            TextField::Note => "message",
            TextField::Location => "location",
        }
    }

    pub fn step(self) -> Step {
        match self {
            TextField::Note => Step::Note,
            TextField::Location => Step::Location,
        }
    }

    /// The text a resource holds; empty means none.
    pub fn read(self, res: &Resource) -> Option<String> {
        res.str_prop(self.property())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    }
}

pub struct State {
    pub phase: Phase,
    /// Set by sign-out (and so by free) before its DELETE: from then on nothing may create an
    /// application or recover one, so our own DELETE can never be mistaken for a lost
    /// application and answered with a new one nobody deletes.
    pub ending: bool,
    /// Bumped at every sign-in; supervisor tasks of an older session stop.
    pub session: u64,
    username: Option<String>,
    password: Option<Zeroizing<String>>,
    trusted: TrustedHosts,
    applications_url: Option<Url>,
    tokens: HashMap<String, Token>,
    token_generation: u64,
    pub app: Option<App>,
    app_generation: u64,
    pub desired: Desired,
    /// How the server showed the host's availability when it differed (desired, shown).
    rendering: Option<(Availability, Availability)>,
    /// Applications recovery created recently: at most a handful per window.
    recreations: Budget,
    /// Tokens in a row that claimed to live less than the floor.
    short_tokens: u32,
    /// Stops the supervisor tasks of the current session.
    pub stop: Option<tokio::sync::watch::Sender<bool>>,
}

impl State {
    /// Drops everything secret and session-bound (sign-out, free, a 410).
    fn forget(&mut self) {
        self.phase = Phase::Idle;
        self.ending = false;
        self.username = None;
        self.password = None;
        self.tokens.clear();
        self.app = None;
        self.applications_url = None;
        self.desired = Desired::default();
        self.rendering = None;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
    }
}

pub struct Inner {
    candidates: Vec<Url>,
    /// Replaced whole on every change, so a call reads a consistent snapshot without copying.
    options: Mutex<Arc<Options>>,
    state: Mutex<State>,
    auth_lock: tokio::sync::Mutex<()>,
    recovery_lock: tokio::sync::Mutex<()>,
    /// Serializes sign-in, make-available and sign-out against each other.
    lifecycle_lock: tokio::sync::Mutex<()>,
    closed: AtomicBool,
    /// The password and tokens held now, scrubbed from every server text (see `redact`).
    secrets: Secrets,
    /// Host presence POSTs in flight; enforcement waits for them.
    presence_posts: AtomicU32,
    pub events: EventQueue,
    requests: AtomicU64,
}

impl Inner {
    pub fn new(server: &str) -> Result<Inner> {
        let candidates = discovery::candidates(server)?;
        let events = EventQueue::default();
        events.set_idle(true);
        Ok(Inner {
            candidates,
            options: Mutex::new(Arc::new(Options::default())),
            state: Mutex::new(State {
                phase: Phase::Idle,
                ending: false,
                session: 0,
                username: None,
                password: None,
                trusted: TrustedHosts::default(),
                applications_url: None,
                tokens: HashMap::new(),
                token_generation: 0,
                app: None,
                app_generation: 0,
                desired: Desired::default(),
                rendering: None,
                recreations: Budget::new(pacing::RECREATIONS, pacing::RECREATION_WINDOW),
                short_tokens: 0,
                stop: None,
            }),
            auth_lock: Default::default(),
            recovery_lock: Default::default(),
            lifecycle_lock: Default::default(),
            closed: AtomicBool::new(false),
            secrets: Secrets::default(),
            presence_posts: AtomicU32::new(0),
            events,
            requests: AtomicU64::new(0),
        })
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn options(&self) -> Arc<Options> {
        self.options
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_option(&self, key: &str, value: &str) -> Result<()> {
        let mut o = self.options.lock().unwrap_or_else(|p| p.into_inner());
        let mut updated = Options::clone(&o);
        updated.set(key, value)?;
        if key == "ca_file" {
            crate::engine::http_client(updated.ca.as_deref())?;
        }
        *o = Arc::new(updated);
        Ok(())
    }

    /// The per-request settings of this client for one exchange.
    fn exchange<'a>(
        &'a self,
        http: &'a reqwest::Client,
        opts: &'a Options,
        timeout: Duration,
    ) -> Exchange<'a> {
        Exchange {
            http,
            user_agent: &opts.user_agent,
            timeout,
            counter: &self.requests,
            max_body: opts.max_body,
            secrets: &self.secrets,
        }
    }

    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn ensure_open(&self) -> Result<()> {
        if self.is_closed() {
            Err(Error::InvalidState("the client was freed".into()))
        } else {
            Ok(())
        }
    }

    pub fn emit(&self, event: Event) {
        self.events.push(event);
    }

    /// Marks the client closed: every call in flight stops at its next step.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let mut st = self.state();
        st.forget();
        drop(st);
        self.secrets.clear();
        self.events.close();
    }

    /// Makes the scrubber hold exactly the secrets the session holds now.
    fn sync_secrets(&self, st: &State) {
        let tokens = st.tokens.values().flat_map(|t| t.secrets());
        let password = st.password.as_ref().map(|p| p.as_str());
        self.secrets.replace_all(password.into_iter().chain(tokens));
    }

    // ----- transport with authentication ------------------------------------------------

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
        self.call_with(step, method, url, payload, &opts, opts.timeout)
            .await
    }

    pub async fn call_with(
        &self,
        step: Step,
        method: Method,
        url: &Url,
        payload: Payload,
        opts: &Options,
        timeout: Duration,
    ) -> Result<Reply> {
        security::check_transport(step, url)?;
        let origin = security::origin(url);
        let http = crate::engine::http_client(opts.ca.as_deref())?;
        let ex = self.exchange(&http, opts, timeout);
        // Token requests keep the ordinary timeout even when this call waits longer (a P-GET).
        let token_ex = Exchange {
            timeout: opts.timeout,
            ..ex
        };
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
                .await;
            let reply = reply?;
            match reply.status {
                200..=299 | 304 => return Ok(reply),
                401 => {
                    let Some(challenge) = parse_challenge(&reply.headers) else {
                        return Err(Error::Authentication {
                            step,
                            detail: format!("401 without an MsRtcOAuth challenge [{}]", url.path()),
                            http_status: Some(401),
                            diagnostics: reply.diagnostics(),
                        });
                    };
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
                    self.authenticate(&token_ex, &origin, &reply.url, &challenge, generation)
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
                    self.drop_token(&origin, generation);
                }
                429 | 503 if waits < MAX_RETRY_AFTER && reply.retry_after().is_some() => {
                    let wait = reply
                        .retry_after()
                        .unwrap_or_default()
                        .min(opts.retry_after_max);
                    waits += 1;
                    tokio::time::sleep(wait).await;
                }
                _ => return Err(server_error(step, &reply)),
            }
        }
    }

    /// The Authorization value for an origin, renewing the token first when it is due.
    async fn token_for(&self, ex: &Exchange<'_>, origin: &str) -> (Option<Zeroizing<String>>, u64) {
        let (current, due) = {
            let st = self.state();
            match st.tokens.get(origin) {
                Some(t) => (
                    Some((t.authorization.clone(), t.generation, t.token_url.clone())),
                    Instant::now() >= t.renew_at(),
                ),
                None => (None, false),
            }
        };
        match current {
            Some((auth, generation, token_url)) if due => {
                if self.renew(ex, origin, &token_url, generation).await.is_ok() {
                    let st = self.state();
                    if let Some(t) = st.tokens.get(origin) {
                        return (Some(t.authorization.clone()), t.generation);
                    }
                }
                (Some(auth), generation)
            }
            Some((auth, generation, _)) => (Some(auth), generation),
            None => (None, 0),
        }
    }

    fn drop_token(&self, origin: &str, generation: u64) {
        let mut st = self.state();
        if st
            .tokens
            .get(origin)
            .is_some_and(|t| t.generation == generation)
        {
            st.tokens.remove(origin);
            self.sync_secrets(&st);
        }
    }

    /// Answers a challenge: checks where the password would go and where the token would be
    /// sent, then runs the password grant. A token is obtained only for an origin that itself
    /// passes the host check, so a foreign origin that reflects the real pool's challenge gets
    /// nothing.
    async fn authenticate(
        &self,
        ex: &Exchange<'_>,
        origin: &str,
        challenged_url: &Url,
        challenge: &Challenge,
        seen_generation: u64,
    ) -> Result<()> {
        let token_url = challenged_url
            .join(&challenge.href)
            .map_err(|_| Error::Protocol {
                step: Step::Token,
                detail: "the MsRtcOAuth challenge's href is not a URL".into(),
                http_status: Some(401),
                path: challenged_url.path().to_string(),
            })?;
        security::check_transport(Step::Token, &token_url)?;
        let trusted = self.state().trusted.clone();
        if !trusted.allows(challenged_url) {
            return Err(Error::Insecure {
                step: Step::Token,
                detail: format!(
                    "{} asked for a token (from {}); tokens are sent only to the sign-in domain, the discovery domain or an allowed host",
                    challenged_url.host_str().unwrap_or("?"),
                    token_url.host_str().unwrap_or("?")
                ),
            });
        }
        if !trusted.allows(&token_url) {
            return Err(Error::Insecure {
                step: Step::Token,
                detail: format!(
                    "{} asked for the password to be sent to {}, which is neither the sign-in domain, the discovery domain nor an allowed host",
                    challenged_url.host_str().unwrap_or("?"),
                    token_url.host_str().unwrap_or("?")
                ),
            });
        }
        if !challenge.grant_types.is_empty()
            && !challenge.grant_types.iter().any(|g| g == "password")
        {
            return Err(Error::Authentication {
                step: Step::Token,
                detail: format!(
                    "the server offers no password grant (it offers: {})",
                    challenge.grant_types.join(", ")
                ),
                http_status: Some(401),
                diagnostics: None,
            });
        }
        self.renew(ex, origin, &token_url, seen_generation).await
    }

    /// Gets a new token for `origin` unless another caller already replaced `seen_generation`.
    async fn renew(
        &self,
        ex: &Exchange<'_>,
        origin: &str,
        token_url: &Url,
        seen_generation: u64,
    ) -> Result<()> {
        let _guard = self.auth_lock.lock().await;
        let (username, password, generation) = {
            let mut st = self.state();
            if let Some(t) = st.tokens.get(origin) {
                if t.generation != seen_generation && Instant::now() < t.renew_at() {
                    return Ok(());
                }
            }
            let (Some(u), Some(p)) = (st.username.clone(), st.password.clone()) else {
                return Err(Error::InvalidState(
                    "not signed in: no credentials to authenticate with".into(),
                ));
            };
            st.token_generation += 1;
            (u, p, st.token_generation)
        };
        let floor = self.options().min_token_lifetime;
        let credentials = (username.as_str(), password.as_str());
        let token = auth::password_grant(ex, token_url, credentials, generation, floor).await?;
        self.ensure_open()?;
        let mut st = self.state();
        if token.is_short() {
            st.short_tokens += 1;
        } else {
            st.short_tokens = 0;
        }
        if st.password.is_some() {
            st.tokens.insert(origin.to_string(), token);
            self.sync_secrets(&st);
        }
        if st.short_tokens >= pacing::SHORT_TOKEN_RUN {
            return Err(Error::Authentication {
                step: Step::Token,
                detail: format!(
                    "the token endpoint issued {} tokens in a row that live less than {} s (min_token_lifetime_s); tokens are renewed no faster than that",
                    st.short_tokens,
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
        let st = self.state();
        st.tokens
            .iter()
            .map(|(o, t)| (o.clone(), t.token_url.clone(), t.generation, t.renew_at()))
            .min_by_key(|x| x.3)
    }

    /// Renews one origin's token now (the supervisor's ahead-of-time renewal).
    pub async fn renew_now(&self, origin: &str, token_url: &Url, generation: u64) -> Result<()> {
        let opts = self.options();
        let http = crate::engine::http_client(opts.ca.as_deref())?;
        let ex = self.exchange(&http, &opts, opts.timeout);
        self.renew(&ex, origin, token_url, generation).await
    }

    // ----- sign-in --------------------------------------------------------------------

    pub async fn sign_in(self: &Arc<Self>, username: &str, password: &str) -> Result<()> {
        let username = username.trim();
        let domain = username
            .trim_start_matches("sip:")
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .ok_or_else(|| {
                Error::InvalidArgument(
                    "username must be a sign-in address like user@contoso.com".into(),
                )
            })?;
        if password.is_empty() {
            return Err(Error::InvalidArgument("password is empty".into()));
        }
        let _life = self.lifecycle_lock.lock().await;
        self.ensure_open()?;
        let opts = self.options();
        {
            let mut st = self.state();
            if st.phase != Phase::Idle {
                return Err(Error::InvalidState(
                    "already signed in; sign out first".into(),
                ));
            }
            st.username = Some(username.trim_start_matches("sip:").to_string());
            st.password = Some(Zeroizing::new(password.to_string()));
            st.recreations.reset();
            st.short_tokens = 0;
            st.trusted =
                TrustedHosts::new(Some(&domain), self.candidates.first(), &opts.allowed_hosts);
            st.tokens.clear();
            st.desired = Desired::default();
            self.sync_secrets(&st);
        }
        match self.sign_in_steps(&opts).await {
            Ok(()) => Ok(()),
            Err(e) => {
                self.state().forget();
                self.secrets.clear();
                Err(e)
            }
        }
    }

    async fn sign_in_steps(self: &Arc<Self>, opts: &Options) -> Result<()> {
        let http = crate::engine::http_client(opts.ca.as_deref())?;
        let ex = self.exchange(&http, opts, opts.timeout);
        let trusted = self.state().trusted.clone();
        let user_url = discovery::discover(&ex, &self.candidates, &trusted).await?;
        let applications = self.resolve_user(user_url).await?;
        self.state().applications_url = Some(applications.clone());
        let app = self.create_application(&applications, opts).await?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let session = {
            let mut st = self.state();
            st.session += 1;
            st.app = Some(app);
            st.phase = Phase::SignedIn;
            st.stop = Some(stop_tx);
            st.session
        };
        self.events.set_idle(false);
        self.emit(Event::ConnectionStateChanged {
            state: ConnectionState::Connected,
            reason: None,
        });
        crate::supervisor::start(self.clone(), session, stop_rx);
        Ok(())
    }

    /// GET user (answering challenges), following `redirect` hops, to the applications URL.
    async fn resolve_user(&self, mut user_url: Url) -> Result<Url> {
        for _ in 0..MAX_USER_HOPS {
            let reply = self
                .call(Step::User, Method::GET, &user_url, Payload::Empty)
                .await?;
            let user = Resource::parse(Step::User, &user_url, &reply.body)?;
            if let Some(apps) = user.link("applications") {
                return Ok(apps);
            }
            let redirect = user.require_link(Step::User, "redirect")?;
            let reply = self
                .call(Step::User, Method::GET, &redirect, Payload::Empty)
                .await?;
            let redirect_res = Resource::parse(Step::User, &redirect, &reply.body)?;
            user_url = redirect_res.require_link(Step::User, "user")?;
        }
        Err(Error::Protocol {
            step: Step::User,
            detail: format!("more than {MAX_USER_HOPS} user redirects"),
            http_status: None,
            path: user_url.path().to_string(),
        })
    }

    async fn create_application(&self, applications: &Url, opts: &Options) -> Result<App> {
        let body = json!({
            "userAgent": opts.user_agent,
            "endpointId": opts.endpoint_id,
            "culture": opts.culture,
        });
        let reply = self
            .call(
                Step::Application,
                Method::POST,
                applications,
                Payload::Json(body),
            )
            .await?;
        let res = Resource::parse(Step::Application, applications, &reply.body)?;
        let generation = {
            let mut st = self.state();
            st.app_generation += 1;
            st.app_generation
        };
        App::from_resource(&res, generation)
    }

    /// GET application: refreshes the links (they appear after makeMeAvailable).
    async fn refresh_application(&self, app: &App) -> Result<App> {
        let reply = self
            .call(
                Step::Application,
                Method::GET,
                &app.self_url,
                Payload::Empty,
            )
            .await?;
        let res = Resource::parse(Step::Application, &app.self_url, &reply.body)?;
        App::from_resource(&res, app.generation)
    }

    // ----- makeMeAvailable ------------------------------------------------------------

    pub async fn make_me_available(&self, sign_in_as: Availability) -> Result<()> {
        let _life = self.lifecycle_lock.lock().await;
        self.ensure_open()?;
        let app = self.current_app(Step::MakeMeAvailable)?;
        let desired = (sign_in_as != Availability::Unspecified).then_some(sign_in_as);
        let opts = self.options();
        let result = self.make_available_on(&app, desired, &opts).await;
        let result = match result {
            Err(e) if e.is_application_gone() => {
                self.recover_application(app.generation, e, true).await?;
                // recovery made the new application available only if it was before
                let app = self.current_app(Step::MakeMeAvailable)?;
                self.make_available_on(&app, desired, &opts).await
            }
            other => other,
        };
        let refreshed = result?;
        let mut st = self.state();
        if st
            .app
            .as_ref()
            .is_some_and(|a| a.generation == refreshed.generation)
        {
            st.app = Some(refreshed);
            st.phase = Phase::Available;
            if desired.is_some() {
                st.desired.availability = desired;
            }
        }
        Ok(())
    }

    /// POST makeMeAvailable on one application and read back its links.
    async fn make_available_on(
        &self,
        app: &App,
        sign_in_as: Option<Availability>,
        opts: &Options,
    ) -> Result<App> {
        if let Some(mma) = app.link("makeMeAvailable") {
            let mut body = json!({ "supportedModalities": opts.modalities });
            if let Some(name) = sign_in_as.and_then(Availability::wire_name) {
                body["signInAs"] = json!(name);
            }
            match self
                .call(
                    Step::MakeMeAvailable,
                    Method::POST,
                    mma,
                    Payload::Json(body),
                )
                .await
            {
                Ok(_) => {}
                // Already available (e.g. a second call): the goal holds; read the links.
                Err(e) if e.is_subcode(409, "AlreadyExists") => {}
                Err(e) => return Err(e),
            }
        } else if app.link("presence").is_none() {
            return Err(Error::Protocol {
                step: Step::MakeMeAvailable,
                detail: "the application has neither a makeMeAvailable nor a presence link".into(),
                http_status: None,
                path: app.self_url.path().to_string(),
            });
        }
        let refreshed = self.refresh_application(app).await?;
        if refreshed.link("presence").is_none() {
            return Err(Error::Protocol {
                step: Step::MakeMeAvailable,
                detail: "no presence link after makeMeAvailable".into(),
                http_status: None,
                path: app.self_url.path().to_string(),
            });
        }
        Ok(refreshed)
    }

    pub fn current_app(&self, step: Step) -> Result<App> {
        let st = self.state();
        match (&st.phase, &st.app) {
            (Phase::Idle, _) | (_, None) => {
                Err(Error::InvalidState(format!("{step}: not signed in")))
            }
            (_, Some(app)) => Ok(app.clone()),
        }
    }

    fn available_app(&self, step: Step) -> Result<App> {
        let app = self.current_app(step)?;
        if self.state().phase != Phase::Available {
            return Err(Error::InvalidState(format!(
                "{step}: call make_me_available first"
            )));
        }
        Ok(app)
    }

    // ----- operations on the made-available application ---------------------------------

    /// A request to one of the application's links, recovering once from an application the
    /// server forgot (404) or a lost makeMeAvailable (409 MakeMeAvailableRequired).
    async fn app_call(
        &self,
        step: Step,
        rel: &str,
        method: Method,
        payload: Payload,
    ) -> Result<Reply> {
        for attempt in 0..2 {
            let app = self.available_app(step)?;
            let url = app.link(rel).cloned().ok_or_else(|| Error::Protocol {
                step,
                detail: format!("the application has no `{rel}` link"),
                http_status: None,
                path: app.self_url.path().to_string(),
            })?;
            match self.call(step, method.clone(), &url, payload.clone()).await {
                Err(e) if attempt == 0 && e.is_application_gone() => {
                    self.recover_application(app.generation, e, true).await?;
                }
                Err(e) if attempt == 0 && e.is_subcode(409, "MakeMeAvailableRequired") => {
                    self.restore_availability(app.generation, e, true).await?;
                }
                Err(e) if e.is_gone() => {
                    self.end_session(Some(e.clone()));
                    return Err(e);
                }
                other => return other,
            }
        }
        Err(Error::Internal("app_call retried past its bound".into()))
    }

    pub async fn set_availability(&self, a: Availability) -> Result<()> {
        let name = a
            .wire_name()
            .filter(|_| a.is_settable())
            .ok_or_else(|| Error::InvalidArgument(format!("availability {a:?} cannot be set")))?;
        self.available_app(Step::SetPresence)?;
        self.post_availability(Some(a), Payload::Json(json!({ "availability": name })))
            .await
    }

    pub async fn reset_availability(&self) -> Result<()> {
        self.post_availability(None, Payload::Empty).await
    }

    /// POSTs presence with the desired availability recorded *before* the request: the
    /// confirmation event can overtake the response, and the supervisor must not mistake the
    /// host's own change for one made elsewhere. A failed POST restores the previous choice.
    async fn post_availability(
        &self,
        desired: Option<Availability>,
        payload: Payload,
    ) -> Result<()> {
        let previous = std::mem::replace(&mut self.state().desired.availability, desired);
        let in_flight = InFlight::enter(&self.presence_posts);
        let result = self
            .app_call(Step::SetPresence, "presence", Method::POST, payload)
            .await;
        drop(in_flight);
        if result.is_err() {
            let mut st = self.state();
            if st.desired.availability == desired {
                st.desired.availability = previous;
            }
        }
        result.map(|_| ())
    }

    pub async fn get_presence(&self) -> Result<Presence> {
        let reply = self
            .app_call(Step::GetPresence, "presence", Method::GET, Payload::Empty)
            .await?;
        parse_presence(Step::GetPresence, &reply)
    }

    /// Sets the note or the location; `""` clears it. It joins the desired state.
    pub async fn set_text(&self, field: TextField, value: &str) -> Result<()> {
        let body = json!({ field.property(): value });
        self.app_call(field.step(), field.rel(), Method::POST, Payload::Json(body))
            .await?;
        *self.state().desired.text_mut(field) = Some(value.to_string());
        Ok(())
    }

    pub async fn get_text(&self, field: TextField) -> Result<Option<String>> {
        let reply = self
            .app_call(field.step(), field.rel(), Method::GET, Payload::Empty)
            .await?;
        let res = Resource::parse(field.step(), &reply.url, &reply.body)?;
        Ok(field.read(&res))
    }

    pub async fn report_activity(&self) -> Result<()> {
        self.app_call(
            Step::ReportActivity,
            "reportMyActivity",
            Method::POST,
            Payload::Empty,
        )
        .await
        .map(|_| ())
    }

    // ----- recovery ------------------------------------------------------------------

    /// Recreates the application the server forgot and, if the host had made it available,
    /// makes it available again and re-applies the desired note and location. Runs once for
    /// concurrent callers: whoever comes second sees a newer generation and returns.
    pub async fn recover_application(
        &self,
        seen_generation: u64,
        cause: Error,
        announce: bool,
    ) -> Result<()> {
        let _guard = self.recovery_lock.lock().await;
        let (applications, was_available, desired) = {
            let mut st = self.state();
            match &st.app {
                _ if st.ending => return Err(Error::InvalidState("signing out".into())),
                Some(app) if app.generation != seen_generation => return Ok(()),
                None => return Err(Error::InvalidState("not signed in".into())),
                Some(_) => {}
            }
            if let Err(wait) = st.recreations.take(Instant::now()) {
                return Err(Error::InvalidState(format!(
                    "the application was lost {} times within {} minutes; the next one is recreated in {} s",
                    pacing::RECREATIONS,
                    pacing::RECREATION_WINDOW.as_secs() / 60,
                    wait.as_secs().max(1)
                )));
            }
            (
                st.applications_url.clone(),
                st.phase == Phase::Available,
                st.desired.clone(),
            )
        };
        let applications =
            applications.ok_or_else(|| Error::InvalidState("not signed in".into()))?;
        if announce {
            self.emit(Event::ConnectionStateChanged {
                state: ConnectionState::Recovering,
                reason: Some(cause),
            });
        }
        let opts = self.options();
        let mut app = self.create_application(&applications, &opts).await?;
        let authorization = {
            let st = self.state();
            let origin = security::origin(&app.self_url);
            st.tokens.get(&origin).map(|t| t.authorization.clone())
        };
        if was_available {
            app = match self
                .make_available_on(&app, desired.availability, &opts)
                .await
            {
                Ok(a) => a,
                Err(e) => {
                    // Keep it as the session's: the next recovery or sign-out deletes it.
                    self.adopt_or_delete(app, authorization).await;
                    return Err(e);
                }
            };
        }
        if !self.adopt_or_delete(app.clone(), authorization).await {
            return Err(Error::InvalidState("signed out during recovery".into()));
        }
        if was_available {
            self.reapply_desired(&app, &desired).await?;
        }
        self.emit(Event::ApplicationRecreated);
        self.emit(Event::ConnectionStateChanged {
            state: ConnectionState::Recovered,
            reason: None,
        });
        Ok(())
    }

    /// Makes a freshly created application the session's, unless the session ended meanwhile
    /// (signed out or freed while recovery ran): then it is deleted at once with the token it
    /// was created with, so recovery never leaves an application behind.
    async fn adopt_or_delete(&self, app: App, authorization: Option<Zeroizing<String>>) -> bool {
        {
            let mut st = self.state();
            if st.phase != Phase::Idle && !st.ending && !self.is_closed() {
                st.app = Some(app);
                return true;
            }
        }
        let opts = self.options();
        if let Ok(http) = crate::engine::http_client(opts.ca.as_deref()) {
            let ex = self.exchange(&http, &opts, opts.timeout);
            let auth = authorization.as_ref().map(|a| a.as_str());
            let _ = ex
                .send(
                    Step::SignOut,
                    Method::DELETE,
                    &app.self_url,
                    auth,
                    Body::Empty,
                )
                .await;
        }
        false
    }

    /// How long until recovery may create another application, when its budget is used up.
    pub fn recreation_wait(&self) -> Option<Duration> {
        let wait = self.state().recreations.wait(Instant::now());
        (!wait.is_zero()).then_some(wait)
    }

    /// makeMeAvailable again on the same application (the server put it back in lurker mode).
    pub async fn restore_availability(
        &self,
        seen_generation: u64,
        cause: Error,
        announce: bool,
    ) -> Result<()> {
        let _guard = self.recovery_lock.lock().await;
        let (app, desired) = {
            let st = self.state();
            match &st.app {
                _ if st.ending => return Err(Error::InvalidState("signing out".into())),
                Some(app) if app.generation == seen_generation => (app.clone(), st.desired.clone()),
                Some(_) => return Ok(()),
                None => return Err(Error::InvalidState("not signed in".into())),
            }
        };
        if announce {
            self.emit(Event::ConnectionStateChanged {
                state: ConnectionState::Recovering,
                reason: Some(cause),
            });
        }
        let opts = self.options();
        let app = self
            .make_available_on(&app, desired.availability, &opts)
            .await?;
        self.state().app = Some(app.clone());
        self.reapply_desired(&app, &desired).await?;
        self.emit(Event::ConnectionStateChanged {
            state: ConnectionState::Recovered,
            reason: None,
        });
        Ok(())
    }

    async fn reapply_desired(&self, app: &App, desired: &Desired) -> Result<()> {
        let mut posts = Vec::new();
        if let (Some(a), Some(url)) = (
            desired.availability.and_then(Availability::wire_name),
            app.link("presence"),
        ) {
            posts.push((Step::SetPresence, url, json!({ "availability": a })));
        }
        for (field, text) in [
            (TextField::Note, &desired.note),
            (TextField::Location, &desired.location),
        ] {
            if let (Some(t), Some(url)) = (
                text.as_ref().filter(|t| !t.is_empty()),
                app.link(field.rel()),
            ) {
                posts.push((field.step(), url, json!({ field.property(): t })));
            }
        }
        for (step, url, body) in posts {
            self.call(step, Method::POST, url, Payload::Json(body))
                .await?;
        }
        Ok(())
    }

    /// enforce_presence: after an event showed something other than the host's availability,
    /// checks the server's current presence (events can be stale echoes of the host's own
    /// earlier changes) and POSTs the host's availability again if it really differs. A server
    /// that shows a chosen value differently (e.g. Offwork read back as Away) is remembered,
    /// so enforcement never loops.
    pub async fn enforce_availability(&self) -> Result<()> {
        if self.presence_posts.load(Ordering::Acquire) > 0 {
            return Ok(()); // the host's own change decides
        }
        let Some(desired) = self.state().desired.availability else {
            return Ok(());
        };
        let shown_as = |st: &State, seen: Availability| st.rendering == Some((desired, seen));
        let now = self.get_presence().await?.availability;
        if now == desired
            || matches!(now, Availability::IdleOnline | Availability::IdleBusy)
            || shown_as(&self.state(), now)
        {
            return Ok(());
        }
        // The host may have chosen again while we looked: its choice wins.
        if self.presence_posts.load(Ordering::Acquire) > 0
            || self.state().desired.availability != Some(desired)
        {
            return Ok(());
        }
        self.set_availability(desired).await?;
        let after = self.get_presence().await?.availability;
        if after != desired {
            self.state().rendering = Some((desired, after));
        }
        Ok(())
    }

    /// The session ended without the host asking (a 410): tell the host, drop the secrets.
    pub fn end_session(&self, reason: Option<Error>) {
        let was_active = {
            let mut st = self.state();
            let active = st.phase != Phase::Idle;
            st.forget();
            active
        };
        self.secrets.clear();
        if was_active {
            self.emit(Event::SignedOut { reason });
        }
        self.events.set_idle(true);
    }

    // ----- sign-out -----------------------------------------------------------------

    /// DELETE the application, then forget the session. The session is forgotten even when
    /// the DELETE fails (the server ends an abandoned application by itself).
    pub async fn sign_out(&self) -> Result<()> {
        let _life = self.lifecycle_lock.lock().await;
        {
            let mut st = self.state();
            if st.phase == Phase::Idle {
                return Err(Error::InvalidState("not signed in".into()));
            }
            st.ending = true;
            if let Some(stop) = st.stop.take() {
                let _ = stop.send(true);
            }
        }
        // A recovery already running finishes first, so the application it may create is
        // the one deleted below; any later one refuses to start (`ending`).
        let _recovery = self.recovery_lock.lock().await;
        let app = self.state().app.clone();
        let result = match app {
            Some(app) => match self
                .call(Step::SignOut, Method::DELETE, &app.self_url, Payload::Empty)
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if e.is_application_gone() || e.is_gone() => Ok(()),
                Err(e) => Err(e),
            },
            None => Ok(()),
        };
        self.state().forget();
        self.secrets.clear();
        self.emit(Event::SignedOut { reason: None });
        self.events.set_idle(true);
        result
    }

    /// Signs out as part of free: bounded by `bound`, ignoring failures.
    pub async fn sign_out_bounded(&self, bound: Duration) {
        let active = self.state().phase != Phase::Idle;
        if active {
            let _ = tokio::time::timeout(bound, self.sign_out()).await;
        }
    }
}

/// Reads a presence resource (GET or an event's `_embedded`).
pub fn parse_presence(step: Step, reply: &Reply) -> Result<Presence> {
    let res = Resource::parse(step, &reply.url, &reply.body)?;
    presence_from(step, &res)
}

pub fn presence_from(step: Step, res: &Resource) -> Result<Presence> {
    let availability = res
        .str_prop("availability")
        .ok_or_else(|| Error::Protocol {
            step,
            detail: "presence has no availability".into(),
            http_status: None,
            path: res.base().path().to_string(),
        })?;
    Ok(Presence {
        availability: Availability::from_wire(availability),
        activity: res
            .str_prop("activity")
            .filter(|a| !a.is_empty())
            .map(str::to_string),
    })
}
