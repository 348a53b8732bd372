//! The doctor's own HTTP requests, for what the library does not show: each discovery hop,
//! the challenge lines as sent, the grants and Windows schemes offered, gzip, TLS trust with
//! and without the CA file, and the statuses a server gives to an invalid token, a re-POST of
//! an application and another pool's token. Each probe is one bounded request.

use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;
use url::Url;

use crate::advice::chain;

/// The most discovery redirects followed.
const MAX_HOPS: u32 = 10;

/// Two HTTP clients: one trusting the platform store and `--ca-file`, one the store alone.
pub struct Http {
    pub trusted: reqwest::Client,
    pub platform: reqwest::Client,
}

impl Http {
    pub fn new(ca_pem: Option<&[u8]>, timeout: Duration) -> Result<Http, String> {
        let build = |ca: Option<&[u8]>| {
            let mut b = reqwest::Client::builder()
                .timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("ucwa-doctor/", env!("CARGO_PKG_VERSION")));
            if let Some(pem) = ca {
                for cert in reqwest::Certificate::from_pem_bundle(pem)
                    .map_err(|e| format!("--ca-file is not a PEM certificate bundle: {e}"))?
                {
                    b = b.add_root_certificate(cert);
                }
            }
            b.build().map_err(|e| chain(&e))
        };
        Ok(Http {
            trusted: build(ca_pem)?,
            platform: build(None)?,
        })
    }
}

/// What the server's certificate says (read without trusting it: no credential is sent).
pub struct Certificate {
    pub subject: String,
    pub names: Vec<String>,
    pub issuer: String,
    pub self_issued: bool,
    pub not_after: String,
    pub days_left: i64,
}

/// The certificate `url`'s server presents, trusted or not.
pub async fn certificate(url: &Url, timeout: Duration) -> Result<Certificate, String> {
    let inspect = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        // Only to read the certificate of a server the real checks do not trust: this client
        // sends nothing but an anonymous GET of the discovery root.
        .danger_accept_invalid_certs(true)
        .tls_info(true)
        .build()
        .map_err(|e| chain(&e))?;
    let resp = inspect
        .get(url.clone())
        .send()
        .await
        .map_err(|e| chain(&e))?;
    let der = resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|t| t.peer_certificate())
        .ok_or("the server presented no certificate")?
        .to_vec();
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| format!("unreadable certificate: {e}"))?;
    let names = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
                x509_parser::extensions::GeneralName::IPAddress(ip) => match ip.len() {
                    4 => Some(std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string()),
                    _ => None,
                },
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let not_after = cert.validity().not_after;
    Ok(Certificate {
        subject: cert.subject().to_string(),
        names,
        issuer: cert.issuer().to_string(),
        self_issued: cert.subject() == cert.issuer(),
        not_after: not_after.to_string(),
        days_left: (not_after.timestamp() - now).div_euclid(86_400),
    })
}

/// One answer, read whole.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    }
}

