//! Client options: the string keys of `ucwa_client_set_option`, their validation and defaults.
//!
//! Keys are strings so that the C ABI never changes when an option is added. Every value is
//! validated when it is set, so a bad value is reported where the host wrote it, not later:
//! text that ends up in a header or a body never holds a control character, and the CA file
//! is read and parsed once, here, so later calls never touch the path again.

use std::sync::Arc;
use std::time::Duration;

use crate::engine::CaBundle;
use crate::error::Error;
use crate::proxy::ProxyChoice;
use crate::transcript::{Sink, Transcript};

/// The default and the limits of `max_body_bytes`.
pub(crate) const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;
const MIN_MAX_BODY: usize = 64 * 1024;
const MAX_MAX_BODY: usize = 64 * 1024 * 1024;

/// The modalities the protocol defines (`ModalityType`).
const MODALITIES: [&str; 7] = [
    "Audio",
    "Video",
    "PhoneAudio",
    "ApplicationSharing",
    "Messaging",
    "DataCollaboration",
    "PanoramicVideo",
];

/// Every key `set` accepts, with a one-line description (also used in docs and errors).
pub const KEYS: [(&str, &str); 18] = [
    (
        "user_agent",
        "application userAgent (1..100 chars); default \"ucwa/<version>\"",
    ),
    (
        "culture",
        "application culture, e.g. en-US (1..100 chars); default en-US",
    ),
    (
        "endpoint_id",
        "application endpointId (1..100 chars); default a random GUID per client",
    ),
    (
        "timeout_ms",
        "longest single HTTP exchange, 100..600000; default 30000",
    ),
    (
        "ca_file",
        "PEM file (regular file, at most 1 MiB) of extra trusted CA certificates, read once when set; empty = platform store only",
    ),
    (
        "modalities",
        "comma-separated makeMeAvailable supportedModalities; default Messaging",
    ),
    (
        "keepalive_interval_s",
        "seconds between reportMyActivity, 0 = off, up to 3600 (over 240 lets presence decay); default 180",
    ),
    (
        "event_timeout_s",
        "event channel `timeout` parameter in whole seconds, 1..1800; default 180",
    ),
    (
        "event_channel",
        "1 = keep an event channel P-GET parked (default), 0 = none",
    ),
    (
        "enforce_presence",
        "1 = re-apply the host's availability when changed elsewhere; default 0",
    ),
    (
        "allowed_hosts",
        "comma-separated extra host names the password and tokens may be sent to",
    ),
    (
        "retry_after_max_s",
        "longest Retry-After wait honoured, 0..600; default 30",
    ),
    (
        "max_body_bytes",
        "longest response body read, 65536..67108864; default 4194304 (4 MiB)",
    ),
    (
        "min_token_lifetime_s",
        "floor under a token's lifetime: renewals come no faster, 1..3600; default 60",
    ),
    (
        "proxy",
        "system (default: https_proxy/http_proxy/all_proxy/no_proxy as curl reads them; loopback always direct), none, or http://[user:password@]host:port",
    ),
    (
        "subscription_refresh_s",
        "seconds between extensions of the presence subscription (servers keep one 10..30 min), 1..1200; default 300",
    ),
    (
        "grant",
        "OAuth grant for sign-in: auto (default: the password grant when the server offers it, else the Windows grant with the same credentials), password, or windows (NTLM or Negotiate on the token request)",
    ),
    (
        "transcript",
        "file to append a redacted transcript to (one JSON line per HTTP exchange, secrets removed, bodies cut at 16 KiB, the file capped at 64 MiB); empty = none; default the UCWA_TRANSCRIPT environment variable",
    ),
];

/// Which OAuth grant a sign-in may use (option `grant`). The grant is chosen against the
/// server's `MsRtcOAuth` challenge, in one place (`auth::choose_grant`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Grant {
    /// The password grant when the server offers it, else the Windows grant with the same
    /// credentials (the current user has only the Windows grant).
    #[default]
    Auto,
    /// Only the password grant.
    Password,
    /// Only Windows integrated authentication (`urn:microsoft.rtc:windows`): NTLM or Negotiate
    /// on the token request.
    Windows,
}

