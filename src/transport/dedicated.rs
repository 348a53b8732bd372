//! One HTTP/1.1 connection of its own, for a handshake that is bound to its connection: the
//! Windows grant's NTLM and Negotiate legs must all travel on the connection the server
//! challenged, which a pooled client does not promise (it may open a second connection while
//! the first is still being returned to its pool). Same trust (platform store plus `ca_file`),
//! same proxy choice, same body cap, timeout and request count as every other exchange; an
//! https request through a proxy goes through a `CONNECT` tunnel, as reqwest does it.
//!
//! The event channel keeps such a connection too ([`Kept`]), across its P-GETs, opened again
//! when it breaks: a P-GET is parked for minutes, and on the pooled client each parked one also
//! held the pool's per-request machinery and a full-size read buffer (about 10 KiB a client).

use std::pin::Pin;
use std::sync::Mutex;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST, USER_AGENT};
use reqwest::Method;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use url::Url;

use super::{body_too_large, Body, Exchange, Reply};
use crate::error::{Error, Step};
use crate::proxy::ProxyChoice;

/// The longest answer head a proxy may send to `CONNECT`.
const MAX_CONNECT_HEAD: usize = 16 * 1024;

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// A connection opened for one handshake; closed when dropped.
pub struct Dedicated<'a> {
    ex: &'a Exchange<'a>,
    conn: Conn,
}

/// One open HTTP/1.1 connection to an origin, without the exchange that opened it: a
/// handshake's [`Dedicated`] and the event channel's [`Kept`] both hold one.
struct Conn {
    sender: SendRequest<Full<Bytes>>,
    /// Drives the connection; aborted (the socket closed) when this is dropped.
    driver: tokio::task::JoinHandle<()>,
    /// Requests go in absolute form, with the proxy's credentials (plain http via a proxy).
    via_proxy: Option<Option<String>>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

fn network(step: Step, url: &Url, detail: String) -> Error {
    Error::Network {
        step,
        detail,
        path: url.path().to_string(),
    }
}

/// `Basic` credentials of a proxy URL's user information, if it has any.
fn proxy_authorization(proxy: &Url) -> Option<String> {
    let (user, password) = crate::proxy::user_password(proxy)?;
    Some(format!("Basic {}", *crate::proxy::basic(&user, &password)))
}

impl<'a> Dedicated<'a> {
    /// Opens a connection to `url`'s origin (through the proxy the exchange's choice names for
    /// it), within the exchange's timeout.
    pub async fn open(ex: &'a Exchange<'a>, step: Step, url: &Url) -> Result<Dedicated<'a>, Error> {
        let conn = Conn::open(ex, step, url, "the Windows sign-in", None).await?;
        Ok(Dedicated { ex, conn })
    }

    /// POSTs `body` to `url` on this connection and reads the whole answer (within the cap).
    /// The connection stays open for the next leg unless the server closes it.
    pub async fn send(
        &mut self,
        step: Step,
        url: &Url,
        authorization: Option<&str>,
        body: &Body,
    ) -> Result<Reply, Error> {
        let ex = self.ex;
        let started = std::time::Instant::now();
        let result = self.send_leg(step, url, authorization, body).await;
        ex.record(
            step,
            &Method::POST,
            url,
            authorization,
            body,
            &result,
            started,
        );
        result
    }

    async fn send_leg(
        &mut self,
        step: Step,
        url: &Url,
        authorization: Option<&str>,
        body: &Body,
    ) -> Result<Reply, Error> {
        let ex = self.ex;
        let req = self
            .conn
            .request(ex, step, Method::POST, url, authorization, body)?;
        ex.counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tokio::time::timeout(ex.timeout, self.conn.exchange(ex, step, url, req))
            .await
            .map_err(|_| Error::Timeout {
                step,
                detail: format!("no answer within {:.0} s", ex.timeout.as_secs_f64()),
                path: url.path().to_string(),
            })?
    }
}