/// Sends one request; the error is the whole chain (it names the host: reqwest's does).
pub async fn send(req: reqwest::RequestBuilder) -> Result<Answer, String> {
    let resp = req.send().await.map_err(|e| chain(&e))?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.map_err(|e| chain(&e))?.to_vec();
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// What discovery showed.
pub struct Discovery {
    /// Every root visited, the first the one that answered.
    pub hops: Vec<Url>,
    pub redirects: u32,
    /// Whether redirect roots held only `redirect` (seen only when there was one).
    pub bare_redirects: Option<bool>,
    pub user: Url,
    pub root: Answer,
}

fn href(v: &Value, rel: &str, base: &Url) -> Option<Url> {
    let h = v.get("_links")?.get(rel)?.get("href")?.as_str()?;
    base.join(h).ok()
}

/// Follows discovery from `root` to the `user` link.
pub async fn discover(http: &reqwest::Client, root: &Url) -> Result<Discovery, String> {
    let mut hops = vec![root.clone()];
    let mut bare = None;
    loop {
        let url = hops.last().unwrap().clone();
        let a = send(http.get(url.clone()).header(ACCEPT, "application/json")).await?;
        if a.status != 200 {
            return Err(format!("{url} answered {}", a.status));
        }
        let v = a
            .json()
            .ok_or_else(|| format!("{url} did not answer a discovery document (JSON)"))?;
        if let Some(user) = href(&v, "user", &url) {
            let redirects = hops.len() as u32 - 1;
            return Ok(Discovery {
                hops,
                redirects,
                bare_redirects: bare,
                user,
                root: a,
            });
        }
        let next = href(&v, "redirect", &url).ok_or_else(|| {
            format!("{url}: the discovery document has neither user nor redirect")
        })?;
        let only_redirect = v["_links"].as_object().is_some_and(|l| l.len() == 1);
        bare = Some(bare.unwrap_or(true) && only_redirect);
        if hops.len() as u32 > MAX_HOPS {
            return Err(format!("more than {MAX_HOPS} discovery redirects"));
        }
        hops.push(next);
    }
}

/// Whether the server compresses when asked (`Content-Encoding: gzip`).
pub async fn gzip(http: &reqwest::Client, url: &Url) -> Result<bool, String> {
    let a = send(http.get(url.clone()).header(ACCEPT_ENCODING, "gzip")).await?;
    Ok(a.header("content-encoding")
        .is_some_and(|e| e.to_ascii_lowercase().contains("gzip")))
}

/// The challenge of an anonymous request to the `user` resource.
pub struct Challenge {
    pub status: u16,
    pub lines: Vec<String>,
    pub folded: bool,
    pub token_href: Option<Url>,
    pub grants: Option<Vec<String>>,
    pub bearer: Option<&'static str>,
    pub modern: bool,
}

/// The quoted value of `name=` after `from` in `text`.
fn param(text: &str, name: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let i = lower.find(&format!("{name}=\""))? + name.len() + 2;
    let rest = &text[i..];
    Some(rest[..rest.find('"')?].to_string())
}

pub fn read_challenge(a: &Answer, base: &Url) -> Challenge {
    let lines = a.all("www-authenticate");
    let folded = lines
        .iter()
        .any(|l| l.contains("Bearer") && l.contains("MsRtcOAuth"));
    let oauth = lines
        .iter()
        .find_map(|l| l.find("MsRtcOAuth").map(|i| l[i..].to_string()));
    let bearer_text = lines.iter().find_map(|l| {
        let i = l.find("Bearer")?;
        let t = &l[i..];
        Some(t[..t.find("MsRtcOAuth").unwrap_or(t.len())].to_string())
    });
    let bearer = bearer_text.as_deref().map(|b| {
        if b.contains("authorization_uri=") {
            "authorization-uri"
        } else if b.contains("trusted_issuers=\"\"") {
            "empty-issuers"
        } else {
            "standard"
        }
    });
    let token_href = oauth
        .as_deref()
        .and_then(|o| param(o, "href"))
        .and_then(|h| base.join(&h).ok());
    let grants = oauth
        .as_deref()
        .and_then(|o| param(o, "grant_type"))
        .map(|g| {
            g.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        });
    Challenge {
        status: a.status,
        folded,
        token_href,
        grants,
        modern: oauth.is_none() && bearer == Some("authorization-uri"),
        bearer,
        lines,
    }
}

/// The Windows schemes the token endpoint offers for the Windows grant, in its order.
pub async fn windows_schemes(http: &reqwest::Client, token: &Url) -> Result<Vec<String>, String> {
    let a = send(
        http.post(token.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("grant_type=urn%3Amicrosoft.rtc%3Awindows"),
    )
    .await?;
    let mut schemes = Vec::new();
    for line in a.all("www-authenticate") {
        for part in line.split(',') {
            let word = part
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            if (word == "negotiate" || word == "ntlm") && !schemes.contains(&word) {
                schemes.push(word);
            }
        }
    }
    Ok(schemes)
}

/// A password grant's answer.
pub struct Grant {
    pub status: u16,
    pub access_token: Option<String>,
    pub expires_in: Option<u64>,
    pub scope: Option<String>,
    pub error: Option<String>,
    pub diagnostics: Option<String>,
}

pub async fn password_grant(
    http: &reqwest::Client,
    token: &Url,
    user: &str,
    password: &str,
) -> Result<Grant, String> {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "password")
        .append_pair("username", user)
        .append_pair("password", password)
        .finish();
    let a = send(
        http.post(token.clone())
            .header(
                CONTENT_TYPE,
                "application/x-www-form-urlencoded;charset=UTF-8",
            )
            .header(ACCEPT, "application/json")
            .body(body),
    )
    .await?;
    let v = a.json().unwrap_or(Value::Null);
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    Ok(Grant {
        status: a.status,
        access_token: text("access_token"),
        expires_in: v.get("expires_in").and_then(Value::as_u64),
        scope: text("ms_rtc_identityscope"),
        error: text("error"),
        diagnostics: a.header("x-ms-diagnostics"),
    })
}

/// The status of one request carrying `token` (a bearer token, valid or not).
pub async fn with_token(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &Url,
    token: &str,
    json_body: Option<&str>,
) -> Result<Answer, String> {
    let mut req = http
        .request(method, url.clone())
        .header(ACCEPT, "application/json")
        .header(AUTHORIZATION, format!("Bearer {token}"));
    if let Some(b) = json_body {
        req = req
            .header(CONTENT_TYPE, "application/json")
            .body(b.to_string());
    }
    send(req).await
}
