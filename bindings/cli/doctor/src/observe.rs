//! What the library's transcript of the run shows: the grants it got, the user resource (and a
//! pool change), the application resource's shape, the event answers, the DELETE. The
//! transcript is the same redacted file a user sends with a bug report.

use serde_json::Value;
use url::Url;

/// The transcript's lines.
pub struct Trace {
    lines: Vec<Value>,
}

fn body(v: &Value, side: &str) -> Option<Value> {
    serde_json::from_str(v[side]["body"]["text"].as_str()?).ok()
}

fn url(v: &Value) -> Option<Url> {
    Url::parse(v["url"].as_str()?).ok()
}

impl Trace {
    pub fn read(path: &std::path::Path) -> Trace {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        Trace {
            lines: text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect(),
        }
    }

    fn answered<'a>(&'a self, purpose: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.lines
            .iter()
            .filter(move |l| l["for"] == purpose && l["status"].is_u64())
    }

    /// Each granted token: its endpoint, `expires_in` and `ms_rtc_identityscope`.
    pub fn grants(&self) -> Vec<(Url, u64, Option<String>)> {
        self.answered("token")
            .filter(|l| l["status"] == 200)
            .filter_map(|l| {
                let b = body(l, "response")?;
                let scope = b["ms_rtc_identityscope"].as_str().map(str::to_string);
                Some((url(l)?, b["expires_in"].as_u64()?, scope))
            })
            .collect()
    }

    /// The user resources read with a token: (URL, its `applications` href or `redirect`).
    pub fn user_answers(&self) -> Vec<(Url, Value)> {
        self.answered("user")
            .filter(|l| l["status"] == 200)
            .filter_map(|l| Some((url(l)?, body(l, "response")?)))
            .collect()
    }

    /// The application's creation: URL, status, request body (endpointId, userAgent,
    /// culture) and the resource.
    pub fn application_post(&self) -> Option<(Url, u16, String, Value)> {
        self.answered("application")
            .find(|l| l["method"] == "POST" && l["status"].as_u64().is_some_and(|s| s < 300))
            .and_then(|l| {
                Some((
                    url(l)?,
                    l["status"].as_u64()? as u16,
                    l["request"]["body"]["text"].as_str()?.to_string(),
                    body(l, "response")?,
                ))
            })
    }

    /// The status of the application's DELETE (sign-out).
    pub fn delete_status(&self) -> Option<u16> {
        self.lines
            .iter()
            .rev()
            .find(|l| l["method"] == "DELETE")
            .and_then(|l| l["status"].as_u64())
            .map(|s| s as u16)
    }

    /// Each answered P-GET: status and how long the server held it (ms).
    pub fn pgets(&self) -> Vec<(u16, u64)> {
        self.answered("event channel")
            .filter(|l| l["method"] == "GET")
            .map(|l| {
                (
                    l["status"].as_u64().unwrap_or(0) as u16,
                    l["duration_ms"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    }

    /// Whether any answer carried `X-MS-UcwaVersion`.
    pub fn version_header(&self) -> bool {
        self.lines
            .iter()
            .any(|l| l["response"]["headers"].get("x-ms-ucwaversion").is_some())
    }

    /// The event answers' bodies.
    fn event_bodies(&self) -> Vec<Value> {
        self.answered("event channel")
            .filter(|l| l["status"] == 200)
            .filter_map(|l| body(l, "response"))
            .collect()
    }

    /// The shape of an event answer without events, when one came.
    pub fn empty_events(&self) -> Option<&'static str> {
        self.event_bodies()
            .iter()
            .find_map(|b| match b.get("sender") {
                None => Some("sender-absent"),
                Some(Value::Array(a)) if a.is_empty() => Some("sender-empty"),
                _ => None,
            })
    }

    /// Whether the self presence/note/location events embed their resource, when one came.
    pub fn embed_self_events(&self) -> Option<bool> {
        let bodies = self.event_bodies();
        let events = bodies
            .iter()
            .filter_map(|b| b["sender"].as_array())
            .flatten()
            .filter(|s| s["rel"] == "me")
            .filter_map(|s| s["events"].as_array())
            .flatten()
            .filter(|e| {
                matches!(
                    e["link"]["rel"].as_str(),
                    Some("presence" | "note" | "location")
                )
            });
        let mut seen = None;
        for e in events {
            let embedded = e.get("_embedded").is_some();
            seen = Some(seen.unwrap_or(false) || embedded);
        }
        seen
    }
}

/// Whether the hrefs inside a UCWA resource are absolute (`None`: it holds none).
pub fn absolute_hrefs(resource: &Value) -> Option<bool> {
    let mut hrefs = Vec::new();
    collect_hrefs(resource, &mut hrefs);
    if hrefs.is_empty() {
        return None;
    }
    Some(
        hrefs
            .iter()
            .all(|h| h.starts_with("http://") || h.starts_with("https://")),
    )
}

fn collect_hrefs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                match (k.as_str(), val) {
                    ("href", Value::String(s)) => out.push(s.clone()),
                    _ => collect_hrefs(val, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_hrefs(x, out)),
        _ => {}
    }
}

/// Whether `startMessaging` carries a `revision` (`None`: no such link in the resource).
pub fn link_revisions(resource: &Value) -> Option<bool> {
    fn find(v: &Value) -> Option<&Value> {
        match v {
            Value::Object(m) => m
                .get("startMessaging")
                .or_else(|| m.values().find_map(find)),
            Value::Array(a) => a.iter().find_map(find),
            _ => None,
        }
    }
    find(resource).map(|l| l.get("revision").is_some())
}
