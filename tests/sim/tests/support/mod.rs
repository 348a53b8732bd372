//! Test support for the simulator's own tests: a tiny blocking HTTP/1.1 client over raw TCP
//! (optionally TLS through rustls, trusting a given CA) that exposes every header as sent, and a
//! `Session` that signs in by following links exactly as a UCWA client must.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{json, Value};
use ucwa_sim::{Sim, SimConfig};

pub const ALICE: &str = "alice@contoso.com";
pub const ALICE_PW: &str = "alice-password";
pub const BOB: &str = "bob@contoso.com";
pub const BOB_PW: &str = "bob-password";
pub const FORM: &str = "application/x-www-form-urlencoded;charset=UTF-8";

/// Sub-second timers so the whole suite stays fast.
pub fn fast() -> SimConfig {
    SimConfig {
        event_hold_s: 0.0,
        event_timeout_s: 0.5,
        event_timeout_min_s: 0.1,
        ..SimConfig::default()
    }
}

pub fn start(config: SimConfig) -> Sim {
    Sim::start(config).expect("simulator starts")
}

/// One answer, with headers in the order and multiplicity they were sent.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text()))
    }

    pub fn content_type(&self) -> String {
        self.header("content-type").unwrap_or("").to_owned()
    }

    /// Asserts a UCWA error body with this status, code and subcode.
    pub fn assert_error(&self, status: u16, code: &str, subcode: Option<&str>) {
        assert_eq!(self.status, status, "{}", self.text());
        assert!(
            self.content_type().starts_with("application/json"),
            "{:?}",
            self.headers
        );
        let v = self.json();
        assert_eq!(v["code"], code, "{v}");
        match subcode {
            Some(s) => assert_eq!(v["subcode"], s, "{v}"),
            None => assert!(v.get("subcode").is_none(), "{v}"),
        }
        assert!(v["message"].is_string(), "{v}");
    }
}

