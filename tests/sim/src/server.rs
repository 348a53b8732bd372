//! Listeners and the request pipeline: binding pool 1, pool 2, the optional foreign listener
//! (SO_REUSEADDR, optional TLS) and the forward proxy's (served by `proxy`), one hyper
//! HTTP/1.1 connection task per socket (each with an id, which the Windows grant binds its
//! NTLM handshake to), and for each request: control API or classification → fault injection
//! → body → handler → log.

use std::fmt;
use std::io;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpSocket};
use tokio_rustls::TlsAcceptor;

use crate::config::{ForeignChallenge, SimConfig};
use crate::control;
use crate::handlers::{self, Outcome};
use crate::http::{read_body, Req, Resp, SimBody, JSON, JSON_PLAIN, VND_JSON};
use crate::paths::{Paths, Route};
use crate::proxy::{self, Proxy};
use crate::state::{Pool, PoolKind, Shared};
use crate::tls;
use crate::tokens::bearer_token;
use crate::types::{FaultAction, LogEntry};

mod faults;

use faults::Early;

/// Largest request body accepted (413 beyond).
const MAX_BODY: usize = 1 << 20;
/// Largest body kept in a log entry.
const MAX_LOGGED_BODY: usize = 4096;
/// Resolution of the inactivity and expiry timers.
const TICK: Duration = Duration::from_millis(50);

/// Returned by the service to make hyper drop the connection without writing a response
/// (fault `Close`).
#[derive(Debug)]
struct CloseConnection;

impl fmt::Display for CloseConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection closed by fault injection")
    }
}

impl std::error::Error for CloseConnection {}

fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // A restarted simulator must get its old port back while old connections linger.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

fn origin(scheme: &str, addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ip => ip,
    };
    match ip {
        IpAddr::V4(v4) => format!("{scheme}://{v4}:{}", addr.port()),
        IpAddr::V6(v6) => format!("{scheme}://[{v6}]:{}", addr.port()),
    }
}

/// Binds every listener, starts the accept loops and the ticker; returns once listening.
pub(crate) async fn launch(config: SimConfig) -> io::Result<Arc<Shared>> {
    config.validate()?;
    let tls = if config.tls {
        Some(tls::generate()?)
    } else {
        None
    };
    if let (Some(t), Some(path)) = (&tls, &config.ca_out) {
        std::fs::write(path, &t.ca_pem)?;
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    let l1 = bind(config.listen)?;
    let a1 = l1.local_addr()?;
    let l2 = bind(SocketAddr::new(a1.ip(), 0))?;
    let a2 = l2.local_addr()?;
    let lf = if !config.wants_foreign() {
        None
    } else {
        match bind(SocketAddr::from(([127, 0, 0, 2], 0))) {
            Ok(l) => Some(l),
            Err(e) => {
                eprintln!(
                    "ucwa-sim: warning: cannot bind 127.0.0.2 ({e}); running without the foreign listener"
                );
                None
            }
        }
    };
    let domain = config.domain();
    let make_pool = |kind, addr| {
        Arc::new(Pool {
            kind,
            addr,
            paths: Paths::new(config.layout, origin(scheme, addr), domain.clone())
                .with_options(config.absolute_hrefs, config.strict_paths),
            link_revisions: !config.no_link_revisions,
            bearer: config.bearer_challenge,
            grants: config.grants.join(","),
            fold_challenges: config.fold_challenges,
            modern_auth: config.modern_auth,
        })
    };
    let pool1 = make_pool(PoolKind::Pool1, a1);
    let pool2 = make_pool(PoolKind::Pool2, a2);
    let foreign = match &lf {
        Some(l) => Some(make_pool(PoolKind::Foreign, l.local_addr()?)),
        None => None,
    };
    let acceptor = tls
        .as_ref()
        .map(|t| TlsAcceptor::from(t.server_config.clone()));
    // The forward proxy listens on loopback whatever `listen` is: it is a test tool.
    let lp = bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    let proxy = Arc::new(Proxy::new(lp.local_addr()?, config.log_limit));
    tokio::spawn(proxy::accept_loop(lp, proxy.clone()));
    let shared = Arc::new(Shared::new(
        config,
        pool1.clone(),
        pool2.clone(),
        foreign.clone(),
        tls.map(|t| t.ca_pem),
        proxy,
    ));
    tokio::spawn(accept_loop(l1, acceptor.clone(), shared.clone(), pool1));
    tokio::spawn(accept_loop(l2, acceptor.clone(), shared.clone(), pool2));
    if let (Some(l), Some(p)) = (lf, foreign) {
        tokio::spawn(accept_loop(l, acceptor, shared.clone(), p));
    }
    let ticker = shared.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            ticker.tick(Instant::now());
        }
    });
    Ok(shared)
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    pool: Arc<Pool>,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Typically EMFILE under load: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let pool = pool.clone();
        let acceptor = acceptor.clone();
        let conn = shared.next_conn();
        tokio::spawn(async move {
            // Forgets the connection's pending handshake however the task ends (close, error,
            // or the runtime shutting down).
            let _closed = ConnectionClosed {
                shared: shared.clone(),
                conn,
            };
            match acceptor {
                Some(acc) => {
                    if let Ok(tls_stream) = acc.accept(stream).await {
                        serve_connection(tls_stream, shared, pool, conn).await;
                    }
                }
                None => serve_connection(stream, shared, pool, conn).await,
            }
        });
    }
}

