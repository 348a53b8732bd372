//! The operations one-shot commands ask for, as the control protocol carries them (one JSON
//! object a line, `op` naming it) and as they run on a signed-in `ucwa::Client`: the same code
//! whether the service runs them or the command does directly.

use serde::{Deserialize, Serialize};
use std::time::Duration;

use serde_json::{json, Value};
use ucwa::Client;

use crate::output::{availability_name, parse_availability};

/// A request on the control socket: `{"op":"presence.set","account":"work","availability":"Busy"}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", deny_unknown_fields)]
pub enum Request {
    #[serde(rename = "presence.get")]
    PresenceGet { account: Option<String> },
    #[serde(rename = "presence.set")]
    PresenceSet {
        account: Option<String>,
        availability: String,
        #[serde(default)]
        expires_s: Option<u64>,
    },
    #[serde(rename = "presence.reset")]
    PresenceReset { account: Option<String> },
    #[serde(rename = "note.get")]
    NoteGet { account: Option<String> },
    #[serde(rename = "note.set")]
    NoteSet {
        account: Option<String>,
        text: String,
        #[serde(default)]
        expires_s: Option<u64>,
    },
    #[serde(rename = "location.get")]
    LocationGet { account: Option<String> },
    #[serde(rename = "location.set")]
    LocationSet {
        account: Option<String>,
        text: String,
    },
    #[serde(rename = "contacts.get")]
    ContactsGet {
        account: Option<String>,
        contacts: Vec<String>,
    },
    #[serde(rename = "source.set")]
    SourceSet {
        account: Option<String>,
        name: String,
        availability: String,
        note: Option<String>,
        expires_s: Option<u64>,
    },
    #[serde(rename = "source.clear")]
    SourceClear {
        account: Option<String>,
        name: String,
    },
    #[serde(rename = "status")]
    Status {},
    /// Streams the service's events (every account, or the one named), one JSON line each.
    #[serde(rename = "watch")]
    Watch { account: Option<String> },
}

impl Request {
    /// The account a request names (`None`: the only one, or any for `status`).
    pub fn account(&self) -> Option<&str> {
        match self {
            Request::PresenceGet { account }
            | Request::PresenceSet { account, .. }
            | Request::PresenceReset { account }
            | Request::NoteGet { account }
            | Request::NoteSet { account, .. }
            | Request::LocationGet { account }
            | Request::LocationSet { account, .. }
            | Request::ContactsGet { account, .. }
            | Request::SourceSet { account, .. }
            | Request::SourceClear { account, .. }
            | Request::Watch { account } => account.as_deref(),
            Request::Status {} => None,
        }
    }

    /// Whether the request changes state (what a direct run warns about).
    pub fn is_change(&self) -> bool {
        matches!(
            self,
            Request::PresenceSet { .. }
                | Request::PresenceReset { .. }
                | Request::NoteSet { .. }
                | Request::LocationSet { .. }
                | Request::SourceSet { .. }
                | Request::SourceClear { .. }
        )
    }

    /// Whether the request needs makeMeAvailable first (everything but contacts).
    pub fn needs_available(&self) -> bool {
        !matches!(
            self,
            Request::ContactsGet { .. } | Request::Status {} | Request::Watch { .. }
        )
    }
}

/// Runs a request on a signed-in (and, where needed, available) client; the answer's JSON.
pub fn apply(client: &Client, req: &Request) -> Result<Value, String> {
    let e = |e: ucwa::Error| e.to_string();
    match req {
        Request::PresenceGet { .. } => {
            let p = client.presence().map_err(e)?;
            Ok(json!({"availability": availability_name(p.availability), "activity": p.activity}))
        }
        Request::PresenceSet {
            availability,
            expires_s,
            ..
        } => {
            let a = parse_availability(availability)?;
            match expires_s {
                Some(s) => client.set_preferred_availability(a, Some(Duration::from_secs(*s))),
                None => client.set_availability(a),
            }
            .map_err(e)?;
            Ok(json!({"availability": availability_name(a)}))
        }
        Request::PresenceReset { .. } => {
            client.reset_availability().map_err(e)?;
            Ok(json!({}))
        }
        Request::NoteGet { .. } => Ok(json!({"note": client.note().map_err(e)?})),
        Request::NoteSet {
            text, expires_s, ..
        } => {
            match expires_s {
                Some(s) => client.set_note_until(text, Some(Duration::from_secs(*s))),
                None => client.set_note(text),
            }
            .map_err(e)?;
            Ok(json!({"note": non_empty(text)}))
        }
        Request::LocationGet { .. } => Ok(json!({"location": client.location().map_err(e)?})),
        Request::LocationSet { text, .. } => {
            client.set_location(text).map_err(e)?;
            Ok(json!({"location": non_empty(text)}))
        }
        Request::ContactsGet { contacts, .. } => contacts_get(client, contacts),
        Request::SourceSet { .. } | Request::SourceClear { .. } => {
            crate::sources::apply(client, req)
        }
        Request::Status {} | Request::Watch { .. } => {
            Err("status and watch are answered by the service only".into())
        }
    }
}

fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

/// Each contact's availability (one batched read), then activity, note and location.
fn contacts_get(client: &Client, contacts: &[String]) -> Result<Value, String> {
    let avail = client
        .contacts_availability(contacts)
        .map_err(|e| e.to_string())?;
    let rows: Vec<Value> = contacts
        .iter()
        .zip(avail)
        .map(|(c, a)| {
            let known = a != ucwa::Availability::Unknown;
            let activity = known
                .then(|| client.contact_presence(c).ok().and_then(|p| p.activity))
                .flatten();
            let note = known
                .then(|| client.contact_note(c).ok().flatten())
                .flatten();
            let location = known
                .then(|| client.contact_location(c).ok().flatten())
                .flatten();
            json!({
                "contact": sip_uri(c), "availability": availability_name(a),
                "activity": activity, "note": note, "location": location,
            })
        })
        .collect();
    Ok(Value::Array(rows))
}

/// `bob@contoso.com` → `sip:bob@contoso.com` (as events name contacts).
pub fn sip_uri(contact: &str) -> String {
    match contact.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("sip:") => format!("sip:{}", &contact[4..]),
        _ => format!("sip:{contact}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_unknown_fields_are_refused() {
        let r: Request =
            serde_json::from_str(r#"{"op":"presence.set","account":"w","availability":"Busy"}"#)
                .unwrap();
        assert_eq!(r.account(), Some("w"));
        assert!(r.is_change());
        let back: Request = serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        assert!(serde_json::from_str::<Request>(r#"{"op":"status","x":1}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"op":"rm -rf"}"#).is_err());
    }
}
