//! The process-wide async engine: a lazily created tokio runtime and the shared reqwest
//! clients (one per distinct TLS configuration) for all background work, plus the blocking
//! bridge the public API uses.
//!
//! Blocking calls run on the caller's thread, on a single-threaded "foreground" runtime taken
//! from a small pool, with HTTP clients of its own: a warm call then sends and receives on the
//! caller's thread instead of handing every request to an engine worker and back (that handoff
//! cost about 60% over a bare libcurl POST). Background work (event channel, timers, recovery)
//! stays on the shared engine.
//!
//! Thread budget: two engine workers, at most four blocking threads (DNS look-ups) for the
//! engine and one per pooled foreground runtime, so a thousand signed-in clients cost a
//! handful of OS threads.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::error::Error;
use crate::proxy::ProxyChoice;

static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
static CLIENTS: OnceLock<ClientMap> = OnceLock::new();

/// HTTP clients by the content key of their CA bundle (`None`: platform store only) and their
/// proxy choice.
type ClientMap = Mutex<HashMap<(Option<u64>, ProxyChoice), reqwest::Client>>;

/// A single-threaded runtime for blocking calls, with the HTTP clients whose connections it
/// drives (a connection belongs to the runtime that opened it).
struct Foreground {
    runtime: tokio::runtime::Runtime,
    clients: Arc<ClientMap>,
}

/// Idle foreground runtimes; at most this many are kept between calls.
const FOREGROUND_POOL: usize = 8;
static FOREGROUNDS: Mutex<Vec<Foreground>> = Mutex::new(Vec::new());

thread_local! {
    /// The clients of the foreground runtime this thread is inside, during a blocking call.
    static CURRENT_CLIENTS: RefCell<Option<Arc<ClientMap>>> = const { RefCell::new(None) };
}

/// Marks this thread as inside a foreground call for as long as it lives (also on unwinding).
struct ForegroundScope;

impl ForegroundScope {
    fn enter(fg: &Foreground) -> Self {
        CURRENT_CLIENTS.with(|c| *c.borrow_mut() = Some(fg.clients.clone()));
        ForegroundScope
    }
}

impl Drop for ForegroundScope {
    fn drop(&mut self) {
        CURRENT_CLIENTS.with(|c| *c.borrow_mut() = None);
    }
}

fn foreground() -> Result<Foreground, Error> {
    if let Some(f) = FOREGROUNDS.lock().unwrap_or_else(|p| p.into_inner()).pop() {
        return Ok(f);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .max_blocking_threads(1)
        .thread_keep_alive(Duration::from_secs(10))
        .thread_name("ucwa-foreground")
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("a foreground runtime could not start: {e}")))?;
    Ok(Foreground {
        runtime,
        clients: Arc::default(),
    })
}

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

/// Runs `fut` to completion on the calling thread, on a pooled single-threaded runtime.
pub(crate) fn block_on<T>(fut: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::InvalidState(
            "a blocking ucwa call was made from inside an async runtime; call it from a plain thread (e.g. spawn_blocking)".into(),
        ));
    }
    let fg = foreground()?;
    let scope = ForegroundScope::enter(&fg);
    // Boxed: the runtime moves the future a few times on entry; moving a pointer instead
    // keeps a warm call cheap (`Client` boxes the session future itself where it is made).
    let result = fg.runtime.block_on(Box::pin(fut));
    drop(scope);
    let mut pool = FOREGROUNDS.lock().unwrap_or_else(|p| p.into_inner());
    if pool.len() < FOREGROUND_POOL {
        pool.push(fg);
    }
    result
}

/// The most idle connections a pool keeps to one server. The event channels park on
/// connections of their own (`transport::Kept`), so the pool carries only short requests; a
/// burst of them (10,000 clients made available at once) would otherwise leave as many idle
/// connections behind for the idle timeout, ~16 KiB each.
const MAX_IDLE_PER_HOST: usize = 16;

/// The most a CA file may hold.
pub(crate) const MAX_CA_FILE: u64 = 1024 * 1024;

/// The extra trusted certificates of one `ca_file`, read and parsed once when the option is
/// set; HTTP clients are shared between bundles of the same content.
pub struct CaBundle {
    key: u64,
    certs: Vec<reqwest::Certificate>,
    /// The same certificates for the dedicated connection's own TLS (see [`tls_config`]).
    der: Vec<rustls::pki_types::CertificateDer<'static>>,
}

impl std::fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CaBundle({} certificates)", self.certs.len())
    }
}

