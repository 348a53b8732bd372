//! Autodiscovery: from a discovery URL or a bare SIP domain to the `user` resource URL,
//! following root redirects and HTTP redirects only where the security check passes.

use reqwest::Method;
use url::Url;

use crate::error::{Error, Step};
use crate::hal::Resource;
use crate::log::ucwa_log;
use crate::security::{self, TrustedHosts};
use crate::transport::{server_error, shown_url, Body, Exchange};

/// How many redirect hops discovery follows before it gives up.
pub(crate) const MAX_HOPS: usize = 8;

/// The URLs to try, in order, for what the host passed as `server`.
pub fn candidates(server: &str) -> Result<Vec<Url>, Error> {
    let s = server.trim();
    if s.is_empty() {
        return Err(Error::InvalidArgument("server is empty".into()));
    }
    if s.contains("://") {
        let url = Url::parse(s)
            .map_err(|e| Error::InvalidArgument(format!("server {s:?} is not a URL: {e}")))?;
        if url.host_str().is_none() {
            return Err(Error::InvalidArgument(format!("server {s:?} has no host")));
        }
        security::check_transport(Step::Discovery, &url)?;
        return Ok(vec![url]);
    }
    let domain = s.trim_end_matches('.').to_ascii_lowercase();
    let valid = domain.contains('.')
        && domain
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !valid {
        return Err(Error::InvalidArgument(format!(
            "server {s:?} is neither a discovery URL nor a SIP domain"
        )));
    }
    ["lyncdiscoverinternal", "lyncdiscover"]
        .iter()
        .map(|p| {
            Url::parse(&format!("https://{p}.{domain}/"))
                .map_err(|e| Error::InvalidArgument(format!("server {s:?}: {e}")))
        })
        .collect()
}

/// Finds the `user` URL, trying each candidate in turn (internal first, then external).
pub async fn discover(
    ex: &Exchange<'_>,
    candidates: &[Url],
    trusted: &TrustedHosts,
) -> Result<Url, Error> {
    let mut last: Option<Error> = None;
    let mut tried = Vec::new();
    for c in candidates {
        ucwa_log!(Info, ex.secrets, "discovery: trying {}", shown_url(c));
        match discover_one(ex, c, trusted).await {
            Ok(u) => {
                ucwa_log!(
                    Info,
                    ex.secrets,
                    "discovery: user resource {} (from {})",
                    shown_url(&u),
                    shown_url(c)
                );
                return Ok(u);
            }
            Err(e) => {
                ucwa_log!(Warn, ex.secrets, "discovery: {} failed: {e}", shown_url(c));
                if let Some(before) = last.take() {
                    tried.push(format!(
                        "{} ({before})",
                        shown_url(&candidates[tried.len()])
                    ));
                }
                last = Some(e);
            }
        }
    }
    let last = last.unwrap_or_else(|| Error::InvalidArgument("no discovery URL to try".into()));
    // A bare domain tries the internal name first: say so, or a user reading only the external
    // name's failure would not know the internal one failed too.
    Err(match tried.is_empty() {
        true => last,
        false => last.with_note(&format!("tried first: {}", tried.join("; "))),
    })
}

async fn discover_one(
    ex: &Exchange<'_>,
    start: &Url,
    trusted: &TrustedHosts,
) -> Result<Url, Error> {
    let mut url = start.clone();
    for _ in 0..MAX_HOPS {
        security::check_transport(Step::Discovery, &url)?;
        let reply = ex
            .send(Step::Discovery, Method::GET, &url, None, Body::Empty)
            .await?;
        ucwa_log!(
            Debug,
            ex.secrets,
            "discovery hop: {} answered {}",
            shown_url(&url),
            reply.status
        );
        if (300..400).contains(&reply.status) {
            let loc = reply
                .header("location")
                .and_then(|l| url.join(l).ok())
                .ok_or_else(|| Error::Protocol {
                    step: Step::Discovery,
                    detail: format!("{} redirect without a usable Location", reply.status),
                    http_status: Some(reply.status),
                    path: url.path().to_string(),
                })?;
            url = checked_redirect(&url, loc, trusted)?;
            continue;
        }
        if !reply.is_success() {
            return Err(server_error(Step::Discovery, &reply));
        }
        let root = Resource::parse(Step::Discovery, &url, &reply.body)?;
        if let Some(user) = root.link("user") {
            return Ok(user);
        }
        if let Some(next) = root.link("redirect") {
            url = checked_redirect(&url, next, trusted)?;
            continue;
        }
        return Err(Error::Protocol {
            step: Step::Discovery,
            detail: "the discovery root has neither a `user` nor a `redirect` link".into(),
            http_status: Some(reply.status),
            path: url.path().to_string(),
        });
    }
    Err(Error::Protocol {
        step: Step::Discovery,
        detail: format!("more than {MAX_HOPS} discovery redirects"),
        http_status: None,
        path: start.path().to_string(),
    })
}