impl Grant {
    /// The option value that selects this grant.
    pub fn name(self) -> &'static str {
        match self {
            Grant::Auto => "auto",
            Grant::Password => "password",
            Grant::Windows => "windows",
        }
    }
}

/// The validated settings of one client.
#[derive(Debug, Clone)]
pub struct Options {
    pub user_agent: String,
    pub culture: String,
    pub endpoint_id: String,
    pub timeout: Duration,
    /// The certificates of `ca_file`, as loaded when it was set.
    pub ca: Option<Arc<CaBundle>>,
    pub modalities: Vec<String>,
    pub keepalive_interval: Option<Duration>,
    pub event_timeout_s: u32,
    pub event_channel: bool,
    pub enforce_presence: bool,
    pub allowed_hosts: Vec<String>,
    pub retry_after_max: Duration,
    pub max_body: usize,
    pub min_token_lifetime: Duration,
    pub subscription_refresh: Duration,
    pub proxy: ProxyChoice,
    pub grant: Grant,
    /// Where this client's exchanges are recorded (option `transcript`, else
    /// `UCWA_TRANSCRIPT`), with the client's number in it.
    pub(crate) transcript: Option<Sink>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            user_agent: format!("ucwa/{}", env!("CARGO_PKG_VERSION")),
            culture: "en-US".into(),
            endpoint_id: uuid::Uuid::new_v4().to_string(),
            timeout: Duration::from_millis(30_000),
            ca: None,
            modalities: vec!["Messaging".into()],
            keepalive_interval: Some(Duration::from_secs(180)),
            event_timeout_s: 180,
            event_channel: true,
            enforce_presence: false,
            allowed_hosts: Vec::new(),
            retry_after_max: Duration::from_secs(30),
            max_body: DEFAULT_MAX_BODY,
            min_token_lifetime: Duration::from_secs(60),
            subscription_refresh: Duration::from_secs(300),
            proxy: ProxyChoice::System,
            grant: Grant::Auto,
            transcript: Transcript::from_env().map(|file| Sink {
                file,
                client: crate::transcript::next_client_id(),
            }),
        }
    }
}

fn bad(key: &str, value: &str, why: &str) -> Error {
    Error::InvalidArgument(format!("option {key}={value:?}: {why}"))
}

/// Refuses control characters (CR, LF, NUL, …) in text that becomes a header or a body.
fn header_safe(key: &str, value: &str) -> Result<(), Error> {
    if value.chars().any(char::is_control) {
        return Err(Error::InvalidArgument(format!(
            "option {key}: control characters are not allowed"
        )));
    }
    Ok(())
}

fn short_text(key: &str, value: &str) -> Result<String, Error> {
    header_safe(key, value)?;
    let v = value.trim();
    if v.is_empty() || v.chars().count() > 100 {
        return Err(bad(key, value, "must be 1..100 characters"));
    }
    Ok(v.to_string())
}

fn number(key: &str, value: &str, min: f64, max: f64) -> Result<f64, Error> {
    match value.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n >= min && n <= max => Ok(n),
        _ => Err(bad(
            key,
            value,
            &format!("must be a number from {min} to {max}"),
        )),
    }
}

fn flag(key: &str, value: &str) -> Result<bool, Error> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(bad(key, value, "must be 1 or 0")),
    }
}

/// The `modalities` list: known names (any case) in their protocol spelling, at least one.
fn modalities(key: &str, value: &str) -> Result<Vec<String>, Error> {
    header_safe(key, value)?;
    let mut list = Vec::new();
    for m in value.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        let Some(k) = MODALITIES.iter().find(|k| k.eq_ignore_ascii_case(m)) else {
            let known = MODALITIES.join(", ");
            return Err(bad(
                key,
                value,
                &format!("unknown modality {m:?}; known: {known}"),
            ));
        };
        list.push(k.to_string());
    }
    if list.is_empty() {
        return Err(bad(key, value, "name at least one modality"));
    }
    Ok(list)
}

