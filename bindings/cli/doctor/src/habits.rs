//! Probes of server habits a short run can still see, each a few bounded requests: which forms
//! of the user's name the token endpoint accepts (one password grant per form), the NetBIOS
//! domain the Windows grant's NTLM challenge names (one unauthenticated token request, never a
//! credential), and how long the server holds a P-GET that names no `timeout` (on an
//! application of the doctor's own, deleted afterwards, so the library's channel is untouched).

use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;
use url::Url;

use crate::advice::chain;
use crate::probe::{self, Http};

/// The forms of one account's name a token endpoint may accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `user@domain`.
    Upn,
    /// `sip:user@domain`.
    Sip,
    /// `DOMAIN\user`.
    Down,
}

/// The forms of `user`'s name this run can build: the UPN and SIP forms when the name holds
/// `@`, `DOMAIN\user` when a NetBIOS domain is known (given in the name itself, or `domain`).
pub fn forms(user: &str, domain: Option<&str>) -> Vec<(Form, String)> {
    let user = user.trim();
    let bare = match user.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("sip:") => &user[4..],
        _ => user,
    };
    let mut out = Vec::new();
    if let Some((dom, local)) = bare.split_once('\\') {
        out.push((Form::Down, format!("{dom}\\{local}")));
        return out;
    }
    if let Some((local, _)) = bare.split_once('@') {
        out.push((Form::Upn, bare.to_string()));
        out.push((Form::Sip, format!("sip:{bare}")));
        if let Some(d) = domain.filter(|d| !d.is_empty()) {
            out.push((Form::Down, format!("{d}\\{local}")));
        }
    }
    out
}

/// The NetBIOS domain of a `DOMAIN\user` name.
pub fn netbios_of(name: &str) -> Option<&str> {
    name.split_once('\\')
        .map(|(d, _)| d)
        .filter(|d| !d.is_empty())
}

/// The target name of the NTLM challenge the token endpoint answers to a Windows-grant request
/// carrying only an NTLM NEGOTIATE_MESSAGE (no user, no password): the pool's NetBIOS domain.
pub async fn ntlm_domain(
    http: &reqwest::Client,
    token: &Url,
    scheme: &str,
) -> Result<String, String> {
    // NEGOTIATE_MESSAGE: UNICODE, REQUEST_TARGET, NTLM, ALWAYS_SIGN, EXTENDED_SESSIONSECURITY,
    // 128, 56; no domain or workstation.
    let flags: u32 = 0x1 | 0x4 | 0x200 | 0x8000 | 0x8_0000 | 0x2000_0000 | 0x8000_0000;
    let mut msg = b"NTLMSSP\0".to_vec();
    msg.extend(1u32.to_le_bytes());
    msg.extend(flags.to_le_bytes());
    msg.extend([0u8; 16]);
    let b64 = base64::engine::general_purpose::STANDARD;
    let a = probe::send(
        http.post(token.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(AUTHORIZATION, format!("{scheme} {}", b64.encode(&msg)))
            .body("grant_type=urn%3Amicrosoft.rtc%3Awindows"),
    )
    .await?;
    let blob = a
        .all("www-authenticate")
        .iter()
        .filter_map(|l| l.split_once(' ').map(|(_, t)| t.trim().to_string()))
        .find_map(|t| b64.decode(t).ok())
        .ok_or_else(|| format!("no NTLM challenge (status {})", a.status))?;
    target_name(&blob).ok_or_else(|| "the NTLM challenge names no target".to_string())
}

/// The target name of a CHALLENGE_MESSAGE, found by its signature (raw or inside SPNEGO).
fn target_name(blob: &[u8]) -> Option<String> {
    let at = blob.windows(8).position(|w| w == b"NTLMSSP\0")?;
    let m = &blob[at..];
    let u32_at = |i: usize| Some(u32::from_le_bytes(m.get(i..i + 4)?.try_into().ok()?));
    if u32_at(8)? != 2 {
        return None;
    }
    let len = u16::from_le_bytes(m.get(12..14)?.try_into().ok()?) as usize;
    let off = u32_at(16)? as usize;
    let raw = m.get(off..off.checked_add(len)?)?;
    let name = if u32_at(20)? & 1 == 1 {
        let units: Vec<u16> = raw
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).ok()?
    } else {
        String::from_utf8_lossy(raw).into_owned()
    };
    (!name.is_empty()).then_some(name)
}

/// What the P-GET without `timeout` showed.
#[derive(Debug, Clone)]
pub enum Hold {
    /// Answered without events after this many whole seconds (rounded down); the empty
    /// answer's shape.
    Answered(u64, &'static str),
    /// Still held when the wait ended (its bound, in seconds).
    Longer(u64),
    /// The probe could not run to its end.
    Failed(String),
}

/// The shape of an event answer without events, or `None` when it carries events.
pub fn empty_shape(v: &Value) -> Option<&'static str> {
    match v.get("sender") {
        None => Some("sender-absent"),
        Some(Value::Array(a)) if a.is_empty() => Some("sender-empty"),
        Some(Value::Array(a)) => a
            .iter()
            .all(|s| s["events"].as_array().is_none_or(Vec::is_empty))
            .then_some("sender-empty"),
        _ => None,
    }
}

