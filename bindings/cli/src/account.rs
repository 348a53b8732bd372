//! One account of the service: a thread that signs it in, makes it available with the desired
//! presence, watches its contacts and keeps its status from the library's events; a failed
//! sign-in or a session the server ended is retried on a bounded backoff (5 s doubling to
//! 5 min). The library's keep-alive does the rest (lost connections, deleted applications).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use ucwa::{Availability, Client, Event};

use crate::config::AccountConfig;
use crate::creds::{self, Secret};
use crate::output::{availability_name, state_name};

/// First wait after a failed sign-in; doubles up to `MAX_BACKOFF`.
const MIN_BACKOFF: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How long one wait for an event lasts before the stop flag is looked at again.
const EVENT_POLL: Duration = Duration::from_millis(500);

/// What `ucwa status` shows of an account.
#[derive(Debug, Clone, Default)]
struct Status {
    state: &'static str,
    availability: Option<Availability>,
    activity: Option<String>,
    note: Option<String>,
    last_error: Option<String>,
    recreated: u64,
}

/// What the account should be: the configuration's values, then what one-shot commands set.
#[derive(Debug, Clone)]
pub struct Desired {
    pub availability: Option<Availability>,
    pub note: Option<String>,
    pub location: Option<String>,
    /// Live sources by name, with their deadlines: a new sign-in sets them again for the time
    /// they have left.
    pub sources: crate::sources::Kept,
}

pub struct Account {
    pub cfg: AccountConfig,
    client: Mutex<Option<Client>>,
    status: Mutex<Status>,
    pub desired: Mutex<Desired>,
    stop: AtomicBool,
    wake: (Mutex<()>, Condvar),
    /// `watch` streams of the control socket, each a bounded queue.
    watchers: Mutex<Vec<SyncSender<Value>>>,
}

/// Lines a watcher may fall behind by before it is dropped (a client that stopped reading).
pub const WATCH_QUEUE: usize = 1024;

impl Account {
    pub fn new(cfg: AccountConfig) -> Account {
        let desired = Desired {
            availability: cfg.availability,
            note: cfg.note.clone(),
            location: cfg.location.clone(),
            sources: crate::sources::Kept::from_config(&cfg.sources),
        };
        Account {
            cfg,
            client: Mutex::new(None),
            status: Mutex::new(Status {
                state: "starting",
                ..Status::default()
            }),
            desired: Mutex::new(desired),
            stop: AtomicBool::new(false),
            wake: (Mutex::new(()), Condvar::new()),
            watchers: Mutex::new(Vec::new()),
        }
    }

    /// The signed-in client, when there is one.
    pub fn client(&self) -> Result<Client, String> {
        if let Some(c) = self.client.lock().unwrap().clone() {
            if self.status.lock().unwrap().state != "signing-in" {
                return Ok(c);
            }
        }
        let s = self.status.lock().unwrap();
        Err(format!(
            "account {} is not signed in ({}){}",
            self.cfg.name,
            s.state,
            s.last_error
                .as_ref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ))
    }

    pub fn status_json(&self) -> Value {
        let s = self.status.lock().unwrap().clone();
        json!({
            "account": self.cfg.name, "user": self.cfg.user, "state": s.state,
            "availability": s.availability.map(availability_name), "activity": s.activity,
            "note": s.note, "applications_recreated": s.recreated, "last_error": s.last_error,
        })
    }

    fn set_state(&self, state: &'static str, error: Option<String>) {
        let mut s = self.status.lock().unwrap();
        s.state = state;
        if error.is_some() {
            s.last_error = error;
        }
    }

    /// Waits up to `d`, returning early (true) when the service stops.
    fn sleep(&self, d: Duration) -> bool {
        let guard = self.wake.0.lock().unwrap();
        let _ = self
            .wake
            .1
            .wait_timeout_while(guard, d, |_| !self.stop.load(Ordering::SeqCst));
        self.stop.load(Ordering::SeqCst)
    }

