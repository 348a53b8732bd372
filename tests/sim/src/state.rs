//! The simulator's mutable world behind one mutex: users, tokens (their logic lives in
//! [`crate::tokens`]), applications with their event channels (the records in `model`), the
//! presence model (`presence`: chosen availability, per-endpoint inactivity, aggregation), the
//! request and token logs, the fault list and the Windows grant's pending NTLM handshakes per
//! connection; plus the periodic tick that drives every timer and the end of applications
//! (`lifecycle`).
//!
//! One lock is enough: every critical section is short and never spans an `.await`; parked
//! P-GETs wait on a per-application `Notify` outside the lock.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::config::{BearerChallenge, SimConfig};
use crate::http::Resp;
use crate::paths::{Paths, Route};
use crate::proxy::Proxy;
use crate::resources;
use crate::types::{AppState, Fault, FaultAction, LogEntry, TokenLogEntry, UserState};
use crate::windows::Handshake;

mod lifecycle;
mod model;
mod presence;

pub(crate) use model::{
    App, Channel, GoneReason, PendingEvent, Presence, Sender, Stage, Subscription, Token, User,
};

/// Pending events per application beyond which the oldest are dropped: a client that never
/// reads its channel must not grow the simulator without bound before its app expires.
const MAX_PENDING_EVENTS: usize = 1000;

/// Which listener a request arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum PoolKind {
    Pool1,
    Pool2,
    Foreign,
}

impl PoolKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            PoolKind::Pool1 => "pool1",
            PoolKind::Pool2 => "pool2",
            PoolKind::Foreign => "foreign",
        }
    }
}

/// One listener: its identity and its URL layout.
#[derive(Debug)]
pub(crate) struct Pool {
    pub kind: PoolKind,
    pub addr: std::net::SocketAddr,
    pub paths: Paths,
    /// Links that carry a `revision` on SfB 2015+ get it, as a string.
    pub link_revisions: bool,
    /// The parameters of the Bearer challenge.
    pub bearer: BearerChallenge,
    /// The MsRtcOAuth `grant_type` list, comma-joined as it is sent.
    pub grants: String,
    /// Both challenges on one `WWW-Authenticate` line, as a reverse proxy folds them.
    pub fold_challenges: bool,
    /// Only a Bearer challenge, naming an authorization_uri on the simulator.
    pub modern_auth: bool,
}

impl Pool {
    /// The server name shown in diagnostics headers.
    pub(crate) fn fqdn(&self) -> &'static str {
        match self.kind {
            PoolKind::Pool1 => "pool1.contoso.com",
            PoolKind::Pool2 => "pool2.contoso.com",
            PoolKind::Foreign => "edge.fabrikam.com",
        }
    }

    /// The `Bearer` line of the challenge, in the configured variant.
    fn bearer_challenge(&self, domain: &str) -> String {
        let client = "client_id=\"00000004-0000-0ff1-ce00-000000000000\"";
        match self.bearer {
            BearerChallenge::Standard => format!(
                "Bearer trusted_issuers=\"00000002-0000-0ff1-ce00-000000000000@{domain}\", {client}"
            ),
            BearerChallenge::EmptyIssuers => format!("Bearer trusted_issuers=\"\", {client}"),
            BearerChallenge::AuthorizationUri => format!(
                "Bearer trusted_issuers=\"00000001-0000-0000-c000-000000000000@*\", {client}, \
                 authorization_uri=\"https://login.windows.net/common/oauth2/authorize\""
            ),
        }
    }

    /// The 401 answer that starts (or restarts) the password flow against this pool.
    pub(crate) fn challenge(&self, domain: &str) -> Resp {
        let page = unauthorized_page();
        if self.modern_auth {
            let bearer = format!(
                "Bearer trusted_issuers=\"00000001-0000-0000-c000-000000000000@*\", \
                 client_id=\"00000004-0000-0ff1-ce00-000000000000\", \
                 authorization_uri=\"{}/_sim/oauth2/authorize\"",
                self.paths.origin()
            );
            return page.with_header("WWW-Authenticate", &bearer);
        }
        let bearer = self.bearer_challenge(domain);
        // No space after the comma before grant_type, as captured.
        let ms_rtc_oauth = format!(
            "MsRtcOAuth href=\"{}\",grant_type=\"{}\"",
            self.paths.token_url(),
            self.grants
        );
        if self.fold_challenges {
            // Node's and reverse proxies' merge: the lines joined with ", " in order.
            page.with_header("WWW-Authenticate", &format!("{bearer}, {ms_rtc_oauth}"))
        } else {
            page.with_header("WWW-Authenticate", &bearer)
                .with_header("WWW-Authenticate", &ms_rtc_oauth)
        }
    }
}

