//! The proxy's listener and connections. Each client connection is served by hyper (bounded
//! request heads, at most [`super::MAX_CONNECTIONS`] open): every request is checked and
//! logged, then either answered by the proxy, forwarded (absolute-form `http://` requests, over
//! one upstream connection per client connection, so a handshake the server binds to its TCP
//! connection survives the proxy), or turned into a `CONNECT` tunnel (bytes both ways until
//! either side closes). When the server closes the upstream connection, the client connection
//! ends too (after the answer in flight), as it would without the proxy; a cut ends everything
//! at once.

use std::error::Error;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, HOST, PROXY_AUTHORIZATION};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, Notify};

use super::answers::{self, Credentials};
use super::{Proxy, ProxyLogEntry, ProxyMode, MAX_DRAINED_BODY, MAX_HEAD, MAX_HEADERS};

type Answer = Response<Either<Full<Bytes>, Incoming>>;

/// Request headers that belong to the hop to the proxy, not to the server.
const HOP_BY_HOP: [&str; 7] = [
    "proxy-authorization",
    "proxy-connection",
    "connection",
    "keep-alive",
    "te",
    "upgrade",
    "transfer-encoding",
];

/// Returned by the service to end the client connection without an answer: the server closed
/// the upstream connection without one (the client must see the same), or the connection was
/// cut.
#[derive(Debug)]
struct Closed;

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection closed without an answer")
    }
}

impl Error for Closed {}

/// Accepts client connections until the runtime stops.
pub(crate) async fn accept_loop(listener: TcpListener, proxy: Arc<Proxy>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Typically EMFILE: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Some(id) = proxy.open_connection() else {
            continue; // over the bound: dropped, so closed
        };
        let _ = stream.set_nodelay(true);
        let open = Arc::new(Open(proxy.clone()));
        tokio::spawn(serve_connection(stream, proxy.clone(), id, open));
    }
}

/// Counts a client connection as open until its last part (HTTP side or tunnel) ends.
struct Open(Arc<Proxy>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.close_connection();
    }
}

/// The upstream connection of a client connection.
struct Upstream {
    addr: SocketAddr,
    sender: SendRequest<Incoming>,
    generation: u64,
}

/// One client connection.
struct Conn {
    proxy: Arc<Proxy>,
    id: u64,
    /// The cut generation when the connection was accepted: a request read after a cut, before
    /// the connection's task saw it, is not answered.
    generation: u64,
    open: Arc<Open>,
    upstream: Mutex<Option<Upstream>>,
    /// Told when the current upstream connection ended.
    upstream_gone: Notify,
}

async fn serve_connection(stream: TcpStream, proxy: Arc<Proxy>, id: u64, open: Arc<Open>) {
    let mut cut = proxy.cut.subscribe();
    let generation = *cut.borrow_and_update();
    let conn = Arc::new(Conn {
        proxy,
        id,
        generation,
        open,
        upstream: Mutex::new(None),
        upstream_gone: Notify::new(),
    });
    let handler = conn.clone();
    let service = service_fn(move |req| handler.clone().handle(req));
    let http = http1::Builder::new()
        .max_buf_size(MAX_HEAD)
        .max_headers(MAX_HEADERS)
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(http);
    loop {
        tokio::select! {
            biased;
            _ = cut.changed() => return,
            _ = &mut http => return,
            _ = conn.upstream_gone.notified() => http.as_mut().graceful_shutdown(),
        }
    }
}