/// Dropped when a connection's task ends.
struct ConnectionClosed {
    shared: Arc<Shared>,
    conn: u64,
}

impl Drop for ConnectionClosed {
    fn drop(&mut self) {
        self.shared.connection_closed(self.conn);
    }
}

async fn serve_connection<I>(io: I, shared: Arc<Shared>, pool: Arc<Pool>, conn: u64)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| entry(shared.clone(), pool.clone(), conn, req));
    let _ = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service)
        .await;
}

/// What the request asked for that shapes the answer's encoding and media type.
struct Negotiated {
    gzip: bool,
    vnd: bool,
}

impl Negotiated {
    fn of(headers: &hyper::HeaderMap) -> Negotiated {
        let joined = |name: hyper::header::HeaderName| {
            headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect::<Vec<_>>()
                .join(",")
                .to_ascii_lowercase()
        };
        let encodings = joined(hyper::header::ACCEPT_ENCODING);
        // `gzip` listed without `q=0`.
        let gzip = encodings.split(',').any(|part| {
            let mut it = part.split(';').map(str::trim);
            it.next() == Some("gzip") && !it.any(|p| p.replace(' ', "") == "q=0")
        });
        let vnd = joined(hyper::header::ACCEPT).contains("application/vnd.microsoft.com.ucwa+json");
        Negotiated { gzip, vnd }
    }
}

/// Shapes a handler's answer as real front ends send it: the media type per family (the UCWA
/// vendor type echoed when asked, or one charset'd type under `uniform_content_type`), gzip when
/// asked and allowed, `Vary: Accept-Encoding`, the front end's FQDN, the cache headers, and
/// `X-MS-UcwaVersion` only when configured.
fn finish(shared: &Shared, pool: &Pool, neg: &Negotiated, mut resp: Resp) -> Response<SimBody> {
    let config = &shared.config;
    if let Some(ct) = resp.header("content-type").map(str::to_owned) {
        if config.uniform_content_type {
            if ct.starts_with(JSON_PLAIN) {
                resp.set_header("Content-Type", JSON);
            }
        } else if neg.vnd && ct == JSON {
            resp.set_header("Content-Type", VND_JSON);
        }
    }
    if config.ucwa_version_header {
        resp.headers.push(("X-MS-UcwaVersion".into(), "2.0".into()));
    }
    resp.headers
        .push(("X-MS-Server-Fqdn".into(), pool.fqdn().to_owned()));
    // IIS front ends mark every answer uncacheable; discovery, user and errors (the bare
    // application/json family) also carry Expires and Pragma, as captured.
    if resp.header("cache-control").is_none() {
        resp.headers
            .push(("Cache-Control".into(), "no-cache".into()));
        if resp.header("content-type") == Some(JSON_PLAIN) {
            resp.headers.push(("Expires".into(), "-1".into()));
            resp.headers.push(("Pragma".into(), "no-cache".into()));
        }
    }
    if config.gzip {
        resp.headers.push(("Vary".into(), "Accept-Encoding".into()));
        if neg.gzip && !resp.body.is_empty() && resp.header("content-encoding").is_none() {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            if enc.write_all(&resp.body).is_ok() {
                if let Ok(zipped) = enc.finish() {
                    resp.body = zipped.into();
                    resp.headers
                        .push(("Content-Encoding".into(), "gzip".into()));
                }
            }
        }
    }
    to_hyper(resp)
}

