//! What a failure most likely means and what to do about it, in a Skype administrator's words:
//! one table from what was seen (a library error, a probe's transport error, a token answer)
//! to an [`Advice`].

use crate::report::Advice;

/// What the advice may mention: the host that failed, and the choices the user made.
pub struct Context<'a> {
    pub host: &'a str,
    pub ca_file: bool,
    pub grant: &'a str,
    /// The SIP domain, when `--server` was a bare domain (its discovery names were tried).
    pub domain: Option<&'a str>,
}

/// Advice for an error's text (a library error's `Display`, a probe's error chain).
pub fn for_text(text: &str, status: Option<ucwa::Status>, cx: &Context<'_>) -> Advice {
    let t = text.to_ascii_lowercase();
    let host = cx.host;
    if t.contains("unknownissuer") || t.contains("unknown issuer") || t.contains("self-signed") {
        return if cx.ca_file {
            Advice::new(
                format!("the certificate of {host} is not signed by the CA in --ca-file"),
                "export the root (and any intermediate) CA that issued the pool's certificate as PEM and pass that file with --ca-file (hosts: option ca_file)",
            )
        } else {
            Advice::new(
                format!("the certificate of {host} is issued by an internal CA this machine does not trust"),
                "pass --ca-file with that CA's certificate (PEM); hosts set the ca_file option, or install the CA in the system store",
            )
        };
    }
    if t.contains("notvalidforname") || t.contains("not valid for name") {
        return Advice::new(
            format!("the certificate of {host} does not name {host}"),
            "connect with a name the certificate lists (the pool's external web services FQDN), or reissue the certificate with this name in its subject alternative names",
        );
    }
    if t.contains("expired") && (t.contains("cert") || status == Some(ucwa::Status::Tls)) {
        return Advice::new(
            format!("the certificate of {host} has expired (or this machine's clock is wrong)"),
            "renew the certificate on the front end or reverse proxy; check the clock",
        );
    }
    if t.contains("dns error")
        || t.contains("failed to lookup")
        || t.contains("name or service not known")
        || t.contains("no such host")
    {
        let fix = match cx.domain {
            Some(d) => format!("lyncdiscoverinternal.{d} and lyncdiscover.{d} are the autodiscover names: publish one in DNS, or pass --server with the pool's external URL (https://lyncdiscover.{d} or the web services FQDN)"),
            None => "check the name; pass --server with the external URL (https://lyncdiscover.<sip domain>) when the internal name does not resolve from here".to_string(),
        };
        return Advice::new(format!("{host} does not resolve (DNS)"), fix);
    }
    if t.contains("connection refused") {
        return Advice::new(
            format!("nothing accepts connections at {host}"),
            "check the port, that the IIS web services (or the reverse proxy) run, and firewalls",
        );
    }
    if t.contains("unsupported_grant_type") || t.contains("this sign-in can use") {
        let fix = if cx.grant == "windows" {
            "the pool does not offer the Windows grant: use --grant password (or auto), or enable Windows authentication on the web services"
        } else {
            "the pool does not offer the password grant: use --grant windows (Windows integrated authentication)"
        };
        return Advice::new(
            "the pool does not offer the OAuth grant this sign-in asked for",
            fix,
        );
    }
    if t.contains("invalid_grant") || t.contains("credentials refused") || t.contains("28020") {
        return Advice::new(
            "the user name or password was refused",
            "check them (the password is read from --password-env); sign in as user@domain, DOMAIN\\user or sip:user@domain, and check the account is enabled for Skype for Business",
        );
    }
    if t.contains("proxy") && (t.contains("407") || t.contains("refused")) {
        return Advice::new(
            "the HTTP proxy refused the request",
            "check the proxy's credentials (https_proxy / the proxy option) or exempt the pool with no_proxy",
        );
    }
    match status {
        Some(ucwa::Status::Timeout) => Advice::new(
            format!("{host} did not answer in time"),
            "check that the pool is reachable from here (firewall, reverse proxy) and not overloaded; retry with a larger --timeout-s",
        ),
        Some(ucwa::Status::Authentication) => Advice::new(
            "the sign-in was refused",
            "check the user name, the password and the grant (--grant); the X-Ms-diagnostics code in the message names the reason",
        ),
        Some(ucwa::Status::Insecure) => Advice::new(
            "the server sent the client to a host it may not send credentials to (plain http, or another domain)",
            "use https end to end; when the other host is yours, allow it (option allowed_hosts)",
        ),
        Some(ucwa::Status::Tls) => Advice::new(
            format!("the TLS connection to {host} failed"),
            "check the certificate (name, chain, expiry) and that the server speaks TLS 1.2 or later",
        ),
        Some(ucwa::Status::Server) => Advice::new(
            "the pool answered with an error",
            "read the X-Ms-diagnostics code in the message and the front end's event log; run again with --transcript and send it",
        ),
        Some(ucwa::Status::Protocol) => Advice::new(
            "the server answered something this client does not understand",
            "run again with --transcript FILE and send the transcript and the profile with a bug report",
        ),
        _ => Advice::new(
            format!("{host} could not be reached"),
            "check the URL, DNS, firewalls and proxies between here and the pool",
        ),
    }
}

/// Advice for a library error.
pub fn for_error(e: &ucwa::Error, cx: &Context<'_>) -> Advice {
    for_text(&e.to_string(), Some(e.status()), cx)
}

/// A transport error and every error under it, as one line.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut src = e.source();
    while let Some(s) = src {
        parts.push(s.to_string());
        src = s.source();
    }
    parts.join(": ")
}
