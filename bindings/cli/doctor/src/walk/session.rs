//! The session's checks after sign-in: makeMeAvailable, presence, note and location set and
//! read back, reportMyActivity, the doctor's own token probes, the event channel, the
//! contact's presence, and putting back what was found.

use std::time::{Duration, Instant};

use ucwa::{Availability, Client, Error, EventKind};

use super::Doctor;
use crate::advice::for_error;
use crate::observe::Trace;
use crate::probe;
use crate::report::Advice;

type Result<T> = std::result::Result<T, Error>;

/// A note and location the doctor sets for a moment (then restores what it found).
const CHECK_TEXT: &str = "ucwa-doctor check";

impl Doctor<'_> {
    pub(super) fn session(&mut self, c: &Client) {
        let step = |d: &mut Self, name: &str, r: Result<String>| match r {
            Ok(text) => d.r.ok(name, &text),
            Err(e) => {
                let advice = for_error(&e, &d.cx());
                d.r.fail(name, &e.to_string(), &advice);
            }
        };
        let made = c.make_me_available(Availability::Unspecified);
        let ok = made.is_ok();
        step(
            self,
            "makeMeAvailable",
            made.map(|_| "the user is available".into()),
        );
        if !ok {
            return;
        }
        let found = (c.presence(), c.note(), c.location());
        let (Ok(p), Ok(note), Ok(location)) = found else {
            step(
                self,
                "presence read",
                Err(ucwa::Error::InvalidState(
                    "presence, note or location could not be read".into(),
                )),
            );
            return;
        };
        self.r
            .info("presence", &format!("as found: {:?}", p.availability));
        let target = if p.availability == Availability::Busy {
            Availability::Away
        } else {
            Availability::Busy
        };
        let set = c.set_availability(target).and_then(|_| c.presence());
        step(
            self,
            "presence",
            set.and_then(|q| read_back(format!("{target:?}"), format!("{:?}", q.availability))),
        );
        let n = c.set_note(CHECK_TEXT).and_then(|_| c.note());
        step(
            self,
            "note",
            n.and_then(|v| read_back(CHECK_TEXT.into(), v.unwrap_or_default())),
        );
        let l = c.set_location(CHECK_TEXT).and_then(|_| c.location());
        step(
            self,
            "location",
            l.and_then(|v| read_back(CHECK_TEXT.into(), v.unwrap_or_default())),
        );
        step(
            self,
            "reportMyActivity",
            c.report_activity().map(|_| "accepted".into()),
        );
        self.raw_probes();
        self.events(c);
        if let Some(contact) = self.a.contact.clone() {
            let r = c
                .contact_presence(&contact)
                .map(|q| format!("{contact}: {:?}", q.availability));
            step(self, "contact", r);
        }
        let restored = restore(c, p.availability, note.as_deref(), location.as_deref());
        step(
            self,
            "restore",
            restored.map(|_| "presence, note and location as found".into()),
        );
    }

    /// With the doctor's own token: the status of a re-POST of the application (same pool), or
    /// of this pool's token on the other pool (after a pool change).
    fn raw_probes(&mut self) {
        self.name_forms();
        let Some((token_url, token, ..)) = self.raw.clone() else {
            return;
        };
        let Some((apps, _, body, _)) = Trace::read(&self.transcript).application_post() else {
            return;
        };
        if apps.origin() == token_url.origin() {
            let r = self.rt.block_on(probe::with_token(
                &self.http.trusted,
                reqwest::Method::POST,
                &apps,
                &token,
                Some(&body),
            ));
            if let Ok(a) = r {
                self.r.info(
                    "application",
                    &format!("a re-POST with the same endpointId gets {}", a.status),
                );
                self.obs.repost_status = matches!(a.status, 200 | 201).then_some(a.status);
            }
        } else {
            let r = self.rt.block_on(probe::with_token(
                &self.http.trusted,
                reqwest::Method::GET,
                &apps,
                &token,
                None,
            ));
            if let Ok(a) = r {
                self.r.info(
                    "pool",
                    &format!(
                        "the first pool's token gets {} on the user's pool",
                        a.status
                    ),
                );
                self.obs.foreign_token_status = matches!(a.status, 401 | 500).then_some(a.status);
            }
        }
    }

    fn events(&mut self, c: &Client) {
        // The hold of a P-GET without `timeout`, on an application of its own, meanwhile.
        let probe = self
            .hold_job()
            .map(|job| std::thread::spawn(move || job.run()));
        let deadline = Instant::now() + self.a.max_wait;
        let mut kinds: Vec<EventKind> = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match c.next_event(left.min(Duration::from_millis(250))) {
                Ok(Some(e)) if !kinds.contains(&e.kind()) => kinds.push(e.kind()),
                Ok(_) => {}
                Err(_) => break,
            }
            let answered = Trace::read(&self.transcript)
                .pgets()
                .iter()
                .filter(|(s, _)| *s == 200)
                .count();
            if !kinds.is_empty() && answered >= 2 {
                break;
            }
        }
        let seen = probe.and_then(|p| p.join().ok());
        let shape = self.hold_seen(seen);
        let trace = Trace::read(&self.transcript);
        let pgets = trace.pgets();
        let held = pgets.iter().map(|(_, ms)| *ms).max().unwrap_or(0);
        self.obs.empty_events = shape.or(trace.empty_events());
        self.obs.embed_self_events = trace.embed_self_events();
        // The library's own news (a connection state, the presence it composed from the
        // doctor's own choice) does not show the server answered.
        let from_server = kinds.iter().any(|k| {
            !matches!(
                k,
                EventKind::ConnectionStateChanged
                    | EventKind::SignedOut
                    | EventKind::TokenNeeded
                    | EventKind::EffectivePresenceChanged
            )
        });
        if !from_server && !pgets.iter().any(|(s, _)| *s == 200) {
            let advice = Advice::new(
                "no P-GET of the event channel was answered and no event arrived: a reverse proxy or load balancer buffers or cuts long requests",
                "let /ucwa requests run for at least 180 s unbuffered on the reverse proxy and load balancer; or raise --max-wait-s",
            );
            self.r.fail(
                "event channel",
                &format!("nothing within {} s", self.a.max_wait.as_secs()),
                &advice,
            );
            return;
        }
        let names: Vec<String> = kinds.iter().map(|k| format!("{k:?}")).collect();
        self.r.ok(
            "event channel",
            &format!("first events: {}; {} P-GET(s) answered, the longest held {:.1} s (asked timeout={} s)", if names.is_empty() { "none".into() } else { names.join(", ") }, pgets.len(), held as f64 / 1000.0, self.a.max_wait.as_secs().max(1)),
        );
    }
}

fn read_back(want: String, got: String) -> Result<String> {
    if want == got {
        Ok(format!("set {want}, read back {got}"))
    } else {
        Err(ucwa::Error::InvalidState(format!(
            "set {want} but read back {got}"
        )))
    }
}

/// Puts presence, note and location back as they were found.
fn restore(c: &Client, a: Availability, note: Option<&str>, location: Option<&str>) -> Result<()> {
    let settable = matches!(
        a,
        Availability::Online
            | Availability::Busy
            | Availability::DoNotDisturb
            | Availability::BeRightBack
            | Availability::Away
            | Availability::OffWork
    );
    if settable {
        c.set_availability(a)?;
    } else {
        c.reset_availability()?;
    }
    c.set_note(note.unwrap_or(""))?;
    c.set_location(location.unwrap_or(""))
}