impl Conn {
    /// Opens a connection to `url`'s origin (through the proxy the exchange's choice names for
    /// it), within the exchange's timeout; `purpose` names it in a timeout's message. With
    /// `read_size`, the connection reads in chunks of that size, so an idle one keeps no more
    /// read room than that.
    async fn open(
        ex: &Exchange<'_>,
        step: Step,
        url: &Url,
        purpose: &str,
        read_size: Option<usize>,
    ) -> Result<Conn, Error> {
        let opened = tokio::time::timeout(ex.timeout, Self::connect(ex, step, url)).await;
        let (io, via_proxy) = opened.map_err(|_| Error::Timeout {
            step,
            detail: format!("connecting for {purpose} timed out"),
            path: url.path().to_string(),
        })??;
        let mut builder = hyper::client::conn::http1::Builder::new();
        if read_size.is_some() {
            builder.read_buf_exact_size(read_size);
        }
        let (sender, conn) = builder
            .handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .map_err(|e| network(step, url, format!("HTTP handshake failed: {e}")))?;
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn {
            sender,
            driver,
            via_proxy,
        })
    }

    /// Whether the connection can no longer carry a request (the server closed it).
    fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    async fn connect(
        ex: &Exchange<'_>,
        step: Step,
        url: &Url,
    ) -> Result<(Pin<Box<dyn Io>>, Option<Option<String>>), Error> {
        let host = url
            .host_str()
            .ok_or_else(|| network(step, url, "the URL has no host".into()))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| network(step, url, "the URL has no port".into()))?;
        let bare_host = host.trim_start_matches('[').trim_end_matches(']');
        let proxy = ex.proxy.proxy_for(url);
        let (dial_host, dial_port) = match &proxy {
            Some(p) => (
                p.host_str()
                    .unwrap_or_default()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string(),
                p.port_or_known_default().unwrap_or(80),
            ),
            None => (bare_host.to_string(), port),
        };
        let tcp = tokio::net::TcpStream::connect((dial_host.as_str(), dial_port))
            .await
            .map_err(|e| match &proxy {
                Some(_) => network(step, url, format!("cannot connect to the HTTP proxy: {e}")),
                None => network(step, url, format!("cannot connect: {e}")),
            })?;
        let _ = tcp.set_nodelay(true);
        let mut io: Pin<Box<dyn Io>> = Box::pin(tcp);
        if url.scheme() == "https" {
            if let Some(p) = &proxy {
                tunnel(
                    &mut io,
                    step,
                    url,
                    &format!("{host}:{port}"),
                    proxy_authorization(p),
                )
                .await?;
            }
            let name =
                rustls::pki_types::ServerName::try_from(bare_host.to_string()).map_err(|_| {
                    network(step, url, "the host is not a valid TLS server name".into())
                })?;
            let config = crate::engine::tls_config(ex.ca)?;
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, io)
                .await
                .map_err(|e| Error::Tls {
                    step,
                    detail: format!("TLS handshake failed: {e}"),
                    path: url.path().to_string(),
                })?;
            return Ok((Box::pin(tls), None));
        }
        Ok((io, proxy.map(|p| proxy_authorization(&p))))
    }

    /// The request: in origin form, or in absolute form with the proxy's credentials when
    /// plain http goes through a proxy; the credentials marked sensitive.
    fn request(
        &self,
        ex: &Exchange<'_>,
        step: Step,
        method: Method,
        url: &Url,
        authorization: Option<&str>,
        body: &Body,
    ) -> Result<hyper::Request<Full<Bytes>>, Error> {
        let target = match &self.via_proxy {
            Some(_) => url.as_str().to_string(),
            None => match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_string(),
            },
        };
        let host = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        let bad = |_| network(step, url, "a request header could not be built".into());
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(target)
            .header(HOST, HeaderValue::from_str(&host).map_err(bad)?)
            .header(ACCEPT, body.accept())
            .header(
                USER_AGENT,
                HeaderValue::from_str(ex.user_agent).map_err(bad)?,
            );
        if let Some(ct) = body.content_type() {
            req = req.header(CONTENT_TYPE, ct);
        }
        if let Some(a) = authorization {
            let mut v = HeaderValue::from_str(a).map_err(bad)?;
            v.set_sensitive(true);
            req = req.header(AUTHORIZATION, v);
        }
        if let Some(Some(p)) = &self.via_proxy {
            let mut v = HeaderValue::from_str(p).map_err(bad)?;
            v.set_sensitive(true);
            req = req.header("proxy-authorization", v);
        }
        req.body(Full::new(body.bytes()))
            .map_err(|_| network(step, url, "the request could not be built".into()))
    }

    /// Sends `req` once the connection is ready and reads the answer, up to the body cap.
    async fn exchange(
        &mut self,
        ex: &Exchange<'_>,
        step: Step,
        url: &Url,
        req: hyper::Request<Full<Bytes>>,
    ) -> Result<Reply, Error> {
        self.sender
            .ready()
            .await
            .map_err(|e| network(step, url, format!("the connection closed: {e}")))?;
        let resp = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| network(step, url, format!("request failed: {e}")))?;
        let (parts, mut incoming) = resp.into_parts();
        let mut answer = Vec::new();
        while let Some(frame) = incoming.frame().await {
            let frame =
                frame.map_err(|e| network(step, url, format!("reading the answer failed: {e}")))?;
            if let Ok(chunk) = frame.into_data() {
                if answer.len() + chunk.len() > ex.max_body {
                    let status = parts.status.as_u16();
                    return Err(body_too_large(step, url, status, ex.max_body));
                }
                answer.extend_from_slice(&chunk);
            }
        }
        Ok(Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: answer,
            url: url.clone(),
            secrets: ex.secrets.clone(),
        })
    }
}

