//! The redacted transcript: every HTTP exchange of a client as one JSON line (option
//! `transcript`, or `UCWA_TRANSCRIPT=path` for a host that sets no option), small and safe enough
//! to attach to a bug report, and the input of `ucwa-doctor`'s server profile.
//!
//! What a line holds is decided here, in one place (`line`): the URL without its
//! query, headers and bodies with every credential removed (by name: `Authorization`, cookies,
//! NTLM/Negotiate blobs, `password`, `access_token`, …) and then through the session's scrubber
//! ([`Secrets::redact`], as for log records), which catches a secret the server echoes anywhere
//! and replaces user names and SIP URIs with pseudonyms unless identity is shown. A body is cut at
//! [`MAX_BODY`] and the file stops at [`MAX_FILE`] with a last line saying so. Writing never
//! fails a request: the first write error is reported once on stderr and the transcript stops.

use std::fs::File;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};
use url::Url;

use crate::redact::{Secrets, REDACTED};

/// The longest body a line quotes; a longer one is cut and marked `truncated`.
const MAX_BODY: usize = 16 * 1024;
/// The largest transcript file; past it, one last line says the transcript stopped.
const MAX_FILE: u64 = 64 * 1024 * 1024;
/// Room kept under [`MAX_FILE`] for the line that says the transcript stopped.
const STOP_LINE_ROOM: u64 = 256;

/// Header names whose whole value is a credential.
const SECRET_HEADERS: [&str; 4] = ["cookie", "set-cookie", "x-ms-webticket", "x-ms-ucwa-token"];
/// Header names whose value is `Scheme credentials` (the scheme is kept).
const CREDENTIAL_HEADERS: [&str; 2] = ["authorization", "proxy-authorization"];
/// Header names whose challenges may carry a handshake blob (`NTLM TlRM…`).
const CHALLENGE_HEADERS: [&str; 2] = ["www-authenticate", "proxy-authenticate"];
/// Body fields (JSON keys or form names, any case) whose value is a secret.
const SECRET_FIELDS: [&str; 7] = [
    "password",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "token",
    "assertion",
];

/// One transcript file, shared by every client that writes to it.
pub(crate) struct Transcript {
    path: String,
    state: Mutex<FileState>,
    cap: u64,
}

struct FileState {
    file: Option<File>,
    written: u64,
}

impl std::fmt::Debug for Transcript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcript")
            .field("path", &self.path)
            .finish()
    }
}

impl Transcript {
    /// Opens (creates, or appends to) the transcript at `path`; the error says why it cannot.
    pub(crate) fn open(path: &str) -> Result<Arc<Transcript>, String> {
        Self::open_capped(path, MAX_FILE)
    }

    fn open_capped(path: &str, cap: u64) -> Result<Arc<Transcript>, String> {
        let p = std::path::Path::new(path);
        if p.is_dir() {
            return Err("is a directory; name a file".into());
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .map_err(|e| format!("cannot open it for writing: {e}"))?;
        let written = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(Arc::new(Transcript {
            path: path.to_string(),
            state: Mutex::new(FileState {
                file: Some(file),
                written,
            }),
            cap,
        }))
    }

    /// The transcript `UCWA_TRANSCRIPT` names, opened once per process; a path that cannot be
    /// opened is reported once on stderr (there is no call to return it from).
    pub(crate) fn from_env() -> Option<Arc<Transcript>> {
        static ENV: OnceLock<Option<Arc<Transcript>>> = OnceLock::new();
        ENV.get_or_init(|| {
            let path = std::env::var("UCWA_TRANSCRIPT").ok()?;
            if path.trim().is_empty() {
                return None;
            }
            Transcript::open(&path)
                .map_err(|why| eprintln!("ucwa: UCWA_TRANSCRIPT={path}: {why}; no transcript"))
                .ok()
        })
        .clone()
    }

    /// Appends one line (one write, so lines of clients sharing the file never interleave);
    /// at the cap, writes the line saying the transcript stopped and closes the file.
    fn write_line(&self, mut line: String) {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let st = &mut *guard;
        let Some(file) = st.file.as_mut() else {
            return;
        };
        line.push('\n');
        let room = self.cap.saturating_sub(STOP_LINE_ROOM);
        let stop = st.written + line.len() as u64 > room;
        if stop {
            line = json!({
                "time": now_utc(),
                "transcript_stopped": format!("the transcript reached its size cap of {} bytes", self.cap),
            })
            .to_string()
                + "\n";
        }
        match file.write_all(line.as_bytes()) {
            Ok(()) => st.written += line.len() as u64,
            Err(e) => {
                eprintln!(
                    "ucwa: transcript {}: write failed ({e}); the transcript stops",
                    self.path
                );
                st.file = None;
            }
        }
        if stop {
            st.file = None;
        }
    }
}

/// A client's transcript: the file it writes to (lines carry the client's log id, the one
/// its log records carry, so both can be read side by side).
#[derive(Clone, Debug)]
pub(crate) struct Sink {
    pub file: Arc<Transcript>,
}

/// One request as the transport sent it.
pub(crate) struct Sent<'a> {
    /// What the exchange was for (the step of the call).
    pub purpose: String,
    pub method: &'a str,
    pub url: &'a Url,
    pub accept: &'a str,
    pub user_agent: &'a str,
    pub content_type: Option<&'a str>,
    /// The whole header value; only its scheme is ever copied.
    pub authorization: Option<&'a str>,
    pub body: &'a [u8],
}

