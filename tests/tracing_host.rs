//! A Rust host's own `tracing` subscriber gets the library's events (targets `ucwa::…`, the
//! field `client`, the message already redacted), and the library never installs a global
//! subscriber of its own.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// The events seen: (level, target, client, message).
type Seen = Arc<Mutex<Vec<(tracing::Level, String, u64, String)>>>;

struct Host(Seen);

#[derive(Default)]
struct Fields {
    client: u64,
    message: String,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "client" {
            self.client = value;
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }
}

impl Subscriber for Host {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut f = Fields::default();
        event.record(&mut f);
        let m = event.metadata();
        let seen = (*m.level(), m.target().to_string(), f.client, f.message);
        self.0.lock().unwrap().push(seen);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn a_rust_hosts_subscriber_gets_the_events_with_the_client_and_no_secret() {
    let sim = start(fast_config());
    let seen: Seen = Arc::default();
    let c = client(&sim);
    // A scoped subscriber sees what runs on this thread: blocking calls run their exchanges
    // on the caller's thread.
    tracing::subscriber::with_default(Host(seen.clone()), || {
        c.sign_in(ALICE, ALICE_PW).unwrap();
        c.sign_out().unwrap();
    });
    let seen = seen.lock().unwrap();
    let ucwa: Vec<_> = seen.iter().filter(|e| e.1.starts_with("ucwa::")).collect();
    let all = format!("{ucwa:#?}");
    assert!(
        ucwa.iter().any(|e| e.0 == tracing::Level::DEBUG
            && e.1 == "ucwa::transport::logged"
            && e.3.starts_with("POST ")),
        "{all}"
    );
    assert!(ucwa.iter().any(|e| e.3.starts_with("signed in")), "{all}");
    assert!(
        ucwa.iter().all(|e| e.2 == c.log_id()),
        "every event names the client: {all}"
    );
    assert!(!all.contains(ALICE_PW) && !all.contains("AAEB"), "{all}");
    assert!(!all.to_ascii_lowercase().contains("alice"), "{all}");
    // Outside the host's scope there is no subscriber: the library set no global one.
    let global = tracing::dispatcher::get_default(|d| d.is::<tracing::subscriber::NoSubscriber>());
    assert!(global, "no global subscriber was installed");
    assert!(!on_route(&sim.log(), "token").is_empty());
}