fn to_hyper(resp: Resp) -> Response<SimBody> {
    let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut out = Response::new(SimBody::new(resp.body));
    *out.status_mut() = status;
    let headers = out.headers_mut();
    for (k, v) in &resp.headers {
        // from_bytes, not from_str: a canned or echoed value may carry non-ASCII (obs-text)
        // bytes; only control characters make a value unsendable.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_bytes(v.as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    out
}

fn logged_body(route: Route, req: &Req) -> Option<String> {
    if route == Route::Token || req.body_is_blank() || !req.content_type().contains("json") {
        return None;
    }
    let text = String::from_utf8_lossy(&req.body);
    let mut end = text.len().min(MAX_LOGGED_BODY);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(text[..end].to_owned())
}

/// A request before its body is read.
struct Head {
    method: String,
    path: String,
    query: Option<String>,
    headers: hyper::HeaderMap,
    conn: u64,
}

impl Head {
    fn with_body(self, body: hyper::body::Bytes) -> Req {
        Req {
            method: self.method,
            path: self.path,
            query: self.query,
            headers: self.headers,
            body,
            conn: self.conn,
        }
    }
}

async fn entry(
    shared: Arc<Shared>,
    pool: Arc<Pool>,
    conn: u64,
    req: Request<Incoming>,
) -> Result<Response<SimBody>, CloseConnection> {
    let (parts, body) = req.into_parts();
    let head = Head {
        method: parts.method.as_str().to_ascii_uppercase(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        conn,
    };
    if pool.kind == PoolKind::Pool1 && (head.path.starts_with("/_sim/") || head.path == "/_sim") {
        let body = read_body(body, MAX_BODY).await.unwrap_or_default();
        return Ok(to_hyper(control::handle(&shared, &head.with_body(body))));
    }

    let neg = Negotiated::of(&head.headers);
    let c = pool.paths.classify(&head.path);
    let mut log = log_entry(&shared, &pool, &head, c.route);
    let fault = shared.take_fault(&log.route, &log.path, &head.method);
    if let Some(early) = faults::before_body(fault.as_ref()).await {
        return match early {
            Early::Answer(status, resp) => {
                log.status = status;
                shared.push_log(log, None);
                Ok(resp)
            }
            Early::Close => {
                shared.push_log(log, None);
                Err(CloseConnection)
            }
        };
    }

    let Ok(body) = read_body(body, MAX_BODY).await else {
        let resp = Resp::error(
            413,
            "EntityTooLarge",
            None,
            "The request body is too large.",
        );
        log.status = resp.status;
        shared.push_log(log, None);
        return Ok(finish(&shared, &pool, &neg, resp));
    };
    let req = head.with_body(body);
    log.body = logged_body(c.route, &req);
    if let Some(FaultAction::EchoSecrets { status }) = fault {
        log.status = status;
        shared.push_log(log, None);
        return Ok(to_hyper(faults::echo_secrets(status, &req)));
    }
    let outcome = if pool.kind == PoolKind::Foreign {
        foreign(&shared, &pool, &req)
    } else {
        handlers::handle(&shared, &pool, &req, &c).await
    };
    log.status = outcome.resp.status;
    log.user = outcome.user;
    let token = outcome.token.map(|note| note.entry(&log, conn));
    shared.push_log(log, token);
    Ok(finish(&shared, &pool, &neg, outcome.resp))
}

/// The log entry of a request as it arrived (its status and user are filled in later).
fn log_entry(shared: &Shared, pool: &Pool, head: &Head, route: Route) -> LogEntry {
    LogEntry {
        seq: shared.next_seq(),
        method: head.method.clone(),
        path: match &head.query {
            Some(q) => format!("{}?{q}", head.path),
            None => head.path.clone(),
        },
        route: route.name().to_owned(),
        status: 0,
        pool: pool.kind.name().to_owned(),
        authorization: head.headers.contains_key(AUTHORIZATION),
        user: None,
        body: None,
        x_ms_origin: head
            .headers
            .get("x-ms-origin")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

/// The foreign listener: a host that is not the user's pool. Without a token it challenges
/// (with its own token URL, or with pool 1's to play the reflected-challenge attack); a request
/// that does carry a token gets `200 {}` under `reflect`, which tells the client nothing. The
/// log shows whether `Authorization` was sent and, when it held a live pool-1 token, whose.
fn foreign(shared: &Shared, pool: &Pool, req: &Req) -> Outcome {
    let leaked = shared.pool1_token_owner(req);
    let resp = match shared.config.foreign_challenge {
        ForeignChallenge::Own => pool.challenge(&shared.domain),
        ForeignChallenge::Reflect if bearer_token(req).is_some() => Resp::json(200, &json!({})),
        ForeignChallenge::Reflect => shared.pool1.challenge(&shared.domain),
    };
    Outcome::new(resp, leaked)
}