/// IIS's HTML page of a 401, without any `WWW-Authenticate` line yet.
pub(crate) fn unauthorized_page() -> Resp {
    Resp::html(
        401,
        "<!DOCTYPE html><html><head><title>401 - Unauthorized</title></head><body>\
         <h1>401 - Unauthorized: Access is denied due to invalid credentials.</h1></body></html>",
    )
}

/// Everything mutable.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub users: HashMap<String, User>,
    pub tokens: HashMap<String, Token>,
    /// Cached web tickets per (user key, pool): when the current one ends. Password grants
    /// within its first half reuse its end, so `expires_in` reports the remaining lifetime.
    pub tickets: HashMap<(String, PoolKind), Instant>,
    pub apps: HashMap<String, App>,
    pub gone: HashMap<String, GoneReason>,
    pub log: VecDeque<LogEntry>,
    /// Token-endpoint requests, in the same order and under the same limit as `log`.
    pub token_log: VecDeque<TokenLogEntry>,
    pub faults: Vec<Fault>,
    /// Windows-grant handshakes waiting for their AUTHENTICATE_MESSAGE, by connection id.
    pub handshakes: HashMap<u64, Handshake>,
}

/// The state plus everything fixed at start, shared by every task.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: SimConfig,
    pub pool1: Arc<Pool>,
    pub pool2: Arc<Pool>,
    pub foreign: Option<Arc<Pool>>,
    pub ca_pem: Option<String>,
    pub domain: String,
    /// The forward proxy (its own listener on 127.0.0.1).
    pub proxy: Arc<Proxy>,
    pool2_users: HashSet<String>,
    pool2_apps_users: HashSet<String>,
    foreign_apps_users: HashSet<String>,
    state: Mutex<State>,
    seq: AtomicU64,
    ids: AtomicU64,
    conns: AtomicU64,
}

/// Appends to a bounded log (oldest dropped), keeping arrival (`seq`) order: entries are pushed
/// when their request completes, which is not always the order they arrived in.
fn insert_in_order<T>(log: &mut VecDeque<T>, entry: T, limit: usize, seq: impl Fn(&T) -> u64) {
    if limit == 0 {
        return;
    }
    while log.len() >= limit {
        log.pop_front();
    }
    let at = seq(&entry);
    let pos = log.iter().rposition(|e| seq(e) < at).map_or(0, |p| p + 1);
    log.insert(pos, entry);
}

/// Seconds (validated finite and non-negative) as a Duration.
pub(crate) fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// The map key of a user name: case-insensitive, with an optional `sip:` prefix.
pub(crate) fn user_key(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    lower.strip_prefix("sip:").unwrap_or(&lower).to_owned()
}

/// A random 12-digit application id starting with `10`, the shape real servers hand out.
pub(crate) fn random_app_id() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 10_000_000_000;
    format!("10{n:010}")
}