impl CaBundle {
    /// Reads a PEM bundle: opened without blocking (a FIFO without a writer cannot hang the
    /// host), only a regular file, at most [`MAX_CA_FILE`] bytes, at least one certificate.
    pub fn load(path: &Path) -> Result<CaBundle, String> {
        use std::hash::{Hash, Hasher};
        use std::io::Read;
        let mut open = std::fs::OpenOptions::new();
        open.read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            open.custom_flags(libc::O_NONBLOCK);
        }
        let file = open
            .open(path)
            .map_err(|e| format!("cannot open CA file: {e}"))?;
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot read CA file: {e}"))?;
        if !meta.is_file() {
            return Err("CA file is not a regular file".into());
        }
        if meta.len() > MAX_CA_FILE {
            return Err(format!("CA file is larger than {MAX_CA_FILE} bytes"));
        }
        let mut pem = Vec::new();
        file.take(MAX_CA_FILE + 1)
            .read_to_end(&mut pem)
            .map_err(|e| format!("cannot read CA file: {e}"))?;
        if pem.len() as u64 > MAX_CA_FILE {
            return Err(format!("CA file is larger than {MAX_CA_FILE} bytes"));
        }
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("CA file is not a PEM certificate bundle: {e}"))?;
        if certs.is_empty() {
            return Err("CA file holds no certificate".into());
        }
        use rustls::pki_types::pem::PemObject;
        let der = rustls::pki_types::CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("CA file is not a PEM certificate bundle: {e}"))?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        pem.hash(&mut h);
        Ok(CaBundle {
            key: h.finish(),
            certs,
            der,
        })
    }
}

/// The HTTP client for a TLS and proxy configuration (the foreground runtime's own during a
/// blocking call, else the engine's shared one): the platform trust store, plus the `ca_file`
/// bundle; the proxy of `proxy` (see `crate::proxy`; the environment is read when the client is
/// built). Redirects are never followed automatically: every hop passes our own security checks.
pub(crate) fn http_client(
    ca: Option<&CaBundle>,
    proxy: &ProxyChoice,
) -> Result<reqwest::Client, Error> {
    let key = (ca.map(|b| b.key), proxy.clone());
    let current = CURRENT_CLIENTS.with(|c| c.borrow().clone());
    let clients = match &current {
        Some(c) => c.as_ref(),
        None => CLIENTS.get_or_init(Default::default),
    };
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
        .pool_max_idle_per_host(MAX_IDLE_PER_HOST)
        .connect_timeout(Duration::from_secs(15));
    if let Some(bundle) = ca {
        for cert in &bundle.certs {
            builder = builder.add_root_certificate(cert.clone());
        }
    }
    // Never reqwest's own reading of the environment: ours keeps loopback direct.
    builder = builder.no_proxy();
    if let Some(p) = proxy.to_reqwest()? {
        builder = builder.proxy(p);
    }
    let client = builder
        .build()
        .map_err(|e| Error::Internal(format!("HTTP client could not be built: {e}")))?;
    map.insert(key, client.clone());
    Ok(client)
}

/// The platform's trusted roots, read once: loading the store is slow, and it does not change
/// under a running process in any way a sign-in should notice.
fn platform_roots() -> &'static [rustls::pki_types::CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<rustls::pki_types::CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// The TLS configuration of a dedicated connection (`transport::Dedicated`): the same trust as
/// the HTTP clients (the platform store plus the `ca_file` bundle), HTTP/1.1 only, kept per
/// bundle so a sign-in does not rebuild it.
pub(crate) fn tls_config(ca: Option<&CaBundle>) -> Result<Arc<rustls::ClientConfig>, Error> {
    type Configs = Mutex<HashMap<Option<u64>, Arc<rustls::ClientConfig>>>;
    static CONFIGS: OnceLock<Configs> = OnceLock::new();
    let key = ca.map(|b| b.key);
    let mut map = CONFIGS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(c) = map.get(&key) {
        return Ok(c.clone());
    }
    let mut roots = rustls::RootCertStore::empty();
    // A platform root rustls cannot read is skipped, as reqwest skips it.
    let _ = roots.add_parsable_certificates(platform_roots().iter().cloned());
    for cert in ca.map(|b| b.der.as_slice()).unwrap_or_default() {
        roots
            .add(cert.clone())
            .map_err(|e| Error::Internal(format!("CA certificate not usable: {e}")))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Internal(format!("TLS configuration: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let config = Arc::new(config);
    map.insert(key, config.clone());
    Ok(config)
}