    /// Keeps the account signed in until `stop`.
    pub fn run(&self) {
        let mut backoff = MIN_BACKOFF;
        while !self.stop.load(Ordering::SeqCst) {
            match self.sign_in() {
                Ok(client) => {
                    backoff = MIN_BACKOFF;
                    self.set_state("connected", None);
                    self.follow(&client);
                }
                Err(e) => self.set_state("failed", Some(e)),
            }
            if self.sleep(backoff) {
                break;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn sign_in(&self) -> Result<Client, String> {
        self.set_state("signing-in", None);
        let c = &self.cfg;
        let secret = creds::resolve(&c.credential, &c.user)?;
        let client = Client::new(&c.server).map_err(|e| e.to_string())?;
        for (k, v) in &c.options {
            client.set_option(k, v).map_err(|e| e.to_string())?;
        }
        *self.client.lock().unwrap() = Some(client.clone());
        if self.stop.load(Ordering::SeqCst) {
            return Err("stopping".into());
        }
        match &secret {
            Secret::Password(p) => client.sign_in(&c.user, p),
            Secret::CurrentUser => client.sign_in_current_user(),
        }
        .map_err(|e| format!("sign-in: {e}"))?;
        drop(secret);
        self.apply_desired(&client)?;
        if !c.contacts.is_empty() {
            client
                .subscribe_presence(&c.contacts)
                .map_err(|e| format!("contacts: {e}"))?;
        }
        let kept = self.desired.lock().unwrap().sources.clone();
        kept.apply(&client)?;
        if let Ok(p) = client.presence() {
            let mut s = self.status.lock().unwrap();
            s.availability = Some(p.availability);
            s.activity = p.activity;
        }
        Ok(client)
    }

    fn apply_desired(&self, client: &Client) -> Result<(), String> {
        let d = self.desired.lock().unwrap().clone();
        client
            .make_me_available(d.availability.unwrap_or(Availability::Unspecified))
            .map_err(|e| format!("makeMeAvailable: {e}"))?;
        if let Some(n) = &d.note {
            client.set_note(n).map_err(|e| format!("note: {e}"))?;
        }
        if let Some(l) = &d.location {
            client
                .set_location(l)
                .map_err(|e| format!("location: {e}"))?;
        }
        Ok(())
    }

    /// Reads the client's events into the status until the session ends or the service stops.
    fn follow(&self, client: &Client) {
        while !self.stop.load(Ordering::SeqCst) {
            match client.next_event(EVENT_POLL) {
                Ok(None) => {}
                Ok(Some(e)) => {
                    self.broadcast(&e);
                    if !self.note_event(&e) {
                        return;
                    }
                }
                Err(e) => {
                    self.set_state("signed-out", Some(e.to_string()));
                    return;
                }
            }
        }
    }

    /// Adds a `watch` stream's sender to this account (one stream may follow several).
    pub fn watch_into(&self, tx: SyncSender<Value>) {
        self.watchers.lock().unwrap().push(tx);
    }

    /// Hands an event to every watcher; one that is gone or lags a whole queue is dropped.
    fn broadcast(&self, e: &Event) {
        let mut w = self.watchers.lock().unwrap();
        if w.is_empty() {
            return;
        }
        if let Some(v) = crate::output::event_json(Some(&self.cfg.name), e) {
            w.retain(|tx| tx.try_send(v.clone()).is_ok());
        }
    }

    /// Takes one event into the status; false when the session is over.
    fn note_event(&self, e: &Event) -> bool {
        let mut s = self.status.lock().unwrap();
        match e {
            Event::PresenceChanged(p) => {
                s.availability = Some(p.availability);
                s.activity = p.activity.clone();
            }
            Event::NoteChanged(n) => s.note = n.clone(),
            Event::ConnectionStateChanged { state, reason } => {
                s.state = state_name(*state);
                if let Some(r) = reason {
                    s.last_error = Some(r.to_string());
                }
            }
            Event::ApplicationRecreated => s.recreated += 1,
            Event::SignedOut { reason } => {
                s.state = "signed-out";
                s.last_error = reason
                    .as_ref()
                    .map(|r| r.to_string())
                    .or(s.last_error.take());
                return false;
            }
            _ => {}
        }
        true
    }

    /// Stops the thread's loop and signs out (the application deleted) within the library's
    /// bound.
    pub fn shut_down(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake.1.notify_all();
        self.watchers.lock().unwrap().clear();
        let client = self.client.lock().unwrap().take();
        if let Some(c) = client {
            c.close();
        }
        self.set_state("signed-out", None);
    }
}
