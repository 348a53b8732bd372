//! The presence the library keeps, carried to the server: the host's changes to the layers
//! (sources, the preferred choice, the note), each told to the host as an
//! `EffectivePresenceChanged` and put on the wire only when the effective state changed, at
//! the pace of `pacing::PresencePacer` (the housekeeper sends what the pace held back, and
//! removes the layers that ran out); and the answer to a change made elsewhere (adopted as the
//! preferred choice, or with `enforce_presence` overwritten).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use super::desired::{Round, Sender};
use super::layers::Layers;
use super::{InFlight, Payload, Session};
use crate::error::{Result, Step};
use crate::resources::TextField;
use crate::types::{Availability, EffectivePresence, PresenceCause, Settable};

/// The moment a layer given `expires` runs out (`None`: until cleared).
fn until(expires: Option<Duration>) -> Option<Instant> {
    expires.map(|d| Instant::now() + d)
}

impl Session {
    /// Changes the layers once makeMeAvailable succeeded (nothing changes when `change`
    /// refuses), tells the host, and sends the new effective state when the pace allows; the
    /// housekeeper sends it otherwise, at the pace's next slot.
    async fn change_presence<R>(
        &self,
        sender: Sender,
        cause: PresenceCause,
        change: impl FnOnce(&mut Layers) -> Result<R>,
    ) -> Result<R> {
        self.available_app(Step::SetPresence)?;
        let (r, event) = self.state().desired.change(cause, change)?;
        if let Some(e) = event {
            self.emit(e);
        }
        let sent = self.apply_presence(sender).await;
        // What the pace held back, a failure or an expiry is the keep-alive's now: it plans
        // again. With nothing due (the warm path: a choice sent by its call) it sleeps on.
        if self.state().desired.due(Instant::now()).is_some() {
            self.presence_wake.notify_one();
        }
        sent.map(|()| r)
    }

    pub async fn set_source(
        &self,
        name: &str,
        availability: Settable,
        note: Option<String>,
        expires: Option<Duration>,
    ) -> Result<()> {
        self.change_presence(Sender::Source, PresenceCause::Set, |l| {
            l.set_source(name, availability, note, until(expires))
        })
        .await
    }

    pub async fn clear_source(&self, name: &str) -> Result<()> {
        self.change_presence(Sender::Source, PresenceCause::Cleared, |l| {
            Ok(l.clear_source(name))
        })
        .await
        .map(|_| ())
    }

    /// Sets (`Some`) or clears the preferred choice.
    pub async fn set_preferred(
        &self,
        preferred: Option<(Settable, Option<Duration>)>,
    ) -> Result<()> {
        let cause = match preferred {
            Some(_) => PresenceCause::Set,
            None => PresenceCause::Cleared,
        };
        self.change_presence(Sender::Choice, cause, |l| {
            l.set_preferred(preferred.map(|(a, e)| (a, until(e))));
            Ok(())
        })
        .await
    }

    /// The host's note: without expiry it replaces every note the host set; with one it is
    /// shown until then, and the note set before it comes back. `""` clears.
    pub async fn set_note(&self, message: &str, expires: Option<Duration>) -> Result<()> {
        let cause = match message {
            "" => PresenceCause::Cleared,
            _ => PresenceCause::Set,
        };
        self.change_presence(Sender::Choice, cause, |l| {
            match until(expires) {
                Some(at) => l.set_timed_note(message, at),
                None => l.set_note(message),
            }
            Ok(())
        })
        .await
    }

    /// `ucwa_reset_availability`: the preferred choice is cleared; when no source decides,
    /// the server derives the availability again (an empty POST).
    pub async fn reset_availability(&self) -> Result<()> {
        self.available_app(Step::SetPresence)?;
        let event = self.state().desired.reset();
        if let Some(e) = event {
            self.emit(e);
        }
        self.apply_presence(Sender::Choice).await
    }