/// The hold probe, run on a thread of its own (the library's channel runs meanwhile): its own
/// HTTP client and runtime, so nothing it holds is driven by the walk's runtime.
pub struct HoldProbe {
    pub ca_pem: Option<Vec<u8>>,
    pub timeout: Duration,
    pub apps: Url,
    pub token: String,
    pub max_wait: Duration,
}

impl HoldProbe {
    /// The hold seen, and the status of the probe application's DELETE.
    pub fn run(self) -> (Hold, Option<u16>) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        let (rt, http) = match (rt, Http::new(self.ca_pem.as_deref(), self.timeout)) {
            (Ok(rt), Ok(h)) => (rt, h.trusted),
            (Err(e), _) => return (Hold::Failed(e.to_string()), None),
            (_, Err(e)) => return (Hold::Failed(e), None),
        };
        rt.block_on(self.probe(&http))
    }

    async fn probe(&self, http: &reqwest::Client) -> (Hold, Option<u16>) {
        let body = serde_json::json!({
            "userAgent": "ucwa-doctor-hold-probe",
            "endpointId": uuid::Uuid::new_v4().to_string(),
            "culture": "en-US",
        })
        .to_string();
        let created = probe::with_token(
            http,
            reqwest::Method::POST,
            &self.apps,
            &self.token,
            Some(&body),
        )
        .await;
        let app = match created {
            Ok(a) if (200..300).contains(&a.status) => a.json().unwrap_or(Value::Null),
            Ok(a) => return (Hold::Failed(format!("creating it got {}", a.status)), None),
            Err(e) => return (Hold::Failed(e), None),
        };
        let link =
            |v: &Value, rel: &str, base: &Url| base.join(v["_links"][rel]["href"].as_str()?).ok();
        let (Some(own), Some(events)) = (
            link(&app, "self", &self.apps),
            link(&app, "events", &self.apps),
        ) else {
            return (Hold::Failed("no self or events link".into()), None);
        };
        let hold = self.pgets(http, events).await;
        let deleted = probe::with_token(http, reqwest::Method::DELETE, &own, &self.token, None)
            .await
            .ok()
            .map(|a| a.status);
        (hold, deleted)
    }

    /// P-GETs (without `timeout`, following `next` past answers with events) until one comes
    /// back empty or the wait ends; at most four, all within `max_wait`.
    async fn pgets(&self, http: &reqwest::Client, mut url: Url) -> Hold {
        let deadline = Instant::now() + self.max_wait;
        for _ in 0..4 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let started = Instant::now();
            let sent = http
                .get(url.clone())
                .header(ACCEPT, "application/json")
                .header(AUTHORIZATION, format!("Bearer {}", self.token))
                .timeout(left)
                .send()
                .await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) if e.is_timeout() => break,
                Err(e) => return Hold::Failed(chain(&e)),
            };
            let status = resp.status().as_u16();
            let held = started.elapsed();
            let body = match resp.bytes().await {
                Ok(b) => b,
                Err(e) if e.is_timeout() => break,
                Err(e) => return Hold::Failed(chain(&e)),
            };
            let v: Value = match (status, serde_json::from_slice(&body)) {
                (200, Ok(v)) => v,
                _ => return Hold::Failed(format!("a P-GET got {status}")),
            };
            if let Some(shape) = empty_shape(&v) {
                if v["_links"].get("resync").is_none() {
                    // Rounded down: the time measured is the server's hold plus the network's.
                    return Hold::Answered(held.as_secs(), shape);
                }
            }
            let next = v["_links"]["next"]["href"]
                .as_str()
                .or(v["_links"]["resync"]["href"].as_str());
            match next.and_then(|h| url.join(h).ok()) {
                Some(n) => url = n,
                None => return Hold::Failed("an event answer without next".into()),
            }
        }
        Hold::Longer(self.max_wait.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_of_a_name_are_built_from_what_is_known() {
        let f = forms("sip:alice@contoso.com", Some("CONTOSO"));
        let names: Vec<&str> = f.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "alice@contoso.com",
                "sip:alice@contoso.com",
                "CONTOSO\\alice"
            ]
        );
        assert_eq!(forms("alice@contoso.com", None).len(), 2);
        assert_eq!(
            forms("FABRIKAM\\bob", Some("X")),
            [(Form::Down, "FABRIKAM\\bob".to_string())]
        );
        assert_eq!(netbios_of("FABRIKAM\\bob"), Some("FABRIKAM"));
    }

    #[test]
    fn a_challenge_message_target_name_is_read_and_a_short_one_refused() {
        let name: Vec<u8> = "FABRIKAM"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let mut m = b"NTLMSSP\0".to_vec();
        m.extend(2u32.to_le_bytes());
        m.extend((name.len() as u16).to_le_bytes());
        m.extend((name.len() as u16).to_le_bytes());
        m.extend(32u32.to_le_bytes());
        m.extend(1u32.to_le_bytes());
        m.extend([0u8; 8]);
        m.extend(&name);
        assert_eq!(target_name(&m).as_deref(), Some("FABRIKAM"));
        assert_eq!(target_name(&m[..20]), None);
    }
}
