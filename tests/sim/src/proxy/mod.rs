//! The simulator's forward proxy: one more listener, always on 127.0.0.1, that every language's
//! proxy tests point their clients at. It carries absolute-form `http://` requests (each one
//! logged, forwarded over one upstream connection per client connection) and `CONNECT`
//! tunnels, optionally behind Basic `Proxy-Authorization`, and reaches loopback targets only
//! (127.0.0.0/8, `::1`, `localhost`; never a name lookup): anything else is answered 502, so a
//! test sees where a client wanted to go without any traffic leaving the machine.
//!
//! This file owns the proxy's state (its address, mode, required credentials, request log and
//! open connections) and the operations tests call on it, from Rust through [`crate::Sim`] and
//! over HTTP under `/_sim/proxy` ([`control`]). `serve` runs the listener and its
//! connections; `answers` holds the replies the proxy makes itself and the target rules.

mod answers;
pub(crate) mod control;
mod serve;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

pub(crate) use serve::accept_loop;

/// Client connections the proxy keeps open at once; more are closed as they arrive.
const MAX_CONNECTIONS: usize = 256;
/// Largest request head the proxy reads (hyper's read buffer), and the most headers.
const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 100;
/// Largest request body the proxy reads itself (only before answering 407).
const MAX_DRAINED_BODY: usize = 64 * 1024;

/// One request (or tunnel) the proxy saw. No secrets: only whether `Proxy-Authorization` came,
/// the user name in it, and whether it matched the required credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyLogEntry {
    /// Arrival order (the log is sorted by it).
    pub seq: u64,
    /// The client connection it came on: numbered from 1 in accept order. Every `CONNECT`
    /// tunnel is a connection of its own; kept-alive plain requests share one.
    pub conn: u64,
    pub method: String,
    /// The request target as sent: `http://127.0.0.1:PORT/path` (absolute form) or
    /// `127.0.0.1:PORT` (`CONNECT`).
    pub target: String,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// Whether a `Proxy-Authorization` header was sent.
    pub credentials: bool,
    /// The user name of its Basic credentials (the password is never recorded).
    pub user: Option<String>,
    /// Whether the request passed the credential check: true when none are required.
    pub authorized: bool,
    /// The status the proxy answered itself (200 for a tunnel, 400, 407, 502), or `None` when
    /// it forwarded the request to the server.
    pub answered: Option<u16>,
}

/// How the proxy treats requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyMode {
    /// Forward and tunnel (after the credential check, when credentials are required).
    #[default]
    Forward,
    /// A careless proxy: every request is answered 407 with an error page, a header and a JSON
    /// body quoting the `Proxy-Authorization` it carried (as sent, decoded, percent-encoded).
    RefuseAndEcho,
}

/// What `GET /_sim/proxy` and [`crate::Sim::proxy_info`] report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyInfo {
    /// `http://127.0.0.1:PORT/`.
    pub url: String,
    pub mode: ProxyMode,
    /// The user name whose credentials are required, if any.
    pub required_user: Option<String>,
    /// Client connections open now (tunnels included).
    pub open_connections: usize,
    /// Client connections accepted since start.
    pub connections: u64,
}

/// The proxy's state, shared by its listener, its connections and the control API.
#[derive(Debug)]
pub(crate) struct Proxy {
    addr: SocketAddr,
    log_limit: usize,
    settings: Mutex<Settings>,
    log: Mutex<VecDeque<ProxyLogEntry>>,
    seq: AtomicU64,
    conns: AtomicU64,
    open: AtomicUsize,
    /// Bumped to cut every open connection; each connection watches it.
    cut: watch::Sender<u64>,
}

#[derive(Debug, Default, Clone)]
struct Settings {
    mode: ProxyMode,
    /// `(user, password)` that must come as Basic `Proxy-Authorization`.
    required: Option<(String, String)>,
}

impl Proxy {
    /// The proxy bound to `addr`, keeping at most `log_limit` log entries.
    pub(crate) fn new(addr: SocketAddr, log_limit: usize) -> Proxy {
        Proxy {
            addr,
            log_limit,
            settings: Mutex::default(),
            log: Mutex::default(),
            seq: AtomicU64::new(0),
            conns: AtomicU64::new(0),
            open: AtomicUsize::new(0),
            cut: watch::Sender::new(0),
        }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    fn settings(&self) -> MutexGuard<'_, Settings> {
        self.settings.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn log_guard(&self) -> MutexGuard<'_, VecDeque<ProxyLogEntry>> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn info(&self) -> ProxyInfo {
        let settings = self.settings().clone();
        ProxyInfo {
            url: self.url(),
            mode: settings.mode,
            required_user: settings.required.map(|(user, _)| user),
            open_connections: self.open.load(Ordering::SeqCst),
            connections: self.conns.load(Ordering::SeqCst),
        }
    }

    /// Requires these Basic credentials from now on (`None`: none required).
    pub(crate) fn require_credentials(&self, required: Option<(String, String)>) {
        self.settings().required = required;
    }

    /// Switches the mode; turning hostile cuts open connections, so that a client's next
    /// request (on a new connection) meets the new mode.
    pub(crate) fn set_mode(&self, mode: ProxyMode) {
        self.settings().mode = mode;
        if mode == ProxyMode::RefuseAndEcho {
            self.cut_connections();
        }
    }

    /// Closes every open client connection (and its upstream side or tunnel) at once.
    pub(crate) fn cut_connections(&self) {
        self.cut.send_modify(|generation| *generation += 1);
    }

    pub(crate) fn log(&self) -> Vec<ProxyLogEntry> {
        self.log_guard().iter().cloned().collect()
    }

    pub(crate) fn clear_log(&self) {
        self.log_guard().clear();
    }

    fn mode(&self) -> ProxyMode {
        self.settings().mode
    }

    fn required(&self) -> Option<(String, String)> {
        self.settings().required.clone()
    }

    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Appends to the bounded log (oldest dropped) in arrival order: an entry is pushed once
    /// the proxy has decided, which is not always the order requests arrived in.
    fn push(&self, entry: ProxyLogEntry) {
        if self.log_limit == 0 {
            return;
        }
        let mut log = self.log_guard();
        while log.len() >= self.log_limit {
            log.pop_front();
        }
        let at = log
            .iter()
            .rposition(|e| e.seq < entry.seq)
            .map_or(0, |p| p + 1);
        log.insert(at, entry);
    }

    /// Counts a new client connection, or `None` when [`MAX_CONNECTIONS`] are open.
    fn open_connection(&self) -> Option<u64> {
        let admitted = self
            .open
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < MAX_CONNECTIONS).then_some(n + 1)
            })
            .is_ok();
        admitted.then(|| self.conns.fetch_add(1, Ordering::SeqCst) + 1)
    }

    fn close_connection(&self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
    }
}