/// The `allowed_hosts` list: host names in lower case without a trailing dot.
fn host_names(key: &str, value: &str) -> Result<Vec<String>, Error> {
    header_safe(key, value)?;
    let hosts: Vec<String> = value
        .split(',')
        .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    if let Some(h) = hosts
        .iter()
        .find(|h| h.contains(|c: char| c.is_whitespace() || "/?#@".contains(c)))
    {
        return Err(bad(key, value, &format!("{h:?} is not a host name")));
    }
    Ok(hosts)
}

/// The `ca_file` bundle, read and parsed now; empty means none.
fn ca_bundle(key: &str, value: &str) -> Result<Option<Arc<CaBundle>>, Error> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    let bundle =
        CaBundle::load(std::path::Path::new(value)).map_err(|why| bad(key, value, &why))?;
    Ok(Some(Arc::new(bundle)))
}

fn grant(key: &str, value: &str) -> Result<Grant, Error> {
    match value.trim().to_ascii_lowercase().as_str() {
        "auto" => Ok(Grant::Auto),
        "password" => Ok(Grant::Password),
        "windows" => Ok(Grant::Windows),
        _ => Err(bad(key, value, "must be auto, password or windows")),
    }
}

fn seconds(key: &str, value: &str, min: f64, max: f64) -> Result<Duration, Error> {
    Ok(Duration::from_secs_f64(number(key, value, min, max)?))
}

impl Options {
    /// The sink for option `transcript`: the file opened now (so a bad path is refused here),
    /// with the client's number kept across changes; empty turns the transcript off.
    fn transcript_sink(&self, key: &str, value: &str) -> Result<Option<Sink>, Error> {
        if value.trim().is_empty() {
            return Ok(None);
        }
        let file = Transcript::open(value).map_err(|why| bad(key, value, &why))?;
        let client = self
            .transcript
            .as_ref()
            .map_or_else(crate::transcript::next_client_id, |s| s.client);
        Ok(Some(Sink { file, client }))
    }