/// A connection factory: plain, or TLS trusting one CA.
#[derive(Clone, Default)]
pub struct Http {
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Http {
    pub fn plain() -> Http {
        Http::default()
    }

    pub fn trusting(ca_pem: &str) -> Http {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots
                .add(cert.expect("CA PEM parses"))
                .expect("CA is usable");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Http {
            tls: Some(Arc::new(config)),
        }
    }

    /// Sends one request on a fresh connection and returns the raw answer bytes.
    pub fn send_raw(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<Vec<u8>> {
        let u = url::Url::parse(url).map_err(|e| io::Error::other(format!("{url}: {e}")))?;
        let host = u.host_str().unwrap_or("127.0.0.1").to_owned();
        let port = u.port_or_known_default().unwrap_or(80);
        let mut target = u.path().to_owned();
        if let Some(q) = u.query() {
            target.push('?');
            target.push_str(q);
        }
        let mut req = format!(
            "{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);

        let tcp = TcpStream::connect((host.as_str(), port))?;
        tcp.set_read_timeout(Some(Duration::from_secs(20)))?;
        let mut out = Vec::new();
        match (&self.tls, u.scheme()) {
            (Some(config), "https") => {
                let name = ServerName::try_from(host.clone()).map_err(io::Error::other)?;
                let conn = rustls::ClientConnection::new(config.clone(), name)
                    .map_err(io::Error::other)?;
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                tls.write_all(&bytes)?;
                match tls.read_to_end(&mut out) {
                    Ok(_) => {}
                    // A peer closing without close_notify after a complete answer is fine here.
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && !out.is_empty() => {}
                    Err(e) => return Err(e),
                }
            }
            (None, "https") => return Err(io::Error::other("https needs Http::trusting")),
            _ => {
                let mut tcp = tcp;
                tcp.write_all(&bytes)?;
                tcp.read_to_end(&mut out)?;
            }
        }
        Ok(out)
    }

    pub fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<Response> {
        let raw = self.send_raw(method, url, headers, body)?;
        parse_response(&raw)
    }

    pub fn get(&self, url: &str, headers: &[(&str, &str)]) -> Response {
        self.send("GET", url, headers, b"")
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }
}

/// Parses a complete HTTP/1.1 answer (Content-Length or read-to-close bodies).
pub fn parse_response(raw: &[u8]) -> io::Result<Response> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| io::Error::other(format!("no complete head in {} bytes", raw.len())))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line {status_line:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if let Some(len) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        body.truncate(len);
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// Resolves `href` (relative or absolute) against `base`.
pub fn resolve(base: &str, href: &str) -> String {
    url::Url::parse(base)
        .and_then(|b| b.join(href))
        .map(|u| u.to_string())
        .unwrap_or_else(|e| panic!("cannot resolve {href} against {base}: {e}"))
}

/// The href at a JSON pointer, e.g. `/_links/user/href`.
pub fn href_at(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {pointer} in {v}"))
        .to_owned()
}

/// POSTs the password grant to `token_url`.
pub fn password_token(http: &Http, token_url: &str, user: &str, pw: &str) -> Response {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "password")
        .append_pair("username", user)
        .append_pair("password", pw)
        .finish();
    http.send(
        "POST",
        token_url,
        &[("Content-Type", FORM), ("Accept", "application/json")],
        body.as_bytes(),
    )
    .expect("token request")
}

/// The MsRtcOAuth href out of a 401 answer, on a line of its own or folded after Bearer.
pub fn challenge_href(resp: &Response) -> String {
    assert_eq!(resp.status, 401, "{}", resp.text());
    const MARK: &str = "MsRtcOAuth href=\"";
    let header = resp
        .headers_named("www-authenticate")
        .into_iter()
        .find(|h| h.contains(MARK))
        .unwrap_or_else(|| panic!("no MsRtcOAuth challenge in {:?}", resp.headers));
    let start = header.find(MARK).unwrap() + MARK.len();
    let end = header[start..].find('"').expect("closing quote") + start;
    header[start..end].to_owned()
}

/// A signed-in client of the simulator that follows links, as a UCWA client must.
pub struct Session {
    pub http: Http,
    pub user: String,
    /// `Bearer cwt=...` for `origin`.
    pub auth: String,
    /// The origin the token belongs to (where applications live).
    pub origin: String,
    /// The application resource as last read.
    pub app: Value,
    /// Absolute URL of the application resource.
    pub app_url: String,
}

impl Session {
    /// Discovery → user (401) → token → user → POST applications, following every link.
    pub fn sign_in(sim: &Sim, user: &str, pw: &str) -> Session {
        Session::sign_in_with(&Http::plain(), &sim.root_url(), user, pw, "sim-test")
    }

    pub fn sign_in_with(http: &Http, root: &str, user: &str, pw: &str, endpoint: &str) -> Session {
        let mut discovery = http.get(root, &[("Accept", "application/json")]);
        let mut url = root.to_owned();
        while discovery.json()["_links"].get("user").is_none() {
            url = resolve(&url, &href_at(&discovery.json(), "/_links/redirect/href"));
            discovery = http.get(&url, &[("Accept", "application/json")]);
        }
        let mut user_url = resolve(&url, &href_at(&discovery.json(), "/_links/user/href"));
        loop {
            let challenge = http.get(&user_url, &[("Accept", "application/json")]);
            let token_url = resolve(&user_url, &challenge_href(&challenge));
            let token = password_token(http, &token_url, user, pw).json();
            let auth = format!("Bearer {}", token["access_token"].as_str().unwrap());
            let u = http.get(
                &user_url,
                &[("Accept", "application/json"), ("Authorization", &auth)],
            );
            assert_eq!(u.status, 200, "{}", u.text());
            let links = u.json()["_links"].clone();
            if links.get("redirect").is_some() {
                let redirect_url = resolve(&user_url, &href_at(&links, "/redirect/href"));
                let r = http.get(&redirect_url, &[("Accept", "application/json")]);
                user_url = resolve(&redirect_url, &href_at(&r.json(), "/_links/user/href"));
                continue;
            }
            let apps_url = resolve(&user_url, &href_at(&links, "/applications/href"));
            let origin = url::Url::parse(&apps_url)
                .unwrap()
                .origin()
                .ascii_serialization();
            let token_origin = url::Url::parse(&token_url)
                .unwrap()
                .origin()
                .ascii_serialization();
            let auth = if origin == token_origin {
                auth
            } else {
                // Pool change: the applications host has its own challenge and token.
                let c = http.get(&apps_url, &[("Accept", "application/json")]);
                let t =
                    password_token(http, &resolve(&apps_url, &challenge_href(&c)), user, pw).json();
                format!("Bearer {}", t["access_token"].as_str().unwrap())
            };
            let body =
                json!({"UserAgent": "sim-tests", "EndpointId": endpoint, "Culture": "en-US"});
            let created = http
                .send(
                    "POST",
                    &apps_url,
                    &[
                        ("Authorization", &auth),
                        ("Content-Type", "application/json"),
                        ("Accept", "application/json"),
                    ],
                    body.to_string().as_bytes(),
                )
                .unwrap();
            assert_eq!(created.status, 201, "{}", created.text());
            let app = created.json();
            let app_url = resolve(&apps_url, &href_at(&app, "/_links/self/href"));
            return Session {
                http: http.clone(),
                user: user.to_owned(),
                auth,
                origin,
                app,
                app_url,
            };
        }
    }

    /// Signs in and makes the user available (messaging), then re-reads the application.
    pub fn available(sim: &Sim, user: &str, pw: &str) -> Session {
        let mut s = Session::sign_in(sim, user, pw);
        let r = s.post_json(
            &s.link("me", "makeMeAvailable"),
            &json!({"SupportedModalities": ["Messaging"]}),
        );
        assert_eq!(r.status, 204, "{}", r.text());
        s.refresh();
        s
    }

    pub fn url(&self, href: &str) -> String {
        resolve(&self.app_url, href)
    }

    /// The absolute URL of `_embedded.<owner>._links.<rel>` (owner "" = the application).
    pub fn link(&self, owner: &str, rel: &str) -> String {
        let pointer = if owner.is_empty() {
            format!("/_links/{rel}/href")
        } else {
            format!("/_embedded/{owner}/_links/{rel}/href")
        };
        self.url(&href_at(&self.app, &pointer))
    }

    pub fn has_link(&self, owner: &str, rel: &str) -> bool {
        self.app
            .pointer(&format!("/_embedded/{owner}/_links/{rel}"))
            .is_some()
    }

    pub fn refresh(&mut self) {
        let r = self.get(&self.app_url.clone());
        assert_eq!(r.status, 200, "{}", r.text());
        self.app = r.json();
    }

    pub fn get(&self, url: &str) -> Response {
        self.http.get(
            url,
            &[
                ("Accept", "application/json"),
                ("Authorization", &self.auth),
            ],
        )
    }

    pub fn post_json(&self, url: &str, body: &Value) -> Response {
        self.http
            .send(
                "POST",
                url,
                &[
                    ("Accept", "application/json"),
                    ("Authorization", &self.auth),
                    ("Content-Type", "application/json"),
                ],
                body.to_string().as_bytes(),
            )
            .unwrap_or_else(|e| panic!("POST {url}: {e}"))
    }

    pub fn post_empty(&self, url: &str) -> Response {
        self.http
            .send(
                "POST",
                url,
                &[
                    ("Accept", "application/json"),
                    ("Authorization", &self.auth),
                ],
                b"",
            )
            .unwrap_or_else(|e| panic!("POST {url}: {e}"))
    }

    pub fn delete(&self, url: &str) -> Response {
        self.http
            .send("DELETE", url, &[("Authorization", &self.auth)], b"")
            .unwrap_or_else(|e| panic!("DELETE {url}: {e}"))
    }

    /// The first events URL (`_links.events`).
    pub fn events_url(&self) -> String {
        self.link("", "events")
    }

    /// [`Session::drain_events`] from the first events URL with `timeout=0.1` on each P-GET,
    /// so tests whose default event timeout is long stay fast.
    pub fn drain_events_quick(&self) -> (Vec<Value>, String) {
        let mut url = self.events_url();
        let mut senders = Vec::new();
        loop {
            let r = self.get(&format!("{url}&timeout=0.1"));
            assert_eq!(r.status, 200, "{}", r.text());
            let v = r.json();
            let next = self.url(&href_at(&v, "/_links/next/href"));
            match v.get("sender").and_then(Value::as_array) {
                Some(s) if !s.is_empty() => {
                    senders.extend(s.iter().cloned());
                    url = next;
                }
                _ => return (senders, next),
            }
        }
    }

    /// Drains the event channel from `url` until an answer carries no senders; returns every
    /// sender seen and the next URL.
    pub fn drain_events(&self, mut url: String) -> (Vec<Value>, String) {
        let mut senders = Vec::new();
        loop {
            let r = self.get(&url);
            assert_eq!(r.status, 200, "{}", r.text());
            let v = r.json();
            let next = self.url(&href_at(&v, "/_links/next/href"));
            match v.get("sender").and_then(Value::as_array) {
                Some(s) if !s.is_empty() => {
                    senders.extend(s.iter().cloned());
                    url = next;
                }
                _ => return (senders, next),
            }
        }
    }
}

/// Every event (with its sender rel) out of a list of senders.
pub fn events_of(senders: &[Value]) -> Vec<(String, String, String, Value)> {
    let mut out = Vec::new();
    for s in senders {
        let sender = s["rel"].as_str().unwrap_or("").to_owned();
        for e in s["events"].as_array().cloned().unwrap_or_default() {
            out.push((
                sender.clone(),
                e["link"]["rel"].as_str().unwrap_or("").to_owned(),
                e["type"].as_str().unwrap_or("").to_owned(),
                e,
            ));
        }
    }
    out
}

/// Waits until `check` holds (polling) or `limit` passes.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    check()
}
