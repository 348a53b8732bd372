//! What the command prints: availability names in and out, durations, events as JSON lines,
//! colour (only on a terminal and without NO_COLOR), and the progress line for sign-in steps
//! (only when stderr is a terminal).

use std::io::{IsTerminal, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use ucwa::{Availability, ConnectionState, Event, Presence};

/// A settable availability from its name, case-insensitive, with the usual short forms.
pub fn parse_availability(name: &str) -> Result<Availability, String> {
    let n = name
        .trim()
        .to_ascii_lowercase()
        .replace(['-', '_', ' '], "");
    Ok(match n.as_str() {
        "online" | "available" => Availability::Online,
        "busy" => Availability::Busy,
        "donotdisturb" | "dnd" => Availability::DoNotDisturb,
        "berightback" | "brb" => Availability::BeRightBack,
        "away" => Availability::Away,
        "offwork" => Availability::OffWork,
        _ => {
            return Err(format!(
                "unknown availability {name:?}: expected Online, Busy, DoNotDisturb, BeRightBack, Away or OffWork"
            ))
        }
    })
}

/// The name printed for an availability (the API's variant name).
pub fn availability_name(a: Availability) -> &'static str {
    match a {
        Availability::Unspecified => "Unspecified",
        Availability::Online => "Online",
        Availability::Busy => "Busy",
        Availability::DoNotDisturb => "DoNotDisturb",
        Availability::BeRightBack => "BeRightBack",
        Availability::Away => "Away",
        Availability::OffWork => "OffWork",
        Availability::IdleOnline => "IdleOnline",
        Availability::IdleBusy => "IdleBusy",
        Availability::Offline => "Offline",
        Availability::Unknown => "Unknown",
    }
}

pub fn state_name(s: ConnectionState) -> &'static str {
    match s {
        ConnectionState::Connected => "connected",
        ConnectionState::Recovering => "recovering",
        ConnectionState::Recovered => "recovered",
        ConnectionState::Lost => "lost",
    }
}

/// Longest duration accepted (`--for`): a week.
const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// `90s`, `30m`, `2h`, `1d` or plain seconds; more than zero, at most a week.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&t[..i], &t[i..]),
        None => (t, "s"),
    };
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => {
            return Err(format!(
                "bad duration {text:?}: expected e.g. 90s, 30m, 2h, 1d"
            ))
        }
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("bad duration {text:?}: expected e.g. 90s, 30m, 2h, 1d"))?;
    let d = Duration::from_secs(n.saturating_mul(mult));
    if d.is_zero() || d > MAX_DURATION {
        return Err(format!("bad duration {text:?}: more than 0 and at most 7d"));
    }
    Ok(d)
}

fn now_ts() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| (d.as_millis() as f64) / 1000.0)
}

fn presence_fields(p: &Presence) -> (Value, Value) {
    (json!(availability_name(p.availability)), json!(p.activity))
}

/// One event as the JSON object `ucwa watch --json` prints (fields documented in its help);
/// `None` for kinds the stream does not carry (token renewal is the library's business).
pub fn event_json(account: Option<&str>, event: &Event) -> Option<Value> {
    let mut v = match event {
        Event::PresenceChanged(p) => {
            let (a, act) = presence_fields(p);
            json!({"event": "presence", "availability": a, "activity": act})
        }
        Event::NoteChanged(n) => json!({"event": "note", "note": n}),
        Event::LocationChanged(l) => json!({"event": "location", "location": l}),
        Event::ConnectionStateChanged { state, reason } => json!({
            "event": "connection", "state": state_name(*state),
            "reason": reason.as_ref().map(|e| e.to_string())
        }),
        Event::ApplicationRecreated => json!({"event": "application_recreated"}),
        Event::SignedOut { reason } => json!({
            "event": "signed_out", "reason": reason.as_ref().map(|e| e.to_string())
        }),
        Event::ContactPresenceChanged { contact, presence } => {
            let (a, act) = presence_fields(presence);
            json!({"event": "contact_presence", "contact": contact, "availability": a, "activity": act})
        }
        Event::ContactNoteChanged { contact, note } => {
            json!({"event": "contact_note", "contact": contact, "note": note})
        }
        Event::ContactLocationChanged { contact, location } => {
            json!({"event": "contact_location", "contact": contact, "location": location})
        }
        other => crate::sources::event_json(other)?,
    };
    stamp(&mut v, account);
    Some(v)
}

/// Adds `ts` (and `account`, when the stream carries several) to an event object.
pub fn stamp(v: &mut Value, account: Option<&str>) {
    if let Some(o) = v.as_object_mut() {
        o.insert("ts".into(), json!(now_ts()));
        if let Some(a) = account {
            o.insert("account".into(), json!(a));
        }
    }
}

/// One event as a line for a person.
pub fn event_text(v: &Value) -> String {
    let o = v.as_object();
    let get = |k: &str| {
        o.and_then(|o| o.get(k))
            .filter(|v| !v.is_null())
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
    };
    let mut parts = vec![get("event").unwrap_or_default()];
    for k in [
        "contact",
        "availability",
        "activity",
        "state",
        "note",
        "location",
        "source",
        "reason",
    ] {
        if let Some(x) = get(k) {
            parts.push(format!("{k}={x}"));
        }
    }
    parts.join(" ")
}

/// Whether stdout may carry colour: a terminal, and NO_COLOR unset (any value disables).
pub fn colour_on() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// `text` in green, yellow or red by what a connection state means, when colour is on.
pub fn paint_state(text: &str) -> String {
    if !colour_on() {
        return text.to_string();
    }
    let code = match text {
        "connected" | "recovered" => "32",
        "signing-in" | "recovering" => "33",
        _ => "31",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// A progress line on stderr for sign-in steps, overwritten by the next one; nothing at all
/// when stderr is not a terminal (scripts and services keep clean logs).
pub struct Progress {
    on: bool,
}

impl Progress {
    pub fn new() -> Progress {
        Progress {
            on: std::io::stderr().is_terminal(),
        }
    }

    pub fn step(&self, what: &str) {
        if self.on {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\r\x1b[2Kucwa: {what}…");
            let _ = e.flush();
        }
    }

    pub fn done(&self) {
        if self.on {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_names_parse_with_short_forms_and_reject_the_rest() {
        assert_eq!(parse_availability("dnd"), Ok(Availability::DoNotDisturb));
        assert_eq!(
            parse_availability("Be-Right-Back"),
            Ok(Availability::BeRightBack)
        );
        assert_eq!(parse_availability("OFFWORK"), Ok(Availability::OffWork));
        assert!(parse_availability("IdleOnline").is_err());
        assert!(parse_availability("").is_err());
    }

    #[test]
    fn durations_parse_in_units_and_are_bounded() {
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        for bad in ["0", "8d", "2x", "h", "-1s", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