impl Conn {
    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Result<Answer, Closed> {
        if *self.proxy.cut.borrow() != self.generation {
            return Err(Closed);
        }
        let value = req
            .headers()
            .get(PROXY_AUTHORIZATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let credentials = Credentials::check(value.as_deref(), self.proxy.required().as_ref());
        let entry = ProxyLogEntry {
            seq: self.proxy.next_seq(),
            conn: self.id,
            method: req.method().as_str().to_owned(),
            target: req.uri().to_string(),
            version: format!("{:?}", req.version()),
            credentials: credentials.sent,
            user: credentials.user,
            authorized: credentials.authorized,
            answered: None,
        };
        if self.proxy.mode() == ProxyMode::RefuseAndEcho {
            drain(req).await;
            return Ok(self.answer(entry, answers::echo_refusal(value.as_deref())));
        }
        if !credentials.authorized {
            drain(req).await;
            return Ok(self.answer(entry, answers::challenge()));
        }
        if req.method() == Method::CONNECT {
            return Ok(self.tunnel(req, entry).await);
        }
        self.forward(req, entry).await
    }

    /// Logs `entry` as answered by the proxy itself with `resp`.
    fn answer(&self, mut entry: ProxyLogEntry, resp: Response<Full<Bytes>>) -> Answer {
        entry.answered = Some(resp.status().as_u16());
        self.proxy.push(entry);
        resp.map(Either::Left)
    }

    /// `CONNECT host:port`: 200 and a tunnel to a loopback target, else 502.
    async fn tunnel(self: Arc<Self>, req: Request<Incoming>, entry: ProxyLogEntry) -> Answer {
        let target = req
            .uri()
            .authority()
            .and_then(|a| answers::loopback(a.host(), a.port_u16()?));
        let upstream = match target {
            Some(addr) => TcpStream::connect(addr).await.ok(),
            None => None,
        };
        let Some(upstream) = upstream else {
            return self.answer(entry, answers::refusal(502));
        };
        let mut cut = self.proxy.cut.subscribe();
        // The tunnel keeps the connection counted as open until it ends.
        let open = self.open.clone();
        tokio::spawn(async move {
            let _open = open;
            let Ok(upgraded) = hyper::upgrade::on(req).await else {
                return;
            };
            let mut client = TokioIo::new(upgraded);
            let mut server = upstream;
            tokio::select! {
                biased;
                _ = cut.changed() => {}
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
            }
        });
        self.answer(entry, answers::own(200, &[], String::new()))
    }

    /// An absolute-form `http://` request to a loopback target, sent on this connection's
    /// upstream connection in origin form without the proxy's own headers.
    async fn forward(
        self: Arc<Self>,
        req: Request<Incoming>,
        entry: ProxyLogEntry,
    ) -> Result<Answer, Closed> {
        let uri = req.uri();
        let Some(authority) = uri.authority().filter(|_| uri.scheme_str() == Some("http")) else {
            drain(req).await;
            return Ok(self.answer(entry, answers::refusal(400)));
        };
        let target = answers::loopback(authority.host(), authority.port_u16().unwrap_or(80));
        let host = HeaderValue::from_str(authority.as_str()).ok();
        let sent = match target {
            Some(addr) => self.send(addr, req, host).await,
            None => None,
        };
        let Some(sent) = sent else {
            return Ok(self.answer(entry, answers::refusal(502)));
        };
        self.proxy.push(entry);
        match sent.await {
            Ok(mut resp) => {
                // The server's `Connection: close` is about the upstream hop; the client's
                // connection ends when the upstream one does (see `serve_connection`).
                for name in ["connection", "keep-alive", "proxy-connection"] {
                    resp.headers_mut().remove(name);
                }
                Ok(resp.map(Either::Right))
            }
            Err(_) => Err(Closed),
        }
    }

    /// Sends `req` upstream; `None` when no upstream connection can be had.
    async fn send(
        self: &Arc<Self>,
        addr: SocketAddr,
        req: Request<Incoming>,
        host: Option<HeaderValue>,
    ) -> Option<impl std::future::Future<Output = hyper::Result<Response<Incoming>>>> {
        let (mut parts, body) = req.into_parts();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        parts.uri = Uri::try_from(path).ok()?;
        for name in HOP_BY_HOP {
            parts.headers.remove(name);
        }
        if let (false, Some(host)) = (parts.headers.contains_key(HOST), host) {
            parts.headers.insert(HOST, host);
        }
        let mut slot = self.upstream.lock().await;
        let usable = match slot.as_mut() {
            Some(up) if up.addr == addr => up.sender.ready().await.is_ok(),
            _ => false,
        };
        if !usable {
            let generation = slot.as_ref().map_or(1, |up| up.generation + 1);
            *slot = Some(self.connect(addr, generation).await?);
        }
        let up = slot.as_mut()?;
        Some(up.sender.send_request(Request::from_parts(parts, body)))
    }

    /// A new upstream connection; its end tells the client connection, while it is current.
    async fn connect(self: &Arc<Self>, addr: SocketAddr, generation: u64) -> Option<Upstream> {
        let tcp = TcpStream::connect(addr).await.ok()?;
        let _ = tcp.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .ok()?;
        let conn: Weak<Conn> = Arc::downgrade(self);
        tokio::spawn(async move {
            let _ = connection.await;
            if let Some(conn) = conn.upgrade() {
                let current = conn.upstream.lock().await.as_ref().map(|u| u.generation);
                if current == Some(generation) {
                    conn.upstream_gone.notify_one();
                }
            }
        });
        Some(Upstream {
            addr,
            sender,
            generation,
        })
    }
}

/// Reads (and drops) what is left of a request the proxy answers itself, so that closing the
/// connection after the answer is not a reset that could overtake it.
async fn drain(req: Request<Incoming>) {
    let _ = crate::http::read_body(req.into_body(), MAX_DRAINED_BODY).await;
}
