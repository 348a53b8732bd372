//! The steps, in the order of the product path: discovery, TLS, the challenge, the token, then
//! the library's own sign-in and everything after it, each printed as a checklist line; a
//! failure that leaves nothing to check after it ends the walk (the rest is skipped).

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use url::Url;

use crate::advice::{for_text, Context};
use crate::args::Args;
use crate::probe::{self, Http};
use crate::profile::Observed;
use crate::report::{Advice, Report};

const WINDOWS: &str = "urn:microsoft.rtc:windows";

/// The state of one run.
struct Doctor<'a> {
    a: &'a Args,
    pw: &'a str,
    r: Report<'a>,
    rt: tokio::runtime::Runtime,
    http: Http,
    obs: Observed,
    host: String,
    domain: Option<String>,
    transcript: PathBuf,
    /// A token of the doctor's own (password grant): its endpoint, value, when it came.
    raw: Option<(Url, String, u64, Instant)>,
    /// The `--ca-file` bundle, for the hold probe's own HTTP client.
    ca_pem: Option<Vec<u8>>,
    /// The NetBIOS domain the Windows grant's NTLM challenge named.
    ntlm_domain: Option<String>,
}

/// Runs every step; returns the exit status.
pub fn run(a: &Args, pw: &str, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let ca_pem = match &a.ca_file {
        Some(p) => match std::fs::read(p) {
            Ok(b) => Some(b),
            Err(e) => {
                let _ = writeln!(err, "ucwa-doctor: --ca-file {}: {e}", p.display());
                return 2;
            }
        },
        None => None,
    };
    let http = match Http::new(ca_pem.as_deref(), a.timeout) {
        Ok(h) => h,
        Err(why) => {
            let _ = writeln!(err, "ucwa-doctor: {why}");
            return 2;
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(err, "ucwa-doctor: cannot start: {e}");
            return 1;
        }
    };
    let temp = std::env::temp_dir().join(format!("ucwa-doctor-{}.jsonl", uuid::Uuid::new_v4()));
    let transcript = a.transcript.clone().unwrap_or(temp);
    // A fresh file: the library appends, and the observations read this run's lines only.
    if let Err(e) = std::fs::write(&transcript, "") {
        let _ = writeln!(
            err,
            "ucwa-doctor: --transcript {}: {e}",
            transcript.display()
        );
        return 2;
    }
    let mut d = Doctor {
        a,
        pw,
        r: Report::new(out, pw),
        rt,
        http,
        obs: Observed::default(),
        host: String::new(),
        domain: None,
        transcript,
        raw: None,
        ca_pem,
        ntlm_domain: None,
    };
    d.walk();
    d.profile(err);
    if a.transcript.is_none() {
        let _ = std::fs::remove_file(&d.transcript);
    }
    i32::from(d.r.failed > 0)
}

