//! One client's session: its state (phase, credentials, per-origin tokens, the application and
//! its links, the host's desired state), its locks, and how it ends. The protocol operations
//! live in the files beside this one, each a room of its own:
//!
//! - `request`: the authenticated exchange (tokens, the 401 challenge, Retry-After);
//! - `lifecycle`: sign-in and sign-out;
//! - `application`: creating, refreshing and making available the application, and calls to
//!   its links;
//! - `presence`: setting and reading availability, note and location, reporting activity;
//! - `contacts`: reading other people's presence, note and location, one or many (batch);
//! - `subscriptions`: watching other people's presence (the presence subscription, kept alive);
//! - `recovery`: the one table of what an error calls for, and the steps that recover.
//!
//! State sits behind a short-held std mutex and is never locked across an await; operations that
//! must not run twice at once (token renewal, application recovery) take async locks and
//! compare generations, so concurrent callers recover once and then all retry.

mod application;
mod contacts;
mod host_tokens;
mod lifecycle;
mod presence;
mod recovery;
mod request;
mod subscriptions;

pub use contacts::{MAX_BATCH_PARTS, MAX_CACHED_CONTACTS, MAX_CONTACTS_PER_CALL};
pub use lifecycle::TASKS_END_BOUND;
pub use recovery::Recovery;
pub use request::Payload;
pub use subscriptions::{contact_below, sip, MAX_SUBSCRIBED_CONTACTS, SUBSCRIPTION_MINUTES};

/// A signed-in session, as handed to whoever starts its supervisor: its number (a newer
/// sign-in replaces it) and the signal that stops its tasks.
pub struct Started {
    pub session: u64,
    pub stop: tokio::sync::watch::Receiver<bool>,
}

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use url::Url;

use crate::auth::{Identity, Token};
use crate::connection::Connection;
use crate::discovery;
use crate::error::{Error, Result, Step};
use crate::events::EventQueue;
use crate::options::Options;
use crate::pacing::{self, Budget};
use crate::redact::Secrets;
use crate::resources::{App, TextField};
use crate::security::TrustedHosts;
use crate::types::{Availability, Event, Settable};

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

/// What the host asked for; re-applied after recovery.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    pub availability: Option<Settable>,
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

pub struct State {
    pub phase: Phase,
    /// Set by sign-out (and so by free) before its DELETE: from then on nothing may create an
    /// application or recover one, so our own DELETE can never be mistaken for a lost
    /// application and answered with a new one nobody deletes.
    pub ending: bool,
    /// Bumped at every sign-in; supervisor tasks of an older session stop.
    pub session: u64,
    /// Who signs in (none: not signed in, or signed in with host tokens only).
    identity: Option<Identity>,
    trusted: TrustedHosts,
    applications_url: Option<Url>,
    tokens: HashMap<String, Token>,
    token_generation: u64,
    pub app: Option<Arc<App>>,
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
    /// Signed in with host-supplied tokens only (`sign_in_with_tokens`): no password, no grant.
    with_tokens: bool,
    /// The tokens the host gave, by origin (see `host_tokens`).
    host_tokens: HashMap<String, host_tokens::HostToken>,
    /// The `authorization_uri` each origin's Bearer challenge named, for the host's next token.
    bearer_uris: HashMap<String, String>,
}

impl State {
    /// Whether this session signs in as the logged-on Windows user (only the Windows grant).
    fn signs_in_as_current_user(&self) -> bool {
        matches!(self.identity, Some(Identity::CurrentUser))
    }

    /// Drops everything secret and session-bound (sign-out, free, a 410).
    fn forget(&mut self) {
        self.phase = Phase::Idle;
        self.ending = false;
        self.identity = None;
        self.tokens.clear();
        self.app = None;
        self.applications_url = None;
        self.desired = Desired::default();
        self.rendering = None;
        self.with_tokens = false;
        self.host_tokens.clear();
        self.bearer_uris.clear();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
    }
}