/// The answer's status, headers and body, or why none came.
pub(crate) type Answer<'a> = Result<(u16, &'a reqwest::header::HeaderMap, &'a [u8]), String>;

impl Sink {
    /// Records one exchange; never fails, never holds a request longer than one write.
    pub(crate) fn record(
        &self,
        secrets: &Secrets,
        sent: &Sent<'_>,
        answer: Answer<'_>,
        took: Duration,
    ) {
        self.file
            .write_line(line(secrets.log_id(), secrets, sent, answer, took));
    }
}

/// The one redaction of text that enters a transcript line, the same as a log record's:
/// secrets and credential-shaped text out, identity pseudonymized unless shown.
fn clean(secrets: &Secrets, text: &str) -> String {
    secrets.redact(text)
}

/// The line of one exchange, every field through [`clean`].
fn line(
    client: u64,
    secrets: &Secrets,
    sent: &Sent<'_>,
    answer: Answer<'_>,
    took: Duration,
) -> String {
    let mut url = sent.url.clone();
    url.set_query(None);
    url.set_fragment(None);
    let _ = url.set_password(None);
    let _ = url.set_username("");
    let mut request_headers = vec![
        ("Accept", sent.accept.to_string()),
        ("User-Agent", sent.user_agent.to_string()),
    ];
    if let Some(ct) = sent.content_type {
        request_headers.push(("Content-Type", ct.to_string()));
    }
    if let Some(a) = sent.authorization {
        // Only the scheme is copied: the credentials never leave their wiped memory.
        let scheme = a.split_once(' ').map_or("", |(s, _)| s);
        request_headers.push(("Authorization", format!("{scheme} {REDACTED}")));
    }
    let mut line = json!({
        "time": now_utc(),
        "client": client,
        "for": sent.purpose,
        "method": sent.method,
        "url": clean(secrets, url.as_str()),
        "duration_ms": took.as_millis() as u64,
        "request": {
            "headers": headers(secrets, request_headers.into_iter()),
            "body": body(secrets, sent.body),
        },
    });
    match answer {
        Ok((status, h, b)) => {
            line["status"] = json!(status);
            let pairs = h.iter().map(|(k, v)| {
                (
                    k.as_str(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            });
            line["response"] =
                json!({ "headers": headers(secrets, pairs), "body": body(secrets, b) });
        }
        Err(e) => line["error"] = json!(clean(secrets, &e)),
    }
    line.to_string()
}

/// Headers as an object of arrays (a name may repeat), credentials removed.
fn headers<'a>(secrets: &Secrets, pairs: impl Iterator<Item = (&'a str, String)>) -> Value {
    let mut out = Map::new();
    for (name, value) in pairs {
        let lower = name.to_ascii_lowercase();
        let shown = if SECRET_HEADERS.contains(&lower.as_str()) {
            REDACTED.to_string()
        } else if CREDENTIAL_HEADERS.contains(&lower.as_str()) {
            match value.split_once(' ') {
                Some((scheme, _)) => format!("{scheme} {REDACTED}"),
                None => REDACTED.to_string(),
            }
        } else if CHALLENGE_HEADERS.contains(&lower.as_str()) {
            challenge_without_blobs(&value)
        } else {
            value
        };
        let entry = out.entry(lower).or_insert_with(|| json!([]));
        if let Value::Array(a) = entry {
            a.push(json!(clean(secrets, &shown)));
        }
    }
    Value::Object(out)
}

