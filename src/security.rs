//! The security rules of the design (§2) in one place: plain HTTP only to loopback, which
//! hosts may receive the password (token endpoints) or follow a discovery redirect, and which
//! origins a 401 may get a token for (one check for every grant, host tokens included).

use std::net::IpAddr;

use url::{Host, Url};

use crate::error::{Error, Step};

/// Whether a URL's host is on this machine (127.0.0.0/8, ::1, localhost).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        None => false,
    }
}

/// Refuses anything but https, or http to a loopback host.
pub fn check_transport(step: Step, url: &Url) -> Result<(), Error> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(Error::Insecure {
            step,
            detail: format!(
                "plain http is allowed only to loopback hosts, not to {}",
                url.host_str().unwrap_or("?")
            ),
        }),
        other => Err(Error::Insecure {
            step,
            detail: format!("unsupported URL scheme {other:?}"),
        }),
    }
}

/// `scheme://host:port`: the unit tokens are issued for and confined to.
pub fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

fn host_of(url: &Url) -> Option<String> {
    url.host_str()
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
}

/// The registrable part we compare hosts by: `lyncdiscover.contoso.com` → `contoso.com`. IP
/// literals stand for themselves.
pub fn parent_domain(host: &str) -> String {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    if h.parse::<IpAddr>().is_ok() || h.trim_matches(['[', ']']).parse::<IpAddr>().is_ok() {
        return h;
    }
    match h.split_once('.') {
        Some((_, rest)) if rest.contains('.') => rest.to_string(),
        _ => h,
    }
}

/// Hosts that may receive the password or be followed on a discovery redirect: the sign-in
/// domain and its subdomains, the discovery host's domain and its subdomains, and the hosts
/// the host program allowed by option. IP literals match only exactly.
#[derive(Debug, Clone, Default)]
pub struct TrustedHosts {
    domains: Vec<String>,
}

impl TrustedHosts {
    pub fn new(
        sign_in_domain: Option<&str>,
        discovery_url: Option<&Url>,
        allowed: &[String],
    ) -> Self {
        let mut domains: Vec<String> = allowed.to_vec();
        if let Some(d) = sign_in_domain {
            domains.push(d.trim_end_matches('.').to_ascii_lowercase());
        }
        if let Some(h) = discovery_url.and_then(host_of) {
            domains.push(parent_domain(&h));
            domains.push(h);
        }
        domains.retain(|d| !d.is_empty());
        domains.dedup();
        TrustedHosts { domains }
    }

    pub fn allows(&self, url: &Url) -> bool {
        let Some(host) = host_of(url) else {
            return false;
        };
        let is_ip = matches!(url.host(), Some(Host::Ipv4(_)) | Some(Host::Ipv6(_)));
        self.domains.iter().any(|d| {
            host == *d
                || (!is_ip && d.parse::<IpAddr>().is_err() && host.ends_with(&format!(".{d}")))
        })
    }

    /// The check on a 401 before any credential is spent on it, whatever the grant: a token is
    /// obtained (or the host asked for one) only for a challenged origin that is trusted, and
    /// the password travels only to a trusted token endpoint (`token_url`, for the grants that
    /// post to one). A refusal names the hosts, never what the challenge says to fetch.
    pub fn check_challenge(&self, challenged: &Url, token_url: Option<&Url>) -> Result<(), Error> {
        let host = |u: &Url| u.host_str().unwrap_or("?").to_string();
        let from = host(challenged);
        let refused = if !self.allows(challenged) {
            let via = token_url.map(|t| format!(" (from {})", host(t)));
            format!(
                "{from} asked for a token{}; tokens are obtained only for",
                via.unwrap_or_default()
            )
        } else if let Some(t) = token_url.filter(|t| !self.allows(t)) {
            format!(
                "{from} asked for the password to be sent to {}; the password goes only to",
                host(t)
            )
        } else {
            return Ok(());
        };
        Err(Error::Insecure {
            step: Step::Token,
            detail: format!(
                "{refused} the sign-in domain, the discovery domain or an allowed host"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn plain_http_is_refused_off_loopback() {
        assert!(check_transport(Step::Discovery, &u("http://127.0.0.1:8080/")).is_ok());
        assert!(check_transport(Step::Discovery, &u("http://127.9.9.9/")).is_ok());
        assert!(check_transport(Step::Discovery, &u("http://[::1]:80/")).is_ok());
        assert!(check_transport(Step::Discovery, &u("http://localhost/")).is_ok());
        assert!(check_transport(Step::Discovery, &u("https://lync.contoso.com/")).is_ok());
        let e = check_transport(Step::Discovery, &u("http://lync.contoso.com/")).unwrap_err();
        assert_eq!(e.status(), crate::error::Status::Insecure);
        assert!(check_transport(Step::Discovery, &u("ftp://127.0.0.1/")).is_err());
    }

    #[test]
    fn trusted_hosts_follow_sign_in_and_discovery_domains() {
        let t = TrustedHosts::new(
            Some("contoso.com"),
            Some(&u("https://lyncdiscover.fabrikam.com/")),
            &["extra.example".into()],
        );
        assert!(t.allows(&u("https://lyncweb.contoso.com/WebTicket/oauthtoken")));
        assert!(t.allows(&u("https://contoso.com/x")));
        assert!(t.allows(&u("https://pool.fabrikam.com/x")));
        assert!(t.allows(&u("https://extra.example/x")));
        assert!(!t.allows(&u("https://evilcontoso.com/x")));
        assert!(!t.allows(&u("https://contoso.com.evil.net/x")));
        let ip = TrustedHosts::new(Some("contoso.com"), Some(&u("http://127.0.0.1:1/")), &[]);
        assert!(ip.allows(&u("http://127.0.0.1:2/token")));
        assert!(!ip.allows(&u("http://127.0.0.2:2/token")));
    }

    #[test]
    fn a_challenge_is_answered_only_for_trusted_origins_and_token_endpoints() {
        let t = TrustedHosts::new(Some("contoso.com"), None, &[]);
        let pool = u("https://pool.contoso.com/ucwa");
        let evil = u("https://evil.example/ucwa");
        let token = u("https://lyncweb.contoso.com/WebTicket/oauthtoken");
        assert!(t.check_challenge(&pool, None).is_ok());
        assert!(t.check_challenge(&pool, Some(&token)).is_ok());
        for (from, to) in [(&evil, None), (&evil, Some(&token)), (&pool, Some(&evil))] {
            let e = t.check_challenge(from, to).unwrap_err();
            assert_eq!(e.status(), crate::error::Status::Insecure, "{e}");
        }
    }
}
