//! `ucwa-sim`: a faithful UCWA 2.0 (Skype for Business Server) simulator for testing clients
//! without a Skype server.
//!
//! It serves autodiscovery, the OAuth password flow with its 401 challenge, the Windows grant
//! (NTLMv2 over `NTLM` or `Negotiate`, verified server-side), applications,
//! makeMeAvailable, presence/note/location/reportMyActivity with an inactivity model, the event
//! channel (P-GET) with its edge cases, batching, two pools (redirect and pool change), a foreign
//! origin that a client must refuse, an alternative URL layout, and optional TLS with a generated
//! CA, and a forward proxy (plain and `CONNECT`, loopback targets only) with its own request
//! log, for testing clients behind a proxy. Tests control it through [`Sim`] (Rust) or the same
//! operations over HTTP under `/_sim/`.
//!
//! Module map: [`cli`] (the command line, parsed into a config), [`config`] (options), `server` (listeners and request pipeline), `handlers`
//! (protocol), `people` (search, contacts, presence subscriptions), `events` (P-GET), `batch`, `state` (the world and its timers), `resources`
//! (JSON shapes), `paths` (layouts and route names), `control` (`/_sim/`), `tokens` (token
//! endpoint and bearer tokens), `windows` (the Windows grant) with `ntlm`, `spnego` and `der`,
//! `proxy` (the forward proxy and its control API), `tls`, `http`
//! (small request/response types), `types` (public snapshots and faults).
//!
//! Route names used by [`LogEntry::route`] and [`Fault::route`]: `discovery`, `xframe`, `user`,
//! `redirect`, `token`, `applications`, `application`, `me`, `makeMeAvailable`, `presence`,
//! `note`, `location`, `reportMyActivity`, `events`, `batch`, `policies`, `people`,
//! `communication`, `other`.

pub mod cli;
pub mod config;

mod batch;
mod control;
mod der;
mod events;
mod handlers;
mod http;
mod ntlm;
mod paths;
mod people;
mod proxy;
mod resources;
mod server;
mod spnego;
mod state;
mod tls;
mod tokens;
mod types;
mod windows;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub use config::{
    BearerChallenge, EmptyEvents, ExpiredStatus, ForeignChallenge, Layout, SimConfig, WindowsAuth,
    DEFAULT_GRANTS, DEFAULT_WINDOWS_AUTH,
};
pub use proxy::{ProxyInfo, ProxyLogEntry, ProxyMode};
pub use types::{AppState, Fault, FaultAction, LogEntry, MintedToken, TokenLogEntry, UserState};

use paths::Route;
use state::{user_key, Shared};

/// A running simulator. It owns a small tokio runtime on background threads; dropping it (or
/// [`Sim::stop`]) stops every listener and connection and releases the ports before returning.
pub struct Sim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("root_url", &self.root_url())
            .finish()
    }
}