/// Asks the proxy for a tunnel to `authority` and reads its answer head; anything but a 2xx
/// is an error that says it was the proxy's refusal.
async fn tunnel(
    io: &mut Pin<Box<dyn Io>>,
    step: Step,
    url: &Url,
    authority: &str,
    credentials: Option<String>,
) -> Result<(), Error> {
    let mut head = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(c) = &credentials {
        head.push_str(&format!("Proxy-Authorization: {c}\r\n"));
    }
    head.push_str("\r\n");
    let head = zeroize::Zeroizing::new(head);
    io.write_all(head.as_bytes()).await.map_err(|e| {
        network(
            step,
            url,
            format!("the HTTP proxy closed the connection: {e}"),
        )
    })?;
    let mut answer = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    // Byte by byte: nothing after the head may be consumed, it belongs to the TLS handshake.
    while !answer.ends_with(b"\r\n\r\n") {
        if answer.len() >= MAX_CONNECT_HEAD {
            return Err(network(
                step,
                url,
                "the HTTP proxy's CONNECT answer is too long".into(),
            ));
        }
        let n = io.read(&mut byte).await.map_err(|e| {
            network(
                step,
                url,
                format!("the HTTP proxy closed the connection: {e}"),
            )
        })?;
        if n == 0 {
            return Err(network(
                step,
                url,
                "the HTTP proxy closed the connection during CONNECT".into(),
            ));
        }
        answer.push(byte[0]);
    }
    let status = std::str::from_utf8(&answer)
        .ok()
        .and_then(|t| t.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(0);
    match status {
        200..=299 => Ok(()),
        407 => Err(network(
            step,
            url,
            "the HTTP proxy refused the CONNECT (407 Proxy Authentication Required): check the credentials of the proxy option".into(),
        )),
        s => Err(network(step, url, format!("the HTTP proxy refused the CONNECT ({s})"))),
    }
}

/// The kept connection reads in chunks of this size: an event answer is small, and an idle
/// connection keeps no more read room than this (8 KiB by default).
const READ_SIZE: usize = 1024;

/// The connection of one event channel, while it is open; closed when dropped.
#[derive(Default)]
pub struct Kept {
    /// The origin and proxy choice it was opened for, and the connection; taken out while a
    /// request is on it, put back once its answer is read whole.
    open: Mutex<Option<(String, ProxyChoice, Conn)>>,
}

impl Kept {
    /// Sends one request on the kept connection (opening one when there is none for this
    /// origin, or it closed) and reads the whole answer, within the exchange's timeout. A
    /// connection that was kept and fails before an answer is replaced once: every request
    /// sent here (a P-GET) is safe to repeat, as on the pooled client.
    pub(super) async fn send(
        &self,
        ex: &Exchange<'_>,
        step: Step,
        method: Method,
        url: &Url,
        authorization: Option<&str>,
        body: &Body,
    ) -> Result<Reply, Error> {
        let origin = url.origin().ascii_serialization();
        let attempts = async {
            let mut replaced = false;
            loop {
                let held = self.take(&origin, ex.proxy);
                let reused = held.is_some();
                let mut conn = match held {
                    Some(conn) => conn,
                    None => Conn::open(ex, step, url, "the event channel", Some(READ_SIZE)).await?,
                };
                let req = conn.request(ex, step, method.clone(), url, authorization, body)?;
                ex.counter
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                match conn.exchange(ex, step, url, req).await {
                    Ok(reply) => {
                        self.put(origin, ex.proxy.clone(), conn);
                        return Ok(reply);
                    }
                    Err(Error::Network { .. }) if reused && !replaced => replaced = true,
                    // Dropping the connection closes it: whatever is left of the answer is
                    // never read.
                    Err(e) => return Err(e),
                }
            }
        };
        tokio::time::timeout(ex.timeout, attempts)
            .await
            .map_err(|_| Error::Timeout {
                step,
                detail: format!("no answer within {:.0} s", ex.timeout.as_secs_f64()),
                path: url.path().to_string(),
            })?
    }

    /// The open connection, if it is for this origin and proxy choice and still usable; any
    /// other is dropped (closed).
    fn take(&self, origin: &str, proxy: &ProxyChoice) -> Option<Conn> {
        let held = self.open.lock().unwrap_or_else(|p| p.into_inner()).take();
        held.and_then(|(o, p, conn)| {
            (o == origin && p == *proxy && !conn.is_closed()).then_some(conn)
        })
    }

    fn put(&self, origin: String, proxy: ProxyChoice, conn: Conn) {
        *self.open.lock().unwrap_or_else(|p| p.into_inner()) = Some((origin, proxy, conn));
    }
}