/// `n` random characters of the base64url alphabet (`-` and `_` included), the shape of real
/// web tickets (`cwt=AAEBHAEF…-7UZoTty…`).
pub(crate) fn random_base64url(n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(n);
    while out.len() < n {
        let bits = uuid::Uuid::new_v4().as_u128();
        // 120 of a v4 UUID's 122 random bits: 20 characters per UUID.
        for i in 0..20 {
            if out.len() == n {
                break;
            }
            out.push(ALPHABET[((bits >> (6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// A random lowercase hex string of `n` (≤ 32) characters.
pub(crate) fn random_hex(n: usize) -> String {
    uuid::Uuid::new_v4().simple().to_string()[..n.min(32)].to_owned()
}

impl Shared {
    pub(crate) fn new(
        config: SimConfig,
        pool1: Arc<Pool>,
        pool2: Arc<Pool>,
        foreign: Option<Arc<Pool>>,
        ca_pem: Option<String>,
        proxy: Arc<Proxy>,
    ) -> Shared {
        let set = |v: &[String]| v.iter().map(|n| user_key(n)).collect::<HashSet<_>>();
        let mut state = State::default();
        for (name, password) in &config.users {
            state.users.insert(
                user_key(name),
                User {
                    name: name.clone(),
                    password: password.clone(),
                    chosen: Presence::new("Online", None),
                    note: None,
                    location: None,
                    apps: Vec::new(),
                    elsewhere: false,
                },
            );
        }
        Shared {
            domain: config.domain(),
            pool2_users: set(&config.pool2_users),
            pool2_apps_users: set(&config.pool2_apps_users),
            foreign_apps_users: set(&config.foreign_apps_users),
            config,
            pool1,
            pool2,
            foreign,
            ca_pem,
            proxy,
            state: Mutex::new(state),
            seq: AtomicU64::new(1),
            ids: AtomicU64::new(1),
            conns: AtomicU64::new(1),
        }
    }

    /// Locks the state. A panic while holding the lock cannot leave it half-updated in a way
    /// that matters to a test double, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// The id of a newly accepted connection (from 1, across every listener).
    pub(crate) fn next_conn(&self) -> u64 {
        self.conns.fetch_add(1, Ordering::Relaxed)
    }

    /// A connection ended: a handshake it left half done can never complete.
    pub(crate) fn connection_closed(&self, conn: u64) {
        self.lock().handshakes.remove(&conn);
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn pool(&self, kind: PoolKind) -> &Pool {
        match kind {
            PoolKind::Pool1 => &self.pool1,
            PoolKind::Pool2 => &self.pool2,
            PoolKind::Foreign => self.foreign.as_deref().unwrap_or(&self.pool1),
        }
    }

    pub(crate) fn is_pool2_user(&self, key: &str) -> bool {
        self.pool2_users.contains(key)
    }

    pub(crate) fn is_pool2_apps_user(&self, key: &str) -> bool {
        self.pool2_apps_users.contains(key)
    }

    pub(crate) fn is_foreign_apps_user(&self, key: &str) -> bool {
        self.foreign_apps_users.contains(key)
    }

    // ----- request log and faults -------------------------------------------------------

    /// Logs a request and, for the token endpoint, what the grant did.
    pub(crate) fn push_log(&self, entry: LogEntry, token: Option<TokenLogEntry>) {
        let mut st = self.lock();
        let limit = self.config.log_limit;
        insert_in_order(&mut st.log, entry, limit, |e| e.seq);
        if let Some(t) = token {
            insert_in_order(&mut st.token_log, t, limit, |e| e.seq);
        }
    }

    /// Takes the first fault matching this request, consuming one of its uses.
    pub(crate) fn take_fault(&self, route: &str, path: &str, method: &str) -> Option<FaultAction> {
        let mut st = self.lock();
        let i = st.faults.iter().position(|f| {
            f.route.as_deref().is_none_or(|r| r == route)
                && f.path_contains.as_deref().is_none_or(|p| path.contains(p))
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
        })?;
        let action = st.faults[i].action.clone();
        match st.faults[i].count {
            0 => {}
            1 => {
                st.faults.remove(i);
            }
            _ => st.faults[i].count -= 1,
        }
        Some(action)
    }

    // ----- events ---------------------------------------------------------------------------

    /// Queues one event on an application's channel and wakes its parked P-GET.
    pub(crate) fn push_event(&self, app: &mut App, sender: Sender, event: Value) {
        let ch = &mut app.channel;
        if ch.pending.len() >= MAX_PENDING_EVENTS {
            ch.pending.remove(0);
        }
        ch.pending.push(PendingEvent {
            sender,
            event: event.to_string().into_boxed_str(),
        });
        ch.pending_since.get_or_insert_with(Instant::now);
        app.notify.notify_waiters();
    }

    /// Sends the user's current presence, note or location as an `updated` event (with the new
    /// representation embedded only under `embed_self_events`) to every made-available
    /// application of the user.
    pub(crate) fn broadcast(&self, st: &mut State, key: &str, route: Route) {
        self.broadcast_except(st, key, route, None);
    }

    /// [`Shared::broadcast`] to every made-available application but `except`.
    pub(crate) fn broadcast_except(
        &self,
        st: &mut State,
        key: &str,
        route: Route,
        except: Option<&str>,
    ) {
        let Some(user) = st.users.get(key) else {
            return;
        };
        let ids = user.apps.clone();
        let presence = self.aggregate(st, key);
        let note = user.note.clone();
        let location = user.location.clone();
        for id in ids {
            if except == Some(id.as_str()) {
                continue;
            }
            let Some(app) = st.apps.get_mut(&id) else {
                continue;
            };
            if !app.made_available {
                continue;
            }
            let pool = self.pool(app.pool);
            let (rel, body) = match route {
                Route::Presence => ("presence", resources::presence(pool, &id, &presence)),
                Route::Note => ("note", resources::note(pool, &id, note.as_deref())),
                _ => (
                    "location",
                    resources::location(pool, &id, location.as_deref()),
                ),
            };
            // Real servers send a bare `updated` (GET it); `--embed-self-events` embeds it.
            let embedded = self.config.embed_self_events.then_some(body);
            let ev = resources::event(pool, &id, route, rel, "updated", embedded);
            self.push_event(app, Sender::Me, ev);
        }
        self.notify_watchers(st, key, route);
    }

    /// Tells every application whose live presence subscription includes `key` that the
    /// contact's presence, note or location changed: a bare `updated` event under sender
    /// `people`, as real servers send contact changes (the client GETs the resource).
    pub(crate) fn notify_watchers(&self, st: &mut State, key: &str, route: Route) {
        let (rel, tail) = match route {
            Route::Presence => ("contactPresence", "/presence"),
            Route::Note => ("contactNote", "/note"),
            _ => ("contactLocation", "/location"),
        };
        let now = Instant::now();
        for app in st.apps.values_mut() {
            let watching = app
                .subscriptions
                .iter()
                .any(|s| s.expires_at > now && s.members.iter().any(|m| m == key));
            if !watching {
                continue;
            }
            let pool = self.pool(app.pool);
            let href = resources::contact_href(pool, &app.id, key, tail);
            let ev = json!({ "link": { "rel": rel, "href": href }, "type": "updated" });
            self.push_event(app, Sender::People, ev);
        }
    }

    // ----- snapshots --------------------------------------------------------------------------

    pub(crate) fn user_state(&self, st: &State, key: &str) -> Option<UserState> {
        let user = st.users.get(key)?;
        let presence = self.aggregate(st, key);
        let applications = user
            .apps
            .iter()
            .filter_map(|id| st.apps.get(id))
            .map(|a| AppState {
                id: a.id.clone(),
                pool: a.pool.name().to_owned(),
                user_agent: a.user_agent.clone(),
                endpoint_id: a.endpoint_id.clone(),
                made_available: a.made_available,
                availability: a
                    .made_available
                    .then(|| self.endpoint_presence(&user.chosen, a.stage).availability),
                parked_pgets: u32::from(a.channel.parked.is_some()),
                activity_reports: a.activity_reports,
            })
            .collect();
        Some(UserState {
            name: user.name.clone(),
            availability: presence.availability,
            activity: presence.activity,
            note: user.note.clone(),
            location: user.location.clone(),
            applications,
        })
    }

    pub(crate) fn all_users(&self) -> Vec<UserState> {
        let st = self.lock();
        let mut keys: Vec<&String> = st.users.keys().collect();
        keys.sort();
        keys.iter()
            .filter_map(|k| self.user_state(&st, k))
            .collect()
    }

    pub(crate) fn info(&self) -> Value {
        json!({
            "root_url": format!("{}/", self.pool1.paths.origin()),
            "pool2_url": format!("{}/", self.pool2.paths.origin()),
            "foreign_url": self.foreign.as_ref().map(|f| format!("{}/", f.paths.origin())),
            "proxy_url": self.proxy.url(),
        })
    }
}
