//! The one process-wide async engine: a lazily created tokio runtime and the shared reqwest
//! clients (one per distinct TLS configuration), plus the blocking bridge the public API uses.
//!
//! Thread budget: two runtime workers and at most four blocking threads (DNS look-ups), so a
//! thousand signed-in clients cost a handful of OS threads.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::error::Error;

static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
static CLIENTS: OnceLock<Mutex<HashMap<Option<PathBuf>, reqwest::Client>>> = OnceLock::new();

fn runtime() -> &'static tokio::runtime::Runtime {
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(4)
            .thread_keep_alive(Duration::from_secs(10))
            .thread_name("ucwa-engine")
            .enable_all()
            .build()
            .expect("the ucwa engine's tokio runtime could not start")
    })
}

/// A handle for spawning supervisor tasks.
pub(crate) fn handle() -> tokio::runtime::Handle {
    runtime().handle().clone()
}

/// Runs `fut` to completion on the calling thread, driven by the shared engine.
pub(crate) fn block_on<T>(fut: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::InvalidState(
            "a blocking ucwa call was made from inside an async runtime; call it from a plain thread (e.g. spawn_blocking)".into(),
        ));
    }
    // Boxed: the session futures are several KiB, and the runtime moves the future a few
    // times on entry; moving a pointer instead keeps a warm call cheap.
    runtime().block_on(Box::pin(fut))
}

/// Reads a PEM bundle and checks that it holds at least one certificate.
pub(crate) fn load_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read CA file: {e}"))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| format!("CA file is not a PEM certificate bundle: {e}"))?;
    if certs.is_empty() {
        return Err("CA file holds no certificate".into());
    }
    Ok(certs)
}

/// The shared HTTP client for a TLS configuration: the platform trust store, plus `ca_file`.
/// Redirects are never followed automatically: every hop passes our own security checks.
pub(crate) fn http_client(ca_file: Option<&Path>) -> Result<reqwest::Client, Error> {
    let key = ca_file.map(Path::to_path_buf);
    let clients = CLIENTS.get_or_init(Default::default);
    let mut map = clients.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = map.get(&key) {
        return Ok(c.clone());
    }
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(true)
        .https_only(false)
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        .connect_timeout(Duration::from_secs(15));
    if let Some(path) = ca_file {
        for cert in load_ca_file(path).map_err(Error::InvalidArgument)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    let client = builder
        .build()
        .map_err(|e| Error::Internal(format!("HTTP client could not be built: {e}")))?;
    map.insert(key, client.clone());
    Ok(client)
}
