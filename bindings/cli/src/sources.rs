//! Presence sources (`ucwa source set|clear`, the configuration's `[account.sources.NAME]`)
//! through the library's composition (`Client::set_source_presence` and friends), and the
//! effective presence with its deciding source as `status` and `watch` show it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use ucwa::{Availability, Client, Decider, EffectivePresence, PresenceCause};

use crate::config::SourceConfig;
use crate::ops::Request;
use crate::output::{availability_name, parse_availability};

/// Runs `source.set` / `source.clear` on a client.
pub fn apply(client: &Client, req: &Request) -> Result<Value, String> {
    match req {
        Request::SourceSet {
            name,
            availability,
            note,
            expires_s,
            ..
        } => {
            let a = parse_availability(availability)?;
            let expires = expires_s.map(Duration::from_secs);
            client
                .set_source_presence(name, a, note.as_deref(), expires)
                .map_err(|e| e.to_string())?;
        }
        Request::SourceClear { name, .. } => {
            client
                .clear_source_presence(name)
                .map_err(|e| e.to_string())?;
        }
        _ => return Err("not a source request".into()),
    }
    Ok(effective_json(&client.effective_presence()))
}

/// The sources an account of the service keeps, so a new sign-in (a new client) sets them
/// again for the time each has left.
#[derive(Debug, Clone, Default)]
pub struct Kept(BTreeMap<String, KeptSource>);

#[derive(Debug, Clone)]
struct KeptSource {
    availability: Availability,
    note: Option<String>,
    deadline: Option<Instant>,
}

impl Kept {
    pub fn from_config(sources: &[SourceConfig]) -> Kept {
        let now = Instant::now();
        Kept(
            sources
                .iter()
                .map(|s| {
                    let k = KeptSource {
                        availability: s.availability,
                        note: s.note.clone(),
                        deadline: s.expires.map(|d| now + d),
                    };
                    (s.name.clone(), k)
                })
                .collect(),
        )
    }

    /// Takes a request that went through: `source.set` is kept, `source.clear` forgotten.
    pub fn remember(&mut self, req: &Request) {
        match req {
            Request::SourceSet {
                name,
                availability,
                note,
                expires_s,
                ..
            } => {
                if let Ok(a) = parse_availability(availability) {
                    let deadline = expires_s.map(|s| Instant::now() + Duration::from_secs(s));
                    let note = note.clone();
                    self.0.insert(
                        name.clone(),
                        KeptSource {
                            availability: a,
                            note,
                            deadline,
                        },
                    );
                }
            }
            Request::SourceClear { name, .. } => {
                self.0.remove(name);
            }
            _ => {}
        }
    }

    /// Sets every source still live on a freshly signed-in, available client.
    pub fn apply(&self, client: &Client) -> Result<(), String> {
        let now = Instant::now();
        for (name, s) in &self.0 {
            let left = match s.deadline {
                Some(d) if d <= now => continue,
                Some(d) => Some((d - now).max(Duration::from_secs(1))),
                None => None,
            };
            client
                .set_source_presence(name, s.availability, s.note.as_deref(), left)
                .map_err(|e| format!("sources.{name}: {e}"))?;
        }
        Ok(())
    }
}

pub fn decider_name(d: Decider) -> &'static str {
    match d {
        Decider::Preferred => "preferred",
        Decider::Source => "source",
        Decider::Nobody => "nobody",
    }
}

fn cause_name(c: PresenceCause) -> &'static str {
    match c {
        PresenceCause::Set => "set",
        PresenceCause::Cleared => "cleared",
        PresenceCause::Expired => "expired",
        PresenceCause::ChangedElsewhere => "changed_elsewhere",
    }
}

/// The effective presence as JSON: availability (null: the server's own state stands), note,
/// the deciding source, `decided_by` (`source NAME`, `preferred`, `nobody`) and live sources.
pub fn effective_json(e: &EffectivePresence) -> Value {
    let decided_by = match (&e.source, e.decider) {
        (Some(s), Decider::Source) => format!("source {s}"),
        (_, d) => decider_name(d).to_string(),
    };
    let sources: Vec<Value> = e
        .sources
        .iter()
        .map(|s| {
            json!({"name": s.name, "availability": availability_name(s.availability),
                   "note": s.note, "expires_in_s": s.expires_in.map(|d| d.as_secs())})
        })
        .collect();
    json!({
        "availability": e.availability.map(availability_name), "note": e.note,
        "source": e.source, "decider": decider_name(e.decider), "decided_by": decided_by,
        "sources": sources,
    })
}

/// Adds the effective presence and its deciding source to an account's status.
pub fn add_effective(status: &mut Map<String, Value>, client: &Client) {
    status.insert(
        "effective".into(),
        effective_json(&client.effective_presence()),
    );
}

/// The `effective_presence` line of `watch` for that event, if it is one.
pub fn event_json(event: &ucwa::Event) -> Option<Value> {
    match event {
        ucwa::Event::EffectivePresenceChanged {
            availability,
            note,
            source,
            decider,
            cause,
        } => Some(json!({
            "event": "effective_presence", "availability": availability.map(availability_name),
            "note": note, "source": source, "decider": decider_name(*decider),
            "cause": cause_name(*cause),
        })),
        _ => None,
    }
}
