//! What the proxy decides by itself: where a target may go (loopback literals only, never a
//! name lookup), what the `Proxy-Authorization` it got says, and the answers it makes without
//! the server: 200 to open a tunnel, 400, 502, the Basic 407 challenge, and the careless 407
//! page of [`super::ProxyMode::RefuseAndEcho`] that quotes the credentials it got.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use base64::Engine as _;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE, PROXY_AUTHENTICATE};
use hyper::{Response, StatusCode};

/// The realm of the proxy's Basic challenge.
const REALM: &str = r#"Basic realm="ucwa-sim proxy""#;

/// The address `host:port` names when it is loopback: an IPv4 literal in 127.0.0.0/8, `[::1]`,
/// or `localhost` (taken as 127.0.0.1). `None` for anything else, names included: the proxy
/// never resolves a name, so nothing it does can leave the machine.
pub(super) fn loopback(host: &str, port: u16) -> Option<SocketAddr> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let ip = if bare.eq_ignore_ascii_case("localhost") {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        bare.parse::<IpAddr>().ok()?
    };
    (ip.is_loopback() && port != 0).then_some(SocketAddr::new(ip, port))
}

/// The credentials a `Proxy-Authorization` value carries.
#[derive(Debug, Default)]
pub(super) struct Credentials {
    /// Whether the header came at all.
    pub sent: bool,
    /// The user name of Basic credentials.
    pub user: Option<String>,
    /// Whether they are the required ones (true when none are required).
    pub authorized: bool,
}

/// `user:password` of a Basic value, when it is one that decodes.
fn basic_pair(value: &str) -> Option<String> {
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

impl Credentials {
    /// Reads the header value (if any) against the required `(user, password)` (if any).
    pub(super) fn check(value: Option<&str>, required: Option<&(String, String)>) -> Credentials {
        let pair = value.and_then(basic_pair);
        let user = pair
            .as_deref()
            .map(|p| p.split_once(':').map_or(p, |(u, _)| u).to_owned());
        let authorized = match required {
            None => true,
            Some((u, p)) => pair.as_deref() == Some(format!("{u}:{p}").as_str()),
        };
        Credentials {
            sent: value.is_some(),
            user,
            authorized,
        }
    }
}

/// A complete answer of the proxy's own.
pub(super) fn own(status: u16, headers: &[(&str, String)], body: String) -> Response<Full<Bytes>> {
    let mut out = Response::new(Full::new(Bytes::from(body)));
    *out.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            out.headers_mut().append(name, value);
        }
    }
    out
}

/// An answer with no body that ends the connection (400, 502).
pub(super) fn refusal(status: u16) -> Response<Full<Bytes>> {
    own(status, &[("Connection", "close".into())], String::new())
}

/// The Basic challenge for missing or wrong credentials.
pub(super) fn challenge() -> Response<Full<Bytes>> {
    let mut out = refusal(407);
    out.headers_mut()
        .insert(PROXY_AUTHENTICATE, HeaderValue::from_static(REALM));
    out
}

/// `text` percent-encoded as a URL component.
fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A 407 error page, JSON-shaped and with diagnostics, that quotes the credentials it got: the
/// header value, the decoded `user:password`, and that pair percent-encoded.
pub(super) fn echo_refusal(value: Option<&str>) -> Response<Full<Bytes>> {
    let header = value.unwrap_or_default();
    let pair = basic_pair(header).unwrap_or_default();
    let quoted = format!(
        "refused Proxy-Authorization '{header}' for '{pair}' ({})",
        percent(&pair)
    );
    let body = serde_json::json!({
        "code": format!("ProxyAuth {pair}"),
        "subcode": header,
        "message": quoted,
    });
    let mut out = own(
        407,
        &[("X-Ms-diagnostics", format!("1000;reason=\"{quoted}\""))],
        body.to_string(),
    );
    let headers = out.headers_mut();
    headers.insert(PROXY_AUTHENTICATE, HeaderValue::from_static(REALM));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_literals_and_localhost_are_targets() {
        assert_eq!(
            loopback("127.0.0.1", 80),
            Some(SocketAddr::from(([127, 0, 0, 1], 80)))
        );
        assert!(loopback("127.0.0.2", 8080).is_some());
        assert!(loopback("[::1]", 443).is_some());
        assert!(loopback("LocalHost", 443).is_some());
        for far in [
            "10.0.0.1",
            "lyncdiscover.contoso.test",
            "0.0.0.0",
            "[::]",
            "",
        ] {
            assert_eq!(loopback(far, 443), None, "{far}");
        }
        assert_eq!(loopback("127.0.0.1", 0), None);
    }

    #[test]
    fn credentials_report_the_user_and_whether_they_match() {
        let required = ("agent".to_owned(), "pa:ss".to_owned());
        let good = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("agent:pa:ss")
        );
        let c = Credentials::check(Some(&good), Some(&required));
        assert!(c.sent && c.authorized);
        assert_eq!(c.user.as_deref(), Some("agent"));
        let c = Credentials::check(Some("Basic !!"), Some(&required));
        assert!(c.sent && !c.authorized && c.user.is_none());
        let c = Credentials::check(None, None);
        assert!(!c.sent && c.authorized);
    }
}