impl<'a> Doctor<'a> {
    fn cx(&self) -> Context<'_> {
        Context {
            host: &self.host,
            ca_file: self.a.ca_file.is_some(),
            grant: &self.a.grant,
            domain: self.domain.as_deref(),
        }
    }

    fn walk(&mut self) {
        let Some(user_url) = self.discovery() else {
            return self.skip_rest("discovery");
        };
        let Some(token_href) = self.challenge(&user_url) else {
            return self.skip_rest("challenge");
        };
        if !self.token(&token_href) {
            return self.skip_rest("token");
        }
        let Some(client) = self.sign_in() else {
            return self.skip_rest("sign-in");
        };
        self.session(&client);
        self.sign_out(&client);
    }

    fn skip_rest(&mut self, after: &str) {
        self.r
            .skip("remaining steps", &format!("not run: {after} failed"));
    }

    /// The discovery URLs to try: the one given, or a domain's internal then external name.
    fn candidates(&mut self) -> Vec<Url> {
        let s = self.a.server.trim();
        if s.contains("://") {
            return Url::parse(s).into_iter().collect();
        }
        let d = s.trim_end_matches('.').to_ascii_lowercase();
        self.domain = Some(d.clone());
        [
            format!("https://lyncdiscoverinternal.{d}/"),
            format!("https://lyncdiscover.{d}/"),
        ]
        .iter()
        .filter_map(|u| Url::parse(u).ok())
        .collect()
    }

    fn discovery(&mut self) -> Option<Url> {
        let candidates = self.candidates();
        if candidates.is_empty() {
            let advice = Advice::new(
                "--server is neither a URL nor a domain",
                "pass https://lyncdiscover.<domain> or the SIP domain",
            );
            self.r.fail(
                "discovery",
                &format!("cannot use --server {:?}", self.a.server),
                &advice,
            );
            return None;
        }
        self.obs.tls = candidates[0].scheme() == "https";
        let mut last = None;
        for url in &candidates {
            self.host = url.host_str().unwrap_or_default().to_string();
            match self.rt.block_on(probe::discover(&self.http.trusted, url)) {
                Ok(found) => return self.discovered(url, found),
                Err(e) => {
                    let tls = e.to_ascii_lowercase().contains("certificate");
                    self.r.info("discovery", &format!("{url} failed: {e}"));
                    if tls {
                        let issuer = self.show_certificate(url).map(|c| c.issuer);
                        let mut advice = for_text(&e, Some(ucwa::Status::Tls), &self.cx());
                        if let Some(i) = issuer {
                            advice.fix = format!("{} (the CA to export: {i})", advice.fix);
                        }
                        self.r.fail(
                            "TLS",
                            &format!("the certificate of {} is not trusted", self.host),
                            &advice,
                        );
                        return None;
                    }
                    last = Some(e);
                }
            }
        }
        let e = last.unwrap_or_default();
        let advice = for_text(&e, None, &self.cx());
        self.r.fail(
            "discovery",
            &format!("no discovery URL answered (last: {})", self.host),
            &advice,
        );
        None
    }

    fn discovered(&mut self, url: &Url, found: probe::Discovery) -> Option<Url> {
        let hops: Vec<String> = found
            .hops
            .iter()
            .map(|h| h.host_str().unwrap_or("").to_string())
            .collect();
        self.r.ok(
            "discovery",
            &format!(
                "{url} answered; {} redirect(s); hosts: {}; user resource on {}",
                found.redirects,
                hops.join(" -> "),
                found.user.host_str().unwrap_or("")
            ),
        );
        self.obs.discovery_redirects = Some(found.redirects);
        self.obs.bare_redirects = found.bare_redirects.or(Some(false));
        let ct = found.root.header("content-type").unwrap_or_default();
        self.obs.uniform_content_type = Some(ct.contains("charset"));
        self.obs.ucwa_version_header = Some(found.root.header("x-ms-ucwaversion").is_some());
        self.r.info("discovery", &format!("Content-Type {ct:?}"));
        self.tls_trust(url);
        match self.rt.block_on(probe::gzip(&self.http.trusted, url)) {
            Ok(g) => {
                self.obs.gzip = Some(g);
                self.r
                    .info("compression", if g { "gzip when asked" } else { "no gzip" });
            }
            Err(e) => self.r.info("compression", &format!("not checked: {e}")),
        }
        Some(found.user)
    }

    /// Prints what the server's certificate says: names, issuer, expiry.
    fn show_certificate(&mut self, url: &Url) -> Option<probe::Certificate> {
        let c = match self.rt.block_on(probe::certificate(url, self.a.timeout)) {
            Ok(c) => c,
            Err(e) => {
                self.r
                    .info("TLS", &format!("the certificate could not be read: {e}"));
                return None;
            }
        };
        let own = if c.self_issued { " (self-signed)" } else { "" };
        self.r.info(
            "TLS",
            &format!(
                "certificate {}; names: {}; issued by {}{own}; valid until {} ({} days)",
                c.subject,
                c.names.join(", "),
                c.issuer,
                c.not_after,
                c.days_left
            ),
        );
        if c.days_left < 30 && c.days_left >= 0 {
            self.r
                .info("TLS", "the certificate expires within 30 days: renew it");
        }
        Some(c)
    }

    /// Whether the platform store alone trusts the server, or only with `--ca-file`.
    fn tls_trust(&mut self, url: &Url) {
        if url.scheme() != "https" {
            self.r.info(
                "TLS",
                "not used (plain http; the library allows it on loopback only)",
            );
            return;
        }
        self.show_certificate(url);
        let platform = self
            .rt
            .block_on(probe::send(self.http.platform.get(url.clone())));
        match (platform, self.a.ca_file.as_ref()) {
            (Ok(_), _) => self.r.ok("TLS", &format!("the certificate of {} is trusted by this machine's store", self.host)),
            (Err(_), Some(f)) => self.r.ok(
                "TLS",
                &format!(
                    "the certificate of {} is issued by an internal CA: trusted through --ca-file {} (hosts need option ca_file with this file)",
                    self.host,
                    f.display()
                ),
            ),
            (Err(e), None) => self.r.info("TLS", &format!("the platform store alone: {e}")),
        }
    }
}

mod habits;
mod session;
mod steps;