impl Sim {
    /// Starts a simulator and returns once every listener is bound. Blocking; call it from a
    /// plain thread (not from inside an async runtime).
    pub fn start(config: SimConfig) -> io::Result<Sim> {
        config.validate()?;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<io::Result<Arc<Shared>>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("ucwa-sim".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("ucwa-sim-worker")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match server::launch(config).await {
                        Ok(shared) => {
                            let _ = ready_tx.send(Ok(shared));
                            // Runs until stop() or Drop; a dropped sender also ends it.
                            let _ = stop_rx.await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
                // Dropping every task closes the listeners and open connections.
                runtime.shutdown_timeout(Duration::from_secs(2));
            })?;
        let shared = match ready_rx.recv() {
            Ok(Ok(shared)) => shared,
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(io::Error::other(
                    "ucwa-sim runtime thread ended during start",
                ));
            }
        };
        let addr = shared.pool1.addr;
        Ok(Sim {
            shared,
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The discovery root URL, e.g. `http://127.0.0.1:41234/` (`https` with TLS).
    pub fn root_url(&self) -> String {
        format!("{}/", self.shared.pool1.paths.origin())
    }

    /// Pool 2's origin, with a trailing slash.
    pub fn pool2_url(&self) -> String {
        format!("{}/", self.shared.pool2.paths.origin())
    }

    /// The foreign listener's origin (127.0.0.2), when it runs.
    pub fn foreign_url(&self) -> Option<String> {
        self.shared
            .foreign
            .as_ref()
            .map(|f| format!("{}/", f.paths.origin()))
    }

    /// Pool 1's bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The generated CA certificate (PEM) when TLS is on.
    pub fn ca_pem(&self) -> Option<String> {
        self.shared.ca_pem.clone()
    }

    /// Every logged request so far, in arrival order (control requests excluded).
    pub fn log(&self) -> Vec<LogEntry> {
        self.shared.lock().log.iter().cloned().collect()
    }

    /// Every token-endpoint request so far, in arrival order: grant, scheme, NTLM leg,
    /// connection and outcome (see [`TokenLogEntry`]); its `seq` matches the [`Sim::log`] entry.
    pub fn token_log(&self) -> Vec<TokenLogEntry> {
        self.shared.lock().token_log.iter().cloned().collect()
    }

    /// Empties the request log and the token log.
    pub fn clear_log(&self) {
        let mut st = self.shared.lock();
        st.log.clear();
        st.token_log.clear();
    }

    /// A snapshot of one user (names compare case-insensitively).
    pub fn user(&self, name: &str) -> Option<UserState> {
        let st = self.shared.lock();
        self.shared.user_state(&st, &user_key(name))
    }

    /// Every user's snapshot, sorted by name.
    pub fn users(&self) -> Vec<UserState> {
        self.shared.all_users()
    }

    /// Invalidates tokens (one user's, or everyone's with `None`): the next request gets the
    /// 401 challenge.
    pub fn expire_tokens(&self, user: Option<&str>) {
        self.shared.expire_tokens(user);
    }

    /// Ends every application of the user server-side; parked P-GETs answer 404
    /// ApplicationNotFound.
    pub fn delete_applications(&self, user: &str) {
        self.shared.delete_applications(user);
    }

    /// Changes the user's presence "from another device": every made-available application
    /// of the user receives a presence `updated` event.
    pub fn set_presence_elsewhere(&self, user: &str, availability: &str, activity: Option<&str>) {
        self.shared
            .set_presence_elsewhere(user, availability, activity);
    }

    /// The user's note changed on another device (`None` clears it).
    pub fn set_note_elsewhere(&self, user: &str, note: Option<&str>) {
        self.shared.set_text_elsewhere(user, Route::Note, note);
    }

    /// The user's location changed on another device (`None` clears it).
    pub fn set_location_elsewhere(&self, user: &str, location: Option<&str>) {
        self.shared
            .set_text_elsewhere(user, Route::Location, location);
    }

    /// Mints a bearer token valid on pool 1 for `user` for `lifetime_s` seconds, exactly like
    /// one from the token endpoint (the control API's `POST /_sim/tokens`). `None` for an
    /// unknown user or a lifetime that is not a number of seconds in [0, 1e9].
    pub fn mint_token(&self, user: &str, lifetime_s: f64) -> Option<MintedToken> {
        self.shared.mint_token(user, lifetime_s).ok()
    }

    /// The forward proxy's URL, `http://127.0.0.1:PORT/` (always loopback, whatever `listen`).
    pub fn proxy_url(&self) -> String {
        self.shared.proxy.url()
    }

    /// The forward proxy's bound address.
    pub fn proxy_addr(&self) -> SocketAddr {
        self.shared.proxy.addr()
    }

    /// The proxy's mode, required user and connection counts (`GET /_sim/proxy`).
    pub fn proxy_info(&self) -> ProxyInfo {
        self.shared.proxy.info()
    }

    /// Every request and tunnel the proxy saw so far, in arrival order (see [`ProxyLogEntry`]).
    pub fn proxy_log(&self) -> Vec<ProxyLogEntry> {
        self.shared.proxy.log()
    }

    /// Empties the proxy's log.
    pub fn clear_proxy_log(&self) {
        self.shared.proxy.clear_log();
    }

    /// From now on the proxy lets through only requests carrying these Basic credentials
    /// (`user`, `password`), answering the others 407; `None` requires none.
    pub fn proxy_require_credentials(&self, credentials: Option<(&str, &str)>) {
        let owned = credentials.map(|(u, p)| (u.to_owned(), p.to_owned()));
        self.shared.proxy.require_credentials(owned);
    }

    /// Switches the proxy's mode; [`ProxyMode::RefuseAndEcho`] also cuts open connections.
    pub fn set_proxy_mode(&self, mode: ProxyMode) {
        self.shared.proxy.set_mode(mode);
    }

    /// Closes every open proxy connection and tunnel: a client's next request comes anew.
    pub fn proxy_cut_connections(&self) {
        self.shared.proxy.cut_connections();
    }

    pub fn inject_fault(&self, fault: Fault) {
        self.shared.lock().faults.push(fault);
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Stops the simulator and waits until its ports are released.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_can_be_shared_across_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Sim>();
    }

    #[test]
    fn stop_releases_the_port_for_a_restart_on_the_same_address() {
        let sim = Sim::start(SimConfig::default()).unwrap();
        let addr = sim.addr();
        assert_eq!(sim.root_url(), format!("http://{addr}/"));
        sim.stop();
        let again = Sim::start(SimConfig {
            listen: addr,
            ..SimConfig::default()
        })
        .unwrap();
        assert_eq!(again.addr(), addr);
    }

    #[test]
    fn invalid_configuration_is_refused_at_start() {
        let bad = SimConfig {
            foreign_token_status: 403,
            ..SimConfig::default()
        };
        assert_eq!(
            Sim::start(bad).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        let bad = SimConfig {
            inactive_s: f64::NAN,
            ..SimConfig::default()
        };
        assert!(Sim::start(bad).is_err());
    }
}