/// The documented security check: a redirect is followed when the answer came over HTTPS, or
/// when it stays within the trusted domains. The target must itself be https or loopback.
fn checked_redirect(from: &Url, to: Url, trusted: &TrustedHosts) -> Result<Url, Error> {
    security::check_transport(Step::Discovery, &to)?;
    if from.scheme() == "https" || trusted.allows(&to) {
        Ok(to)
    } else {
        Err(Error::Insecure {
            step: Step::Discovery,
            detail: format!(
                "discovery redirect from {} to {} fails the security check (plain http to another domain)",
                from.host_str().unwrap_or("?"),
                to.host_str().unwrap_or("?")
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_domain_tries_internal_then_external_over_https() {
        let c = candidates("Contoso.com").unwrap();
        assert_eq!(c[0].as_str(), "https://lyncdiscoverinternal.contoso.com/");
        assert_eq!(c[1].as_str(), "https://lyncdiscover.contoso.com/");
        assert_eq!(candidates("http://127.0.0.1:9/").unwrap().len(), 1);
    }

    /// The internal→external fallback: a refused connection and a 404 are skipped, and the
    /// next candidate's root is used.
    #[test]
    fn failing_candidates_fall_through_to_the_next_one() {
        let sim = ucwa_sim::Sim::start(ucwa_sim::SimConfig::default()).unwrap();
        let refused = Url::parse("http://127.0.0.1:1/").unwrap();
        let not_found = Url::parse(&format!("{}no/such/discovery/root", sim.root_url())).unwrap();
        let good = Url::parse(&sim.root_url()).unwrap();
        let counter = std::sync::atomic::AtomicU64::new(0);
        let opts = crate::options::Options::default();
        let secrets = crate::redact::Secrets::default();
        let timeout = std::time::Duration::from_secs(5);
        let ex = Exchange::new(&opts, timeout, &counter, &secrets).unwrap();
        let trusted = TrustedHosts::new(Some("contoso.com"), Some(&good), &[]);
        let user =
            crate::engine::block_on(discover(&ex, &[refused, not_found, good], &trusted)).unwrap();
        assert!(user.path().ends_with("/oauth/user"), "{user}");
        let routes: Vec<(String, u16)> =
            sim.log().into_iter().map(|e| (e.route, e.status)).collect();
        assert_eq!(routes.last(), Some(&("discovery".to_string(), 200)));
        assert!(routes.iter().any(|(_, s)| *s == 404));
        assert_eq!(counter.load(std::sync::atomic::Ordering::Relaxed), 3);

        let only_bad = [Url::parse("http://127.0.0.1:1/").unwrap()];
        let e = crate::engine::block_on(discover(&ex, &only_bad, &trusted)).unwrap_err();
        assert_eq!(e.status(), crate::error::Status::Network);
    }

    #[test]
    fn bad_servers_are_invalid_or_insecure() {
        for s in ["", "not a domain", "http://", "contoso"] {
            assert_eq!(
                candidates(s).unwrap_err().status(),
                crate::error::Status::InvalidArgument,
                "{s}"
            );
        }
        assert_eq!(
            candidates("http://lyncdiscover.contoso.com/")
                .unwrap_err()
                .status(),
            crate::error::Status::Insecure
        );
    }
}
