//! The `proxy` option: which HTTP proxy, if any, carries a request. `system` reads the
//! environment as curl does (`https_proxy`/`HTTPS_PROXY` for https, `http_proxy` for http,
//! `all_proxy`/`ALL_PROXY` for either, `no_proxy`/`NO_PROXY` to bypass), once, when the HTTP
//! client is built; `none` goes direct; a URL sends everything through that proxy. An https
//! request goes through a `CONNECT` tunnel, so the proxy never sees a token or a password.
//!
//! Loopback (127.0.0.0/8, ::1, `localhost`) is never proxied under `system`, whatever the
//! environment says: a test server or a local agent must not be sent to a corporate proxy.
//! Only an explicit proxy URL proxies it too.
//!
//! A proxy's credentials travel as Basic `Proxy-Authorization` on plain http, and a proxy may
//! quote them on its 407 page: [`ProxyChoice::credentials`] names them for the scrubber.

use std::net::IpAddr;

use base64::Engine as _;
use url::Url;
use zeroize::Zeroizing;

use crate::error::Error;

/// The `proxy` option, validated. Its `Debug` is [`ProxyChoice::describe`]: no credentials.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub enum ProxyChoice {
    /// The environment's proxy, as curl reads it; loopback always direct.
    #[default]
    System,
    /// Always direct.
    None,
    /// Everything through this `http://` proxy (credentials in the URL are sent as Basic
    /// `Proxy-Authorization`).
    Url(Url),
}

impl ProxyChoice {
    /// Reads the option's value: `system`, `none`, or `http://[user:password@]host:port`.
    pub fn parse(value: &str) -> Result<ProxyChoice, String> {
        let v = value.trim();
        if v.eq_ignore_ascii_case("system") {
            return Ok(ProxyChoice::System);
        }
        if v.eq_ignore_ascii_case("none") {
            return Ok(ProxyChoice::None);
        }
        let url =
            Url::parse(v).map_err(|_| "expected system, none or http://host:port".to_string())?;
        if url.scheme() != "http" {
            return Err("only http:// proxies are supported (https goes through CONNECT)".into());
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("the proxy URL has no host".into());
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(
                "the proxy URL is http://[user:password@]host:port and nothing more".into(),
            );
        }
        Ok(ProxyChoice::Url(url))
    }

    /// The reqwest proxy for this choice (None: direct for every request).
    pub fn to_reqwest(&self) -> Result<Option<reqwest::Proxy>, Error> {
        let bad = |e: reqwest::Error| Error::InvalidArgument(format!("proxy: {e}"));
        match self {
            ProxyChoice::None => Ok(None),
            ProxyChoice::Url(url) => reqwest::Proxy::all(url.as_str()).map(Some).map_err(bad),
            ProxyChoice::System => {
                let env = Environment::read(|k| std::env::var(k).ok());
                if env.is_empty() {
                    return Ok(None);
                }
                Ok(Some(reqwest::Proxy::custom(move |url| env.proxy_for(url))))
            }
        }
    }

    /// The proxy for a request to `url` under this choice, or None to go direct (what the
    /// HTTP clients do, for a connection opened by hand).
    pub fn proxy_for(&self, url: &Url) -> Option<Url> {
        match self {
            ProxyChoice::None => None,
            ProxyChoice::Url(u) => Some(u.clone()),
            ProxyChoice::System => Environment::read(|k| std::env::var(k).ok()).proxy_for(url),
        }
    }

    /// The credentials this choice sends (the option URL's user information, or under
    /// `system` the environment's proxies' as read now), in every form a proxy could quote
    /// them: the user, the password, `user:password` and its base64 (the Basic value), decoded
    /// and as written in the URL.
    pub fn credentials(&self) -> Vec<Zeroizing<String>> {
        match self {
            ProxyChoice::None => Vec::new(),
            ProxyChoice::Url(u) => url_credentials(u),
            ProxyChoice::System => Environment::read(|k| std::env::var(k).ok()).credentials(),
        }
    }

    /// What a message may say of the choice: never the credentials.
    pub fn describe(&self) -> String {
        match self {
            ProxyChoice::System => "system".into(),
            ProxyChoice::None => "none".into(),
            ProxyChoice::Url(u) => format!(
                "http://{}:{}",
                u.host_str().unwrap_or_default(),
                u.port_or_known_default().unwrap_or(80)
            ),
        }
    }
}

