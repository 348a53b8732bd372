//! One HTTP exchange with a UCWA server: the headers every request carries, the mapping of
//! transport failures to errors, the bounded reading of response bodies, and the reading of
//! UCWA error bodies.
//!
//! No authentication or retry logic lives here (see `session`); this is the only place that
//! touches reqwest (and, in `dedicated`, hyper), so error mapping is uniform. Two rules of the Security section live here:
//! every body is read incrementally up to a cap (`max_body_bytes`), and server-provided text
//! reaches an error only through [`Reply::server_text`], which scrubs the session's secrets.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use reqwest::Method;
use serde::Deserialize;
use url::Url;
use zeroize::Zeroizing;

use crate::engine::CaBundle;
use crate::error::{Error, ServerError, Step};
use crate::hal::Resource;
use crate::options::Options;
use crate::proxy::ProxyChoice;
use crate::redact::Secrets;
use crate::transcript::Sink;

mod dedicated;
pub use dedicated::{Dedicated, Kept};

/// How many characters of a server's message an error quotes.
const MAX_QUOTED: usize = 300;

/// What a request carries.
pub enum Body {
    /// No body (GET, DELETE), or a POST with no body at all (reportMyActivity, presence reset).
    Empty,
    /// A JSON document, already serialized (shared, not copied, by every attempt).
    Json(bytes::Bytes),
    /// A form-encoded body (token requests); wiped from memory when dropped.
    Form(Zeroizing<String>),
    /// A `multipart/batching` body (UCWA `batch`): its content type (with the boundary) and
    /// the bytes; the answer is asked for as `multipart/batching` too.
    Batch(std::sync::Arc<str>, bytes::Bytes),
}

impl Body {
    /// The `Content-Type` this body is sent with (none for an empty one).
    fn content_type(&self) -> Option<&str> {
        match self {
            Body::Empty => None,
            Body::Json(_) => Some("application/json"),
            Body::Form(_) => Some("application/x-www-form-urlencoded;charset=UTF-8"),
            Body::Batch(ct, _) => Some(ct),
        }
    }

    /// The `Accept` its answer is asked for with: a batch's answer is a batch too.
    fn accept(&self) -> &'static str {
        match self {
            Body::Batch(..) => "multipart/batching",
            _ => "application/json",
        }
    }

    /// The bytes as they are held, for the transcript (which removes the secret fields).
    fn as_slice(&self) -> &[u8] {
        match self {
            Body::Empty => &[],
            Body::Json(b) | Body::Batch(_, b) => b,
            Body::Form(f) => f.as_bytes(),
        }
    }

    /// The bytes to send (shared, not copied, except a form's, which lives in wiped memory).
    fn bytes(&self) -> bytes::Bytes {
        match self {
            Body::Empty => bytes::Bytes::new(),
            Body::Json(b) | Body::Batch(_, b) => b.clone(),
            Body::Form(f) => bytes::Bytes::copy_from_slice(f.as_bytes()),
        }
    }
}

/// The error for an answer body over the cap (`max_body_bytes`), wherever it is read.
fn body_too_large(step: Step, url: &Url, status: u16, max_body: usize) -> Error {
    Error::Protocol {
        step,
        detail: format!("response body larger than {max_body} bytes"),
        http_status: Some(status),
        path: url.path().to_string(),
    }
}

/// A response, read whole (within the body cap).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub url: Url,
    /// The secrets of the session that sent the request, for [`Reply::server_text`].
    secrets: Secrets,
}

impl Reply {
    /// One answer carried inside this one (a `batch` part), read with the same scrubber.
    pub fn part(&self, status: u16, headers: HeaderMap, body: Vec<u8>, url: Url) -> Reply {
        Reply {
            status,
            headers,
            body,
            url,
            secrets: self.secrets.clone(),
        }
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn is_json(&self) -> bool {
        self.header("content-type")
            .is_some_and(|c| c.to_ascii_lowercase().contains("json"))
    }

    /// The `Retry-After` delay in seconds, if the server sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        parse_retry_after(self.headers.get(RETRY_AFTER)?.as_bytes())
    }

    /// Server-provided text as it may appear in an error or an event: every secret of the
    /// session scrubbed, control characters dropped, at most a few hundred characters. This
    /// is the one place where server text enters an error.
    pub fn server_text(&self, text: &str) -> String {
        let clean: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let scrubbed = self.secrets.scrub(&clean);
        scrubbed.chars().take(MAX_QUOTED).collect()
    }

    /// The `X-Ms-diagnostics` header, through [`Reply::server_text`].
    pub fn diagnostics(&self) -> Option<String> {
        let raw = self.headers.get("x-ms-diagnostics")?;
        Some(self.server_text(&String::from_utf8_lossy(raw.as_bytes())))
    }

    /// The body parsed as a UCWA resource, its hrefs resolved against the request URL.
    pub fn resource(&self, step: Step) -> Result<Resource, Error> {
        Resource::parse(step, &self.url, &self.body)
    }
}