    /// The presence the library keeps, with its live layers.
    pub fn effective_presence(&self) -> EffectivePresence {
        self.state().desired.snapshot(Instant::now())
    }

    /// One round of presence POSTs, when the server is behind the effective state and the
    /// pace allows it for `sender`. One round at a time, so a later one never overtakes an
    /// earlier one.
    pub(super) async fn apply_presence(&self, sender: Sender) -> Result<()> {
        let _one = self.apply_lock.lock().await;
        let Some(round) = self.state().desired.take_round(Instant::now(), sender) else {
            return Ok(());
        };
        let in_flight = InFlight::enter(&self.presence_posts);
        let result = self.send_round(&round).await;
        drop(in_flight);
        let mut st = self.state();
        match &result {
            Ok(()) => st.desired.round_done(),
            Err(_) => st.desired.round_failed(&round, Instant::now()),
        }
        result
    }

    async fn send_round(&self, round: &Round) -> Result<()> {
        if let Some(a) = round.availability {
            let payload = match a {
                Some(a) => Payload::json(&json!({ "availability": a.wire_name() })),
                None => Payload::Empty,
            };
            self.app_call(Step::SetPresence, "presence", Method::POST, payload)
                .await?;
        }
        if let Some(n) = &round.note {
            let f = TextField::Note;
            let body = json!({ f.property(): n });
            self.app_call(f.step(), f.rel(), Method::POST, Payload::json(&body))
                .await?;
        }
        Ok(())
    }

    /// The housekeeper's part: layers that ran out are removed (the host is told), and what
    /// the pace held back goes out. Errors wait for the next slot (the pace backs off).
    pub async fn keep_presence(&self) {
        let event = {
            let mut st = self.state();
            if !st.app.is_available() {
                return;
            }
            st.desired.expire(Instant::now())
        };
        if let Some(e) = event {
            self.emit(e);
        }
        let _ = self.apply_presence(Sender::KeepAlive).await;
    }

    /// When [`Session::keep_presence`] has work next: an expiry, or held-back state.
    pub fn presence_due(&self) -> Option<Instant> {
        let mut st = self.state();
        if !st.app.is_available() {
            return None;
        }
        st.desired.due(Instant::now())
    }

    /// Resolves when a host change may need the housekeeper sooner than it planned.
    pub async fn presence_changed(&self) {
        self.presence_wake.notified().await
    }

    /// An event showed an availability other than the one this client put on the server.
    /// The server's current presence is read (events can be stale echoes of this client's own
    /// earlier changes); a real change made elsewhere is overwritten with `enforce_presence`,
    /// else adopted as the person's preferred choice. A server that shows a sent value its own
    /// way (Offwork read back as Away) is remembered, so neither loops.
    pub async fn answer_change_elsewhere(&self) -> Result<()> {
        if self.presence_posts.load(Ordering::Acquire) > 0 {
            return Ok(()); // the host's own change decides
        }
        let Some(applied) = self.state().desired.applied_availability() else {
            return Ok(()); // nobody decides: the server's own state stands
        };
        let now = self.get_presence().await?.availability;
        if now == applied.get()
            || matches!(now, Availability::IdleOnline | Availability::IdleBusy)
            || self.state().desired.is_shown_as(applied.get(), now)
        {
            return Ok(());
        }
        let event = {
            let mut st = self.state();
            // The host may have changed something while we looked: its change wins.
            if self.presence_posts.load(Ordering::Acquire) > 0
                || st.desired.applied_availability() != Some(applied)
                || st.desired.is_rendering(now, Instant::now())
            {
                return Ok(());
            }
            match Settable::new(now) {
                Ok(_) if self.options().enforce_presence => {
                    st.desired.forget_applied_availability();
                    None
                }
                Ok(seen) => st.desired.adopt(seen),
                Err(_) => return Ok(()),
            }
        };
        match event {
            Some(e) => {
                self.emit(e);
                Ok(())
            }
            None => self.apply_presence(Sender::KeepAlive).await,
        }
    }
}