    /// Sets one option by key; an unknown key or a bad value changes nothing.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), Error> {
        match key {
            "user_agent" => self.user_agent = short_text(key, value)?,
            "culture" => self.culture = short_text(key, value)?,
            "endpoint_id" => self.endpoint_id = short_text(key, value)?,
            "timeout_ms" => {
                self.timeout = Duration::from_millis(number(key, value, 100.0, 600_000.0)? as u64)
            }
            "ca_file" => self.ca = ca_bundle(key, value)?,
            "modalities" => self.modalities = modalities(key, value)?,
            "keepalive_interval_s" => {
                let n = number(key, value, 0.0, 3600.0)?;
                self.keepalive_interval = (n > 0.0).then(|| Duration::from_secs_f64(n.max(0.05)));
            }
            "event_timeout_s" => self.event_timeout_s = number(key, value, 1.0, 1800.0)? as u32,
            "event_channel" => self.event_channel = flag(key, value)?,
            "enforce_presence" => self.enforce_presence = flag(key, value)?,
            "allowed_hosts" => self.allowed_hosts = host_names(key, value)?,
            "retry_after_max_s" => self.retry_after_max = seconds(key, value, 0.0, 600.0)?,
            "max_body_bytes" => {
                let n = number(key, value, MIN_MAX_BODY as f64, MAX_MAX_BODY as f64)?;
                self.max_body = n as usize;
            }
            "min_token_lifetime_s" => self.min_token_lifetime = seconds(key, value, 1.0, 3600.0)?,
            "proxy" => {
                header_safe(key, value)?;
                // The message never repeats the value: it may hold the proxy's password.
                self.proxy = ProxyChoice::parse(value)
                    .map_err(|why| Error::InvalidArgument(format!("option proxy: {why}")))?;
            }
            "subscription_refresh_s" => {
                self.subscription_refresh = seconds(key, value, 1.0, 1200.0)?
            }
            "grant" => self.grant = grant(key, value)?,
            "transcript" => self.transcript = self.transcript_sink(key, value)?,
            _ => {
                let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
                return Err(Error::InvalidArgument(format!(
                    "unknown option {key:?}; known options: {}",
                    known.join(", ")
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_key_is_accepted_and_unknown_keys_are_refused() {
        let mut o = Options::default();
        for (k, v) in [
            ("user_agent", "demo"),
            ("culture", "de-DE"),
            ("endpoint_id", "e1"),
            ("timeout_ms", "1500"),
            ("ca_file", ""),
            ("transcript", ""),
            ("modalities", "messaging,PhoneAudio"),
            ("keepalive_interval_s", "0.5"),
            ("event_timeout_s", "5"),
            ("event_channel", "0"),
            ("enforce_presence", "true"),
            ("allowed_hosts", "a.example, B.example."),
            ("retry_after_max_s", "2"),
            ("max_body_bytes", "65536"),
            ("min_token_lifetime_s", "1"),
            ("subscription_refresh_s", "60"),
            ("grant", " Password "),
        ] {
            o.set(k, v).unwrap_or_else(|e| panic!("{k}: {e}"));
        }
        assert_eq!(o.grant, Grant::Password);
        for (value, grant) in [("windows", Grant::Windows), ("AUTO", Grant::Auto)] {
            o.set("grant", value).unwrap();
            assert_eq!(o.grant, grant);
        }
        assert_eq!(o.modalities, ["Messaging", "PhoneAudio"]);
        assert_eq!(o.allowed_hosts, ["a.example", "b.example"]);
        assert_eq!(o.timeout, Duration::from_millis(1500));
        assert!(!o.event_channel && o.enforce_presence);
        assert!(o.set("no_such_key", "1").is_err());
    }

    #[test]
    fn bad_values_are_refused_and_change_nothing() {
        let mut o = Options::default();
        for (k, v) in [
            ("timeout_ms", "0"),
            ("timeout_ms", "abc"),
            ("keepalive_interval_s", "3601"),
            ("keepalive_interval_s", "-1"),
            ("modalities", "Telepathy"),
            ("modalities", " , "),
            ("user_agent", ""),
            ("event_channel", "maybe"),
            ("ca_file", "/nonexistent/ca.pem"),
            ("ca_file", "/dev/zero"),
            ("ca_file", "/"),
            ("transcript", "/nonexistent/dir/t.jsonl"),
            ("transcript", "/"),
            ("user_agent", "demo\r\nX-Injected: 1"),
            ("culture", "en-US\n"),
            ("endpoint_id", "a\u{0}b"),
            ("modalities", "Messaging\r\n"),
            ("allowed_hosts", "a.example\r\nx"),
            ("allowed_hosts", "a.example/path"),
            ("max_body_bytes", "1024"),
            ("max_body_bytes", "1e12"),
            ("min_token_lifetime_s", "0"),
            ("grant", ""),
            ("grant", "ntlm"),
            ("grant", "password,windows"),
            ("grant", "urn:microsoft.rtc:windows"),
        ] {
            assert!(o.set(k, v).is_err(), "{k}={v} accepted");
        }
        assert_eq!(o.timeout, Duration::from_millis(30_000));
        assert_eq!(o.modalities, ["Messaging"]);
        assert_eq!(o.keepalive_interval, Some(Duration::from_secs(180)));
        assert_eq!(o.user_agent, format!("ucwa/{}", env!("CARGO_PKG_VERSION")));
        assert_eq!(o.max_body, DEFAULT_MAX_BODY);
        assert!(o.ca.is_none() && o.allowed_hosts.is_empty());
        assert_eq!(o.grant, Grant::Auto);
    }

    #[test]
    fn every_key_set_accepts_is_listed_in_keys() {
        let mut o = Options::default();
        for (k, _) in KEYS {
            // A listed key is never "unknown", whatever its value does.
            let err = o
                .set(k, "\u{1}")
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(!err.contains("unknown option"), "{k}: {err}");
        }
    }
}