/// A challenge line with any NTLM/Negotiate/Kerberos blob replaced (`NTLM TlRM…` → `NTLM
/// [redacted]`); parameters of the other schemes (`MsRtcOAuth href=…`) stay readable.
fn challenge_without_blobs(value: &str) -> String {
    value
        .split(',')
        .map(|part| {
            let t = part.trim_start();
            let lead = &part[..part.len() - t.len()];
            match t.split_once(' ') {
                Some((scheme, rest))
                    if ["ntlm", "negotiate", "kerberos"]
                        .contains(&scheme.to_ascii_lowercase().as_str())
                        && !rest.trim().is_empty() =>
                {
                    format!("{lead}{scheme} {REDACTED}")
                }
                _ => part.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A body as text with secret fields removed, cut at [`MAX_BODY`]; binary (gzip) as its size.
fn body(secrets: &Secrets, bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return json!({ "binary_bytes": bytes.len() });
    };
    let text = match serde_json::from_str::<Value>(text) {
        Ok(mut v) => {
            redact_fields(&mut v);
            v.to_string()
        }
        Err(_) if looks_like_form(text) => redact_form(text),
        Err(_) => text.to_string(),
    };
    let text = clean(secrets, &text);
    if text.len() <= MAX_BODY {
        return json!({ "bytes": bytes.len(), "text": text });
    }
    let mut cut = MAX_BODY;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    json!({ "bytes": bytes.len(), "text": &text[..cut], "truncated": true })
}

fn is_secret_field(name: &str) -> bool {
    SECRET_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(name))
}

fn redact_fields(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, val) in m.iter_mut() {
                if is_secret_field(k) && !val.is_null() {
                    *val = json!(REDACTED);
                } else {
                    redact_fields(val);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(redact_fields),
        _ => {}
    }
}

fn looks_like_form(text: &str) -> bool {
    text.contains('=') && !text.contains(char::is_whitespace)
}

fn redact_form(text: &str) -> String {
    text.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_secret_field(k) => format!("{k}={REDACTED}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The current UTC time as RFC 3339 with milliseconds, written as the log writes its times.
fn now_utc() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    crate::log::timestamp(u64::try_from(ms).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(secrets: &Secrets, resp: &reqwest::header::HeaderMap, body: &[u8]) -> String {
        let url = Url::parse("https://u:pw@pool.example/oauth/token?key=sip%3Aalice").unwrap();
        let sent = Sent {
            purpose: "token".into(),
            method: "POST",
            url: &url,
            accept: "application/json",
            user_agent: "ucwa",
            content_type: Some("application/x-www-form-urlencoded"),
            authorization: Some("NTLM TlRMTVNTUAADAAAA"),
            body: b"grant_type=password&username=alice&password=s%21cret",
        };
        line(
            7,
            secrets,
            &sent,
            Ok((200, resp, body)),
            Duration::from_millis(5),
        )
    }

    #[test]
    fn a_line_holds_no_credential_by_name_or_by_echo() {
        let secrets = Secrets::default();
        secrets.sync([("s!cret", None)]);
        let mut h = reqwest::header::HeaderMap::new();
        h.append("www-authenticate", "Negotiate oYGfMIGc".parse().unwrap());
        h.append(
            "www-authenticate",
            "MsRtcOAuth href=\"https://p/t\",grant_type=\"password\""
                .parse()
                .unwrap(),
        );
        h.append("set-cookie", "sess=xyz".parse().unwrap());
        h.append(
            "x-ms-diagnostics",
            "1000;reason=\"you sent s!cret\"".parse().unwrap(),
        );
        let line = sample(
            &secrets,
            &h,
            br#"{"access_token":"cwt=AAEB","expires_in":60}"#,
        );
        for leak in [
            "s!cret", "s%21cret", "TlRM", "oYGf", "xyz", "cwt=AAEB", "a=b", "key=", ":pw@",
        ] {
            assert!(!line.contains(leak), "{leak} in {line}");
        }
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["url"], "https://pool.example/oauth/token");
        assert_eq!(v["client"], 7);
        assert_eq!(v["status"], 200);
        assert!(line.contains("MsRtcOAuth href"), "{line}");
        assert!(line.contains("expires_in"), "{line}");
        assert!(v["time"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn a_long_body_is_cut_and_marked() {
        let big = vec![b'a'; MAX_BODY * 2];
        let v = body(&Secrets::default(), &big);
        assert_eq!(v["truncated"], true);
        assert_eq!(v["text"].as_str().unwrap().len(), MAX_BODY);
        assert_eq!(v["bytes"], MAX_BODY * 2);
    }

    #[test]
    fn the_file_stops_at_its_cap_with_a_line_saying_so() {
        let path = std::env::temp_dir().join(format!("ucwa-transcript-cap-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let t = Transcript::open_capped(path.to_str().unwrap(), 4096).unwrap();
        for _ in 0..100 {
            t.write_line("x".repeat(100));
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.len() <= 4096, "{}", text.len());
        assert!(text.lines().last().unwrap().contains("transcript_stopped"));
        assert_eq!(text.matches("transcript_stopped").count(), 1);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_path_that_cannot_be_written_is_refused() {
        assert!(Transcript::open("/nonexistent-dir/x/t.jsonl").is_err());
        assert!(Transcript::open(&std::env::temp_dir().to_string_lossy()).is_err());
    }
}
