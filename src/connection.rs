//! The connection's state as the host sees it, and the one place that tells the host when it
//! changes. Sign-in starts it at Connected; a failure being repaired makes it Recovering, a
//! repair that worked (or the event channel answering again) Recovered, a failure that
//! outlasts the ladder (or a spent recreation budget, or token renewal given up) Lost. The
//! synchronous calls' recovery and the supervisor both report what they see here, and
//! [`Event::ConnectionStateChanged`] is emitted only on a transition, so two of them seeing
//! the same failure tell the host once.

use std::sync::Mutex;

use crate::error::Error;
use crate::events::EventQueue;
use crate::types::{ConnectionState, Event};

/// One client's connection state machine.
#[derive(Default)]
pub struct Connection {
    inner: Mutex<Machine>,
}

/// The state behind the lock, with what the transitions depend on.
#[derive(Default)]
struct Machine {
    /// What the host was told last; `None` before the first sign-in.
    state: Option<ConnectionState>,
    /// The event channel failed and has not answered since. A repair step that succeeds
    /// meanwhile proves nothing until the channel holds, so Recovered waits for its answer.
    channel_failing: bool,
}

impl Connection {
    /// A session began: Connected, whatever the previous session ended in.
    pub fn connected(&self, events: &EventQueue) {
        let mut m = self.machine();
        m.channel_failing = false;
        m.enter(events, ConnectionState::Connected, None);
    }

    /// Something failed and is being repaired.
    pub fn recovering(&self, events: &EventQueue, reason: Error) {
        self.machine().trouble(events, reason);
    }

    /// The event channel's request failed (and its ladder takes over).
    pub fn channel_failed(&self, events: &EventQueue, reason: Error) {
        let mut m = self.machine();
        m.channel_failing = m.state.is_some();
        m.trouble(events, reason);
    }

    /// A repair succeeded: Recovered, unless the event channel is still failing.
    pub fn recovered(&self, events: &EventQueue) {
        let mut m = self.machine();
        if !m.channel_failing {
            m.resolve(events);
        }
    }

    /// The event channel answered: whatever failed before works again.
    pub fn channel_answered(&self, events: &EventQueue) {
        let mut m = self.machine();
        m.channel_failing = false;
        m.resolve(events);
    }

    /// The client cannot keep the host's state true for now (it goes on retrying slowly).
    pub fn lost(&self, events: &EventQueue, reason: Error) {
        let mut m = self.machine();
        if m.state.is_some_and(|s| s != ConnectionState::Lost) {
            m.enter(events, ConnectionState::Lost, Some(reason));
        }
    }

    fn machine(&self) -> std::sync::MutexGuard<'_, Machine> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Machine {
    /// Once Lost, the slow retries that follow are not news: the host hears Recovered when
    /// one of them works.
    fn trouble(&mut self, events: &EventQueue, reason: Error) {
        if matches!(
            self.state,
            Some(ConnectionState::Connected | ConnectionState::Recovered)
        ) {
            self.enter(events, ConnectionState::Recovering, Some(reason));
        }
    }

    /// Recovered, from a state that was waiting for it.
    fn resolve(&mut self, events: &EventQueue) {
        if matches!(
            self.state,
            Some(ConnectionState::Recovering | ConnectionState::Lost)
        ) {
            self.enter(events, ConnectionState::Recovered, None);
        }
    }

    /// Moves to `to` and tells the host. Called under the machine's lock, so the host reads
    /// transitions in the order they happened even when two tasks make them at once.
    fn enter(&mut self, events: &EventQueue, to: ConnectionState, reason: Option<Error>) {
        self.state = Some(to);
        events.push(Event::ConnectionStateChanged { state: to, reason });
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
        c.channel_failed(&q, reason());
        c.recovered(&q);
        c.channel_answered(&q);
        c.lost(&q, reason());
        assert!(drain(&q).is_empty());
        c.connected(&q);
        c.recovered(&q);
        c.channel_answered(&q);
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
    fn while_the_channel_fails_only_its_answer_is_recovered() {
        let (c, q) = (Connection::default(), EventQueue::default());
        c.connected(&q);
        c.channel_failed(&q, reason());
        // A repair (an application recreated) that the channel has not confirmed yet.
        c.recovering(&q, reason());
        c.recovered(&q);
        c.channel_failed(&q, reason());
        c.recovered(&q);
        c.lost(&q, reason());
        c.recovered(&q);
        c.channel_answered(&q);
        c.channel_answered(&q);
        // The channel holds again: repairs are news once more.
        c.recovering(&q, reason());
        c.recovered(&q);
        // A new session forgets the old one's failing channel.
        c.channel_failed(&q, reason());
        c.connected(&q);
        c.recovering(&q, reason());
        c.recovered(&q);
        assert_eq!(
            drain(&q),
            [
                Connected, Recovering, Lost, Recovered, Recovering, Recovered, Recovering,
                Connected, Recovering, Recovered
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
