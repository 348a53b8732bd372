//! The connection's state as the host sees it, and the one place that tells the host when it
//! changes. Sign-in starts it at Connected; a failure being repaired makes it Recovering, a
//! repair or an answering event channel Recovered, a failure that outlasts the ladder (or a
//! spent recreation budget, or token renewal given up) Lost. The synchronous calls' recovery
//! and the supervisor both report what they see here, and [`Event::ConnectionStateChanged`] is
//! emitted only on a transition, so two of them seeing the same failure tell the host once.

use std::sync::Mutex;

use crate::error::Error;
use crate::events::EventQueue;
use crate::log::ucwa_log;
use crate::redact::Secrets;
use crate::types::{ConnectionState, Event};

/// One client's connection state machine; `None` before the first sign-in.
#[derive(Default)]
pub struct Connection {
    state: Mutex<Option<ConnectionState>>,
    /// The client's scrubber, for the record of each transition.
    log: Secrets,
}

impl Connection {
    pub fn new(log: Secrets) -> Connection {
        Connection {
            state: Mutex::default(),
            log,
        }
    }

    /// A session began: Connected, whatever the previous session ended in.
    pub fn connected(&self, events: &EventQueue) {
        self.enter(events, ConnectionState::Connected, None, |_| true);
    }

    /// Something failed and is being repaired. Once Lost, the slow retries that follow are
    /// not news: the host hears Recovered when one of them works.
    pub fn recovering(&self, events: &EventQueue, reason: Error) {
        self.enter(events, ConnectionState::Recovering, Some(reason), |from| {
            matches!(
                from,
                Some(ConnectionState::Connected | ConnectionState::Recovered)
            )
        });
    }

    /// A repair succeeded, or the event channel answered again.
    pub fn recovered(&self, events: &EventQueue) {
        self.enter(events, ConnectionState::Recovered, None, |from| {
            matches!(
                from,
                Some(ConnectionState::Recovering | ConnectionState::Lost)
            )
        });
    }

    /// The client cannot keep the host's state true for now (it goes on retrying slowly).
    pub fn lost(&self, events: &EventQueue, reason: Error) {
        self.enter(events, ConnectionState::Lost, Some(reason), |from| {
            from.is_some_and(|s| s != ConnectionState::Lost)
        });
    }

    /// Moves to `to` when `allowed` says the current state may, telling the host. The event
    /// is queued under the state's lock, so the host reads transitions in the order they
    /// happened even when two tasks make them at once.
    fn enter(
        &self,
        events: &EventQueue,
        to: ConnectionState,
        reason: Option<Error>,
        allowed: impl FnOnce(Option<ConnectionState>) -> bool,
    ) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if allowed(*state) {
            let level = match to {
                ConnectionState::Lost => crate::log::Level::Error,
                ConnectionState::Recovering => crate::log::Level::Warn,
                _ => crate::log::Level::Info,
            };
            let why = reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            match level {
                crate::log::Level::Error => {
                    ucwa_log!(Error, &self.log, "connection {:?} -> {to:?}{why}", *state)
                }
                crate::log::Level::Warn => {
                    ucwa_log!(Warn, &self.log, "connection {:?} -> {to:?}{why}", *state)
                }
                _ => ucwa_log!(Info, &self.log, "connection {:?} -> {to:?}{why}", *state),
            }
            *state = Some(to);
            events.push(Event::ConnectionStateChanged { state: to, reason });
        }
    }

    #[cfg(test)]
    fn state(&self) -> Option<ConnectionState> {
        *self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use ConnectionState::*;

    fn reason() -> Error {
        Error::InvalidState("x".into())
    }

    fn drain(events: &EventQueue) -> Vec<ConnectionState> {
        let mut seen = Vec::new();
        while let Ok(Event::ConnectionStateChanged { state, .. }) =
            events.next(Duration::from_millis(1))
        {
            seen.push(state);
        }
        seen
    }

    #[test]
    fn only_transitions_reach_the_host() {
        let (c, q) = (Connection::default(), EventQueue::default());
        // Nothing before a session: there is no connection to recover or lose.
        c.recovering(&q, reason());
        c.recovered(&q);
        c.lost(&q, reason());
        assert_eq!(c.state(), None);
        c.connected(&q);
        c.recovered(&q);
        c.recovering(&q, reason());
        c.recovering(&q, reason());
        c.recovered(&q);
        c.recovered(&q);
        c.recovering(&q, reason());
        c.lost(&q, reason());
        c.recovering(&q, reason());
        c.lost(&q, reason());
        c.recovered(&q);
        c.lost(&q, reason());
        c.connected(&q);
        c.connected(&q);
        assert_eq!(
            drain(&q),
            [
                Connected, Recovering, Recovered, Recovering, Lost, Recovered, Lost, Connected,
                Connected
            ]
        );
    }

    #[test]
    fn a_transition_carries_its_reason() {
        let (c, q) = (Connection::default(), EventQueue::default());
        c.connected(&q);
        c.recovering(&q, Error::InvalidState("why".into()));
        let _ = q.next(Duration::ZERO);
        match q.next(Duration::ZERO) {
            Ok(Event::ConnectionStateChanged {
                state: Recovering,
                reason: Some(r),
            }) => assert!(r.to_string().contains("why")),
            other => panic!("{other:?}"),
        }
    }
}
