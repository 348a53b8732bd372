//! Shared fixtures for the Rust integration tests: a simulator on an ephemeral loopback port
//! with fast timers, a client configured for it, and readers of what the simulator saw.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use ucwa::{Availability, Client, Event};
use ucwa_sim::{Fault, FaultAction, LogEntry, Sim, SimConfig};

pub const ALICE: &str = "alice@contoso.com";
pub const ALICE_PW: &str = "alice-password";

/// A config with sub-second timers that tests then adjust.
pub fn fast_config() -> SimConfig {
    SimConfig {
        event_hold_s: 0.0,
        event_timeout_s: 1.0,
        event_timeout_min_s: 1.0,
        ..SimConfig::default()
    }
}

pub fn start(config: SimConfig) -> Sim {
    Sim::start(config).expect("ucwa-sim starts")
}

/// A simulator serving HTTPS with fast timers, and the path of its CA certificate (in a
/// directory of its own, named after `name` and this process, for the caller to remove).
pub fn tls_sim(name: &str) -> (Sim, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("ucwa-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    let sim = start(SimConfig {
        tls: true,
        ca_out: Some(ca.clone()),
        ..fast_config()
    });
    (sim, ca)
}

/// A fault on one route, for `count` matching requests (0: until cleared).
pub fn fault(route: &str, count: u32, action: FaultAction) -> Fault {
    Fault {
        route: Some(route.into()),
        path_contains: None,
        method: None,
        count,
        action,
    }
}

/// A fault that answers exactly `status`, `headers` and `body`.
pub fn respond(
    route: &str,
    count: u32,
    status: u16,
    headers: &[(&str, &str)],
    body: &str,
) -> Fault {
    fault(
        route,
        count,
        FaultAction::Respond {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.into(),
        },
    )
}

/// A client for `sim` with short timeouts and keep-alive suited to fast timers.
pub fn client(sim: &Sim) -> Client {
    let c = Client::new(&sim.root_url()).expect("client");
    c.set_option("timeout_ms", "5000").unwrap();
    c.set_option("event_timeout_s", "1").unwrap();
    c
}

pub fn signed_in(sim: &Sim) -> Client {
    let c = client(sim);
    c.sign_in(ALICE, ALICE_PW).expect("sign in");
    c
}

/// Signed in and available, with the background follow-ups of makeMeAvailable done: real
/// servers (and ucwa-sim by default) announce presence, note and location as bare `added`
/// events, and the client GETs each one. Waiting for those GETs keeps them from racing a
/// test's faults and request counts.
pub fn available(sim: &Sim) -> Client {
    let c = signed_in(sim);
    c.make_me_available(Availability::Unspecified)
        .expect("make me available");
    let followed = eventually(Duration::from_secs(5), || {
        let log = sim.log();
        ["presence", "note", "location"]
            .iter()
            .all(|r| log.iter().any(|e| e.method == "GET" && e.route == *r))
    });
    assert!(
        followed,
        "the client GETs the resources of bare added events"
    );
    c
}

/// The log without the event channel's background traffic: its P-GETs, and the GETs of
/// presence, note and location with which the client follows the bare `added`/`updated` events
/// that real servers (and ucwa-sim by default) send instead of embedding the resource.
pub fn foreground(log: &[LogEntry]) -> Vec<LogEntry> {
    log.iter()
        .filter(|e| e.route != "events")
        .filter(|e| {
            !(e.method == "GET" && matches!(e.route.as_str(), "presence" | "note" | "location"))
        })
        .cloned()
        .collect()
}

pub fn on_route<'a>(log: &'a [LogEntry], route: &str) -> Vec<&'a LogEntry> {
    log.iter().filter(|e| e.route == route).collect()
}

/// Waits until `check` holds or `limit` passes; returns whether it held.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    check()
}

/// Collects events until `want` matches one or `limit` passes.
pub fn wait_event(c: &Client, limit: Duration, mut want: impl FnMut(&Event) -> bool) -> Vec<Event> {
    let end = Instant::now() + limit;
    let mut seen = Vec::new();
    while Instant::now() < end {
        match c.next_event(Duration::from_millis(100)) {
            Ok(Some(e)) => {
                let hit = want(&e);
                seen.push(e);
                if hit {
                    return seen;
                }
            }
            Ok(None) => {}
            Err(_) => break,
        }
    }
    panic!("the awaited event did not arrive within {limit:?}; saw {seen:?}");
}

/// Every text of an error a host can read: its message, code, subcode, the resource and
/// `authorization_uri` of a token request, and its `Debug` form (which holds the diagnostics).
pub fn host_text(e: &ucwa::Error) -> String {
    format!(
        "{e} | code={:?} subcode={:?} resource={:?} uri={:?} {e:?}",
        e.code(),
        e.subcode(),
        e.auth_resource(),
        e.authorization_uri()
    )
}

/// Every text of an event a host can read: its `Debug` form, and each reason's texts.
pub fn event_text(event: &Event) -> String {
    match event {
        Event::ConnectionStateChanged {
            reason: Some(r), ..
        }
        | Event::SignedOut { reason: Some(r) } => format!("{event:?} {}", host_text(r)),
        other => format!("{other:?}"),
    }
}