pub struct Session {
    candidates: Vec<Url>,
    /// Replaced whole on every change, so a call reads a consistent snapshot without copying.
    options: Mutex<Arc<Options>>,
    state: Mutex<State>,
    auth_lock: tokio::sync::Mutex<()>,
    recovery_lock: tokio::sync::Mutex<()>,
    /// Serializes sign-in, make-available and sign-out against each other.
    lifecycle_lock: tokio::sync::Mutex<()>,
    closed: AtomicBool,
    /// Every secret the client holds or recently held, scrubbed from every server text (see
    /// `redact`).
    secrets: Secrets,
    /// Host presence POSTs in flight; enforcement waits for them.
    presence_posts: AtomicU32,
    pub events: EventQueue,
    /// The connection state the host was told (see `connection`).
    pub connection: Connection,
    requests: AtomicU64,
    /// Contact links already looked up (bounded; see `contacts`).
    contacts: Mutex<contacts::ContactCache>,
    /// The contacts the host subscribed to (see `subscriptions`).
    watched: Mutex<subscriptions::Watched>,
    /// The server's presence subscription, held across the requests that change it.
    subscription: tokio::sync::Mutex<subscriptions::ServerSide>,
    /// The supervisor tasks started for this client, so that sign-out and free return only
    /// once they ended (see [`Session::tasks_ended`]).
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Session {
    pub fn new(server: &str) -> Result<Session> {
        let candidates = discovery::candidates(server)?;
        let events = EventQueue::default();
        events.set_idle(true);
        let options = Options::default();
        let secrets = Secrets::default();
        secrets.set_standing(options.proxy.credentials().iter().map(|c| c.as_str()));
        Ok(Session {
            candidates,
            options: Mutex::new(Arc::new(options)),
            state: Mutex::new(State {
                phase: Phase::Idle,
                ending: false,
                session: 0,
                identity: None,
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
                with_tokens: false,
                host_tokens: HashMap::new(),
                bearer_uris: HashMap::new(),
            }),
            auth_lock: Default::default(),
            recovery_lock: Default::default(),
            lifecycle_lock: Default::default(),
            closed: AtomicBool::new(false),
            secrets,
            presence_posts: AtomicU32::new(0),
            events,
            connection: Connection::default(),
            requests: AtomicU64::new(0),
            contacts: Mutex::default(),
            watched: Mutex::default(),
            subscription: Default::default(),
            tasks: Mutex::default(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn contacts(&self) -> MutexGuard<'_, contacts::ContactCache> {
        self.contacts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many contacts' links the cache holds now.
    pub fn cached_contacts(&self) -> usize {
        self.contacts().len()
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
        if key == "ca_file" || key == "proxy" {
            crate::transport::check_tls(&updated)?;
        }
        if key == "proxy" {
            let credentials = updated.proxy.credentials();
            self.secrets
                .set_standing(credentials.iter().map(|c| c.as_str()));
        }
        *o = Arc::new(updated);
        Ok(())
    }

    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(super) fn ensure_open(&self) -> Result<()> {
        if self.is_closed() {
            Err(Error::InvalidState("the client was freed".into()))
        } else {
            Ok(())
        }
    }

    pub fn emit(&self, event: Event) {
        self.events.push(event);
    }

    /// Keeps the handles of newly started supervisor tasks (and drops those of ended ones).
    pub fn track_tasks(&self, started: impl IntoIterator<Item = tokio::task::JoinHandle<()>>) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.retain(|t| !t.is_finished());
        tasks.extend(started);
    }

    /// Waits, at most `bound`, for the supervisor tasks to end once they were told to stop.
    /// A host that exits right after sign-out or free then never ends the process while a
    /// library thread is half-way through freeing memory: Windows tolerates that at exit,
    /// Wine can deadlock on the heap lock the killed thread held.
    pub async fn tasks_ended(&self, bound: std::time::Duration) {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        let _ = tokio::time::timeout(bound, async {
            for t in tasks {
                let _ = t.await;
            }
        })
        .await;
    }

    /// Marks the client closed: every call in flight stops at its next step.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let mut st = self.state();
        st.forget();
        drop(st);
        self.forget_subscriptions();
        self.secrets.wipe();
        self.events.close();
    }

    /// Tells the scrubber what the session holds now: the password, and each token with the
    /// instant it expires, so one replaced, dropped or refused stays scrubbed until then (see
    /// `redact`).
    pub(super) fn sync_secrets(&self, st: &State) {
        let password = st.identity.as_ref().and_then(Identity::password);
        let tokens = st
            .tokens
            .values()
            .flat_map(|t| t.secrets().map(|s| (s, Some(t.expires))));
        let supplied = st.host_tokens.values().flat_map(|t| {
            [t.access.as_str(), t.authorization.as_str()].map(|s| (s, Some(t.expires_at)))
        });
        self.secrets.sync(
            password
                .map(|p| (p, None))
                .into_iter()
                .chain(tokens)
                .chain(supplied),
        );
    }

    /// Whether `session` is still the running one (not signed out, not ending, not freed).
    pub fn is_current(&self, session: u64) -> bool {
        let st = self.state();
        st.session == session && st.phase != Phase::Idle && !st.ending && !self.is_closed()
    }

    /// Whether makeMeAvailable succeeded, and the availability the host wants kept.
    pub fn availability_goal(&self) -> (bool, Option<Availability>) {
        let st = self.state();
        let desired = st.desired.availability.map(Settable::get);
        (st.phase == Phase::Available, desired)
    }

    /// The application, shared (its links are read, never changed in place).
    pub fn current_app(&self, step: Step) -> Result<Arc<App>> {
        let st = self.state();
        match (&st.phase, &st.app) {
            (Phase::Idle, _) | (_, None) => {
                Err(Error::InvalidState(format!("{step}: not signed in")))
            }
            (_, Some(app)) => Ok(app.clone()),
        }
    }

    /// The application once makeMeAvailable succeeded (one look at the state).
    pub(super) fn available_app(&self, step: Step) -> Result<Arc<App>> {
        let st = self.state();
        match (&st.phase, &st.app) {
            (Phase::Available, Some(app)) => Ok(app.clone()),
            (Phase::SignedIn, Some(_)) => Err(Error::InvalidState(format!(
                "{step}: call make_me_available first"
            ))),
            _ => Err(Error::InvalidState(format!("{step}: not signed in"))),
        }
    }

    /// The session ended without the host asking (a 410): tell the host, drop the secrets.
    pub fn end_session(&self, reason: Option<Error>) {
        let was_active = {
            let mut st = self.state();
            let active = st.phase != Phase::Idle;
            st.forget();
            active
        };
        self.forget_subscriptions();
        self.secrets.clear();
        if was_active {
            self.emit(Event::SignedOut { reason });
        }
        self.events.set_idle(true);
    }
}