/// `Retry-After` as delta-seconds; an HTTP date or anything else is ignored (no wait).
pub fn parse_retry_after(value: &[u8]) -> Option<Duration> {
    let v = std::str::from_utf8(value).ok()?.trim();
    if v.is_empty() || v.len() > 10 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse::<u64>().ok().map(Duration::from_secs)
}

/// Static per-request settings of a client, and the HTTP client (with its connection pool)
/// that carries them: the foreground runtime's own during a blocking call, else the engine's.
#[derive(Clone)]
pub struct Exchange<'a> {
    pub http: reqwest::Client,
    pub user_agent: &'a str,
    pub timeout: Duration,
    /// The owning client's request counter; every attempt counts, answered or not.
    pub counter: &'a AtomicU64,
    /// The longest response body read; a longer one is a protocol error.
    pub max_body: usize,
    /// The owning session's secrets, scrubbed from any server text.
    pub secrets: &'a Secrets,
    /// The TLS and proxy settings the HTTP client was built with, for a [`Dedicated`]
    /// connection.
    pub ca: Option<&'a CaBundle>,
    pub proxy: &'a ProxyChoice,
    /// A connection of the caller's own that this exchange's requests go on instead of the
    /// pool (the event channel's, see [`Kept`]).
    pub kept: Option<&'a Kept>,
    /// Where finished exchanges are recorded, when the client keeps a transcript.
    pub transcript: Option<&'a Sink>,
}

