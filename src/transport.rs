//! One HTTP exchange with a UCWA server: the headers every request carries, the mapping of
//! transport failures to errors, and the reading of UCWA error bodies.
//!
//! No authentication or retry logic lives here (see `session`); this is the only place that
//! touches reqwest, so error mapping is uniform.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use url::Url;
use zeroize::Zeroizing;

use crate::error::{Error, ServerError, Step};

/// What a request carries.
pub enum Body {
    None,
    /// A POST with no body at all (reportMyActivity, presence reset).
    Empty,
    Json(Value),
    /// A form-encoded body (token requests); wiped from memory when dropped.
    Form(Zeroizing<String>),
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub url: Url,
}

impl Reply {
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
        let v = self.headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
        v.parse::<u64>().ok().map(Duration::from_secs)
    }
}

/// Static per-request settings of a client.
#[derive(Clone, Copy)]
pub struct Exchange<'a> {
    pub http: &'a reqwest::Client,
    pub user_agent: &'a str,
    pub timeout: Duration,
    /// The owning client's request counter; every attempt counts, answered or not.
    pub counter: &'a AtomicU64,
}

impl Exchange<'_> {
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
        let (content_type, bytes): (Option<&str>, Zeroizing<Vec<u8>>) = match body {
            Body::None => (None, Zeroizing::new(Vec::new())),
            Body::Empty => (None, Zeroizing::new(Vec::new())),
            Body::Json(v) => (
                Some("application/json"),
                Zeroizing::new(v.to_string().into_bytes()),
            ),
            Body::Form(f) => (
                Some("application/x-www-form-urlencoded;charset=UTF-8"),
                Zeroizing::new(f.as_bytes().to_vec()),
            ),
        };
        let is_post_like = method != Method::GET;
        let mut attempt = 0;
        loop {
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .timeout(self.timeout)
                .header(ACCEPT, "application/json")
                .header(USER_AGENT, self.user_agent);
            if let Some(a) = authorization {
                req = req.header(AUTHORIZATION, a);
            }
            if let Some(ct) = content_type {
                req = req.header(CONTENT_TYPE, ct);
            }
            if content_type.is_some() || is_post_like {
                req = req.body(bytes.to_vec());
            }
            self.counter.fetch_add(1, Ordering::Relaxed);
            attempt += 1;
            let resp = match req.send().await {
                Ok(r) => r,
                // A kept-alive connection the server closed while it sat idle fails before any
                // answer; one retry opens a fresh connection. Every request this library sends
                // is safe to repeat (setters, activity reports, application creation with a
                // stable endpointId, DELETE).
                Err(e) if attempt == 1 && is_stale_connection(&e) => continue,
                Err(e) => return Err(transport_error(step, url, e)),
            };
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = resp
                .bytes()
                .await
                .map_err(|e| transport_error(step, url, e))?
                .to_vec();
            return Ok(Reply {
                status,
                headers,
                body,
                url: url.clone(),
            });
        }
    }
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
/// server error with the status alone (proxies and IIS pages send HTML).
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
    Error::Server(Box::new(ServerError {
        step,
        http_status: reply.status,
        code,
        subcode,
        message: message.map(|m| m.chars().take(300).collect()),
        diagnostics: reply.header("x-ms-diagnostics").map(str::to_string),
        path: reply.url.path().to_string(),
    }))
}