impl std::fmt::Debug for ProxyChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A proxy URL's user and password, decoded, as Basic `Proxy-Authorization` carries them
/// (none without a user).
pub fn user_password(proxy: &Url) -> Option<(Zeroizing<String>, Zeroizing<String>)> {
    if proxy.username().is_empty() {
        return None;
    }
    let decode = |s: &str| {
        Zeroizing::new(
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned(),
        )
    };
    Some((
        decode(proxy.username()),
        decode(proxy.password().unwrap_or_default()),
    ))
}

/// The Basic value of a user and password: base64 of `user:password`.
pub fn basic(user: &str, password: &str) -> Zeroizing<String> {
    let pair = Zeroizing::new(format!("{user}:{password}"));
    Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(pair.as_bytes()))
}

/// See [`ProxyChoice::credentials`].
fn url_credentials(proxy: &Url) -> Vec<Zeroizing<String>> {
    let Some((user, password)) = user_password(proxy) else {
        return Vec::new();
    };
    let pair = Zeroizing::new(format!("{}:{}", *user, *password));
    let basic = basic(&user, &password);
    [
        user.as_str(),
        password.as_str(),
        pair.as_str(),
        basic.as_str(),
        proxy.username(),
        proxy.password().unwrap_or_default(),
    ]
    .into_iter()
    .map(|s| Zeroizing::new(s.to_string()))
    .collect()
}

/// The proxy settings of the environment, read once (no `Debug`: they may hold credentials).
#[derive(Clone, Default)]
pub struct Environment {
    http: Option<Url>,
    https: Option<Url>,
    /// `no_proxy` entries, lower-cased, leading dots removed; `*` bypasses everything.
    bypass: Vec<String>,
}