impl<'a> Exchange<'a> {
    /// The exchange for a client's options; the HTTP client is chosen here, by the TLS
    /// configuration, so callers never reach into the engine.
    pub fn new(
        opts: &'a Options,
        timeout: Duration,
        counter: &'a AtomicU64,
        secrets: &'a Secrets,
    ) -> Result<Exchange<'a>, Error> {
        Ok(Exchange {
            http: crate::engine::http_client(opts.ca.as_deref(), &opts.proxy)?,
            user_agent: &opts.user_agent,
            timeout,
            counter,
            max_body: opts.max_body,
            secrets,
            ca: opts.ca.as_deref(),
            proxy: &opts.proxy,
            kept: None,
            transcript: opts.transcript.as_ref(),
        })
    }

    /// The same exchange with another timeout.
    pub fn with_timeout(&self, timeout: Duration) -> Exchange<'a> {
        Exchange {
            timeout,
            ..self.clone()
        }
    }

    /// The same exchange, sending on `kept` (when given) instead of the pool.
    pub fn on(&self, kept: Option<&'a Kept>) -> Exchange<'a> {
        Exchange {
            kept,
            ..self.clone()
        }
    }

    /// Sends one request and reads the whole response. `authorization` is the full header value
    /// (`Bearer cwt=...`); the caller decides whether this origin may receive it.
    pub async fn send(
        &self,
        step: Step,
        method: Method,
        url: &Url,
        authorization: Option<&str>,
        body: Body,
    ) -> Result<Reply, Error> {
        let started = Instant::now();
        let result = match self.kept {
            Some(kept) => {
                kept.send(self, step, method.clone(), url, authorization, &body)
                    .await
            }
            None => {
                self.send_pooled(step, method.clone(), url, authorization, &body)
                    .await
            }
        };
        self.record(step, &method, url, authorization, &body, &result, started);
        result
    }

    /// Records a finished exchange (answered or not) in the transcript, when there is one.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record(
        &self,
        step: Step,
        method: &Method,
        url: &Url,
        authorization: Option<&str>,
        body: &Body,
        result: &Result<Reply, Error>,
        started: Instant,
    ) {
        let Some(sink) = self.transcript else {
            return;
        };
        let answer = match result {
            Ok(r) => Ok((r.status, &r.headers, r.body.as_slice())),
            Err(e) => Err(e.to_string()),
        };
        let sent = crate::transcript::Sent {
            purpose: step.to_string(),
            method: method.as_str(),
            url,
            accept: body.accept(),
            user_agent: self.user_agent,
            content_type: body.content_type(),
            authorization,
            body: body.as_slice(),
        };
        sink.record(self.secrets, &sent, answer, started.elapsed());
    }

    /// [`Exchange::send`] on the pooled client.
    async fn send_pooled(
        &self,
        step: Step,
        method: Method,
        url: &Url,
        authorization: Option<&str>,
        body: &Body,
    ) -> Result<Reply, Error> {
        let content_type = body.content_type();
        let accept = body.accept();
        let is_post_like = method != Method::GET;
        let mut attempt = 0;
        loop {
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .timeout(self.timeout)
                .header(ACCEPT, accept)
                .header(USER_AGENT, self.user_agent);
            if let Some(a) = authorization {
                req = req.header(AUTHORIZATION, a);
            }
            if let Some(ct) = content_type {
                req = req.header(CONTENT_TYPE, ct);
            }
            if content_type.is_some() || is_post_like {
                req = req.body(reqwest::Body::from(body.bytes()));
            }
            self.counter.fetch_add(1, Ordering::Relaxed);
            attempt += 1;
            let mut resp = match req.send().await {
                Ok(r) => r,
                // A kept-alive connection the server closed while it sat idle fails before any
                // answer; one retry opens a fresh connection. Every request this library sends
                // is safe to repeat (setters, activity reports, application creation with a
                // stable endpointId, DELETE).
                Err(e) if attempt == 1 && is_stale_connection(&e) => continue,
                Err(e) => return Err(transport_error(step, url, e)),
            };
            let status = resp.status().as_u16();
            let headers = std::mem::take(resp.headers_mut());
            let body = self.read_body(step, url, status, resp).await?;
            return Ok(Reply {
                status,
                headers,
                body,
                url: url.clone(),
                secrets: self.secrets.clone(),
            });
        }
    }

    /// Reads a body chunk by chunk into one buffer, refusing it as soon as it would pass the
    /// cap (at once when Content-Length already says so). Dropping the response on refusal
    /// closes the connection, so the rest is never read.
    async fn read_body(
        &self,
        step: Step,
        url: &Url,
        status: u16,
        mut resp: reqwest::Response,
    ) -> Result<Vec<u8>, Error> {
        let too_large = || body_too_large(step, url, status, self.max_body);
        let declared = resp.content_length();
        if declared.is_some_and(|n| n > self.max_body as u64) {
            return Err(too_large());
        }
        let initial = declared.map_or(8 * 1024, |n| n as usize);
        let mut body = Vec::with_capacity(initial.min(self.max_body));
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| transport_error(step, url, e))?
        {
            if body.len() + chunk.len() > self.max_body {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// Checks that an HTTP client can be built for these options (their CA bundle and proxy), so
/// a bad `ca_file` or `proxy` is refused where the host set it.
pub fn check_tls(opts: &Options) -> Result<(), Error> {
    crate::engine::http_client(opts.ca.as_deref(), &opts.proxy).map(|_| ())
}

/// Whether a request failed because its pooled connection was already dead (closed or reset
/// by the peer before an answer), as opposed to a slow or refusing server.
fn is_stale_connection(e: &reqwest::Error) -> bool {
    if e.is_timeout() || e.is_connect() {
        return false;
    }
    let text = error_chain(e).to_ascii_lowercase();
    text.contains("connection closed before message completed")
        || text.contains("connection reset")
        || text.contains("broken pipe")
}

/// The error and all its sources, as one `a: b: c` line.
fn error_chain(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut src: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = src {
        parts.push(s.to_string());
        src = s.source();
    }
    parts.join(": ")
}

fn transport_error(step: Step, url: &Url, e: reqwest::Error) -> Error {
    let path = url.path().to_string();
    let chain = error_chain(&e);
    let lower = chain.to_ascii_lowercase();
    let detail = chain.replace(url.as_str(), "");
    if e.is_timeout() || lower.contains("timed out") {
        Error::Timeout { step, detail, path }
    } else if lower.contains("certificate")
        || lower.contains("tls")
        || lower.contains("handshake")
        || lower.contains("invalidcontenttype")
    {
        Error::Tls { step, detail, path }
    } else {
        Error::Network { step, detail, path }
    }
}

#[derive(Deserialize)]
struct UcwaErrorBody {
    #[serde(alias = "Code")]
    code: Option<String>,
    #[serde(alias = "Subcode")]
    subcode: Option<String>,
    #[serde(alias = "Message")]
    message: Option<String>,
}

/// Turns a non-success reply into an error: a UCWA error body when there is one, else a
/// server error with the status alone (proxies and IIS pages send HTML). Every text field
/// goes through [`Reply::server_text`].
pub fn server_error(step: Step, reply: &Reply) -> Error {
    let parsed = if reply.is_json() {
        serde_json::from_slice::<UcwaErrorBody>(&reply.body).ok()
    } else {
        None
    };
    let (code, subcode, message) = match parsed {
        Some(b) => (b.code, b.subcode, b.message),
        None => (None, None, None),
    };
    let text = |t: Option<String>| t.map(|t| reply.server_text(&t));
    // A 407 comes from a proxy on the way (plain http; over https the CONNECT fails instead),
    // never from the UCWA server: say whose refusal it is.
    let message = match (reply.status, text(message)) {
        (407, None) => Some(
            "the HTTP proxy refused the request (407 Proxy Authentication Required): check the credentials of the proxy option".to_string(),
        ),
        (_, m) => m,
    };
    Error::Server(Box::new(ServerError {
        step,
        http_status: reply.status,
        code: text(code),
        subcode: text(subcode),
        message,
        diagnostics: reply.diagnostics(),
        path: reply.url.path().to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_retry_after_is_a_whole_number_of_seconds_or_ignored(v in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Some(d) = parse_retry_after(&v) {
                prop_assert!(d.as_secs() < 10_000_000_000);
                prop_assert_eq!(d.subsec_nanos(), 0);
            }
        }
    }

    #[test]
    fn retry_after_reads_delta_seconds_only() {
        assert_eq!(parse_retry_after(b" 3 "), Some(Duration::from_secs(3)));
        for odd in [
            &b""[..],
            b"-1",
            b"1.5",
            b"Wed, 21 Oct 2015 07:28:00 GMT",
            b"99999999999999",
        ] {
            assert_eq!(parse_retry_after(odd), None);
        }
    }
}
