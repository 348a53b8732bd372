//! One client's session, composed of parts that each own their state behind their own type:
//!
//! - `tokens` (`TokenStore`): who signs in, the grant and host tokens per origin,
//!   their renewal and announcement schedule, and the scrubber kept in step with them;
//! - `app_holder` (`AppHolder`): the application and its links, its generation,
//!   how far the session got, recovery's budget;
//! - `desired` (`Desired`): the presence the library keeps true, composed from `layers`
//!   (`Layers`: the preferred choice, the sources, the host's note);
//! - `lifecycle` (`Run`): the session's number, its ending and its stop signal;
//! - `watching` (`Watched`, `ServerSide`) and `contacts` (`ContactCache`): other people.
//!
//! The protocol operations live in the files beside this one, each changing its part only
//! through that part's methods:
//!
//! - `request`: the authenticated exchange (tokens, the 401 challenge, Retry-After);
//! - `host_tokens`: the tokens the host gives, and telling it when one is needed;
//! - `lifecycle`: sign-in and sign-out;
//! - `application`: creating, refreshing and making available the application, and calls to
//!   its links;
//! - `presence`: setting and reading availability, note and location, reporting activity;
//! - `composing`: the layers' changes carried to the server, paced, expired on time, and the
//!   answer to a change made elsewhere;
//! - `contacts`: reading other people's presence, note and location, one or many (batch);
//! - `subscriptions`: watching other people's presence (the presence subscription, kept alive);
//! - `recovery`: the one table of what an error calls for, and the steps that recover.
//!
//! The token store, the application holder, the desired presence and the run sit together
//! behind one short-held std mutex, never locked across an await; operations that must not run
//! twice at once (token renewal, application recovery) take async locks and compare
//! generations, so concurrent callers recover once and then all retry.

mod app_holder;
mod application;
mod composing;
mod contacts;
mod desired;
mod host_tokens;
mod layers;
mod lifecycle;
mod presence;
mod recovery;
mod request;
mod subscriptions;
mod tokens;
mod watching;

pub use contacts::{MAX_BATCH_PARTS, MAX_CACHED_CONTACTS, MAX_CONTACTS_PER_CALL};
pub(crate) use layers::{expiry, layer_note, source_name};
pub use layers::{MAX_EXPIRY, MAX_LAYER_NOTE, MAX_SOURCES, MAX_SOURCE_NAME};
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

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use url::Url;

use crate::connection::Connection;
use crate::discovery;
use crate::error::{Error, Result, Step};
use crate::events::EventQueue;
use crate::options::Options;
use crate::redact::Secrets;
use crate::resources::App;
use crate::types::{Availability, Event, Settable};

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

/// The session's parts, each owning its fields (private to its module) and changed only through
/// its methods; one short-held mutex over all of them keeps a change that spans parts (sign-in,
/// forgetting the session) atomic without a lock order to follow.
struct State {
    run: lifecycle::Run,
    tokens: tokens::TokenStore,
    app: app_holder::AppHolder,
    desired: desired::Desired,
}

impl State {
    /// Drops everything secret and session-bound (sign-out, free, a 410, a failed sign-in:
    /// `keep_host_tokens` then, see `TokenStore::forget`).
    fn forget(&mut self, keep_host_tokens: bool) {
        self.run.forget();
        self.tokens.forget(keep_host_tokens);
        self.app.forget();
        self.desired = desired::Desired::default();
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
    /// One round of presence POSTs at a time (see `composing`).
    apply_lock: tokio::sync::Mutex<()>,
    /// Wakes the housekeeper when a host change may need it sooner (held-back state, a new
    /// expiry).
    presence_wake: tokio::sync::Notify,
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
                run: lifecycle::Run::default(),
                tokens: tokens::TokenStore::new(secrets.clone()),
                app: app_holder::AppHolder::default(),
                desired: desired::Desired::default(),
            }),
            auth_lock: Default::default(),
            recovery_lock: Default::default(),
            lifecycle_lock: Default::default(),
            closed: AtomicBool::new(false),
            secrets,
            presence_posts: AtomicU32::new(0),
            apply_lock: Default::default(),
            presence_wake: Default::default(),
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
        self.state().forget(false);
        self.forget_subscriptions();
        self.secrets.wipe();
        self.events.close();
    }

    /// Whether `session` is still the running one (not signed out, not ending, not freed).
    pub fn is_current(&self, session: u64) -> bool {
        let st = self.state();
        st.run.is(session) && st.app.is_signed_in() && !self.is_closed()
    }

    /// Whether makeMeAvailable succeeded, and the availability this client put on the server
    /// (`None`: nobody decides).
    pub fn availability_goal(&self) -> (bool, Option<Availability>) {
        let st = self.state();
        let applied = st.desired.applied_availability().map(Settable::get);
        (st.app.is_available(), applied)
    }

    /// The application, shared (its links are read, never changed in place).
    pub fn current_app(&self, step: Step) -> Result<Arc<App>> {
        self.state().app.current(step)
    }

    /// The application once makeMeAvailable succeeded (one look at the state).
    pub(super) fn available_app(&self, step: Step) -> Result<Arc<App>> {
        self.state().app.available(step)
    }

    /// The session ended without the host asking (a 410): tell the host, drop the secrets.
    pub fn end_session(&self, reason: Option<Error>) {
        let was_active = {
            let mut st = self.state();
            let active = st.app.is_signed_in();
            st.forget(false);
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