/// A proxy variable's value as a URL; curl takes `host:port` without a scheme as http.
fn proxy_url(value: Option<String>) -> Option<Url> {
    let v = value?.trim().to_string();
    if v.is_empty() {
        return None;
    }
    let with_scheme = if v.contains("://") {
        v
    } else {
        format!("http://{v}")
    };
    Url::parse(&with_scheme)
        .ok()
        .filter(|u| u.scheme() == "http" && u.host_str().is_some())
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") || h.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Environment {
    /// Reads the variables through `get` (the process environment, or a test's map). Like
    /// curl, `http_proxy` is read in lower case only (an upper-case `HTTP_PROXY` can be set by
    /// a web server's client in CGI); the others in either case, lower case first.
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Environment {
        let either = |name: &str| get(name).or_else(|| get(&name.to_ascii_uppercase()));
        let all = proxy_url(either("all_proxy"));
        let bypass = either("no_proxy")
            .unwrap_or_default()
            .split(',')
            .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
            .filter(|e| !e.is_empty())
            .collect();
        Environment {
            http: proxy_url(get("http_proxy")).or_else(|| all.clone()),
            https: proxy_url(either("https_proxy")).or(all),
            bypass,
        }
    }

    /// The credentials of its proxies (see [`ProxyChoice::credentials`]).
    fn credentials(&self) -> Vec<Zeroizing<String>> {
        [&self.http, &self.https]
            .into_iter()
            .flatten()
            .flat_map(url_credentials)
            .collect()
    }

    fn is_empty(&self) -> bool {
        self.http.is_none() && self.https.is_none()
    }

    /// The proxy for a request to `url`, or None to go direct.
    pub fn proxy_for(&self, url: &Url) -> Option<Url> {
        let host = url.host_str()?.to_ascii_lowercase();
        if is_loopback(&host) {
            return None;
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let bypassed = self.bypass.iter().any(|e| {
            e == "*"
                || host == e
                || host
                    .strip_suffix(e.as_str())
                    .is_some_and(|p| p.ends_with('.'))
        });
        if bypassed {
            return None;
        }
        match url.scheme() {
            "https" => self.https.clone(),
            "http" => self.http.clone(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> Environment {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Environment::read(|k| map.get(k).cloned())
    }

    fn via(e: &Environment, url: &str) -> Option<String> {
        e.proxy_for(&Url::parse(url).unwrap())
            .map(|u| u.as_str().trim_end_matches('/').to_string())
    }

    #[test]
    fn the_environment_is_read_as_curl_reads_it() {
        let e = env(&[
            ("HTTPS_PROXY", "proxy.contoso.com:3128"),
            ("HTTP_PROXY", "http://ignored:1"),
            ("no_proxy", "intranet.contoso.com, .lab.contoso.com"),
        ]);
        assert_eq!(
            via(&e, "https://lyncweb.contoso.com/x").as_deref(),
            Some("http://proxy.contoso.com:3128")
        );
        // Upper-case HTTP_PROXY is not read (curl's CGI rule), and there is no all_proxy.
        assert_eq!(via(&e, "http://lyncweb.contoso.com/x"), None);
        assert_eq!(via(&e, "https://intranet.contoso.com/"), None);
        assert_eq!(via(&e, "https://pool.lab.contoso.com/"), None);
        assert_eq!(
            via(&e, "https://notintranet.contoso.com/").as_deref(),
            Some("http://proxy.contoso.com:3128")
        );
        let all = env(&[
            ("ALL_PROXY", "http://p:8080"),
            ("https_proxy", "http://s:1"),
        ]);
        assert_eq!(
            via(&all, "http://a.contoso.com/").as_deref(),
            Some("http://p:8080")
        );
        assert_eq!(
            via(&all, "https://a.contoso.com/").as_deref(),
            Some("http://s:1")
        );
        let star = env(&[("https_proxy", "http://s:1"), ("NO_PROXY", "*")]);
        assert_eq!(via(&star, "https://a.contoso.com/"), None);
    }

    #[test]
    fn loopback_is_never_proxied_by_the_environment() {
        let e = env(&[
            ("all_proxy", "http://proxy:3128"),
            ("https_proxy", "http://proxy:3128"),
        ]);
        for url in [
            "http://127.0.0.1:8080/",
            "https://127.5.0.1/",
            "http://[::1]:80/",
            "http://localhost/",
            "https://a.localhost/",
        ] {
            assert_eq!(via(&e, url), None, "{url}");
        }
        assert!(via(&e, "https://lyncweb.contoso.com/").is_some());
    }

    fn texts(credentials: Vec<Zeroizing<String>>) -> Vec<String> {
        let mut t: Vec<String> = credentials.iter().map(|c| c.to_string()).collect();
        t.sort();
        t.dedup();
        t
    }

    #[test]
    fn the_credentials_are_named_in_every_form_a_proxy_could_quote() {
        let p = ProxyChoice::parse("http://ag%3Aent:p%40ss%20w@proxy:3128").unwrap();
        // base64("ag:ent:p@ss w"), the Basic value reqwest and the dedicated connection send.
        let basic = "YWc6ZW50OnBAc3Mgdw==";
        let want = [
            basic,
            "ag%3Aent",
            "ag:ent",
            "ag:ent:p@ss w",
            "p%40ss%20w",
            "p@ss w",
        ];
        assert_eq!(texts(p.credentials()), want);
        assert!(ProxyChoice::None.credentials().is_empty());
        assert!(texts(ProxyChoice::parse("http://proxy:1").unwrap().credentials()).is_empty());
        let e = env(&[
            ("https_proxy", "http://u:s3cret@proxy:3128"),
            ("http_proxy", "proxy:3128"),
        ]);
        assert_eq!(
            texts(e.credentials()),
            ["dTpzM2NyZXQ=", "s3cret", "u", "u:s3cret"]
        );
    }

    #[test]
    fn the_option_takes_system_none_or_a_plain_http_proxy_url() {
        assert_eq!(ProxyChoice::parse(" System ").unwrap(), ProxyChoice::System);
        assert_eq!(ProxyChoice::parse("NONE").unwrap(), ProxyChoice::None);
        let p = ProxyChoice::parse("http://u:secret@proxy.contoso.com:3128").unwrap();
        assert_eq!(p.describe(), "http://proxy.contoso.com:3128");
        assert!(!format!("{p:?}").contains("secret"));
        for bad in [
            "",
            "proxy:3128x",
            "https://proxy:3128",
            "socks5://proxy:1080",
            "http://proxy:3128/path",
            "http://proxy:3128?x=1",
            "http://",
        ] {
            assert!(ProxyChoice::parse(bad).is_err(), "{bad:?}");
        }
    }
}
