//! The per-client queue of events the host pulls: bounded (the oldest are dropped when a host
//! never reads), and woken promptly when the client signs out or is freed.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::types::Event;

/// How many unread events a client keeps.
pub(crate) const CAPACITY: usize = 1024;

#[derive(Default)]
struct Queue {
    items: VecDeque<Event>,
    /// Set once the client is freed: waiters return at once.
    closed: bool,
    /// Set while no session is active: an empty queue then returns at once.
    idle: bool,
}

#[derive(Default)]
pub struct EventQueue {
    queue: Mutex<Queue>,
    ready: Condvar,
}

/// Why `next` returned no event.
#[derive(Debug, PartialEq, Eq)]
pub enum NoEvent {
    TimedOut,
    SignedOut,
    Closed,
}

impl EventQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn push(&self, event: Event) {
        let mut q = self.lock();
        if q.closed {
            return;
        }
        if q.items.len() >= CAPACITY {
            q.items.pop_front();
        }
        q.items.push_back(event);
        self.ready.notify_all();
    }

    pub fn set_idle(&self, idle: bool) {
        self.lock().idle = idle;
        self.ready.notify_all();
    }

    pub fn close(&self) {
        let mut q = self.lock();
        q.closed = true;
        q.items.clear();
        self.ready.notify_all();
    }

    /// Waits up to `timeout` for the next event.
    pub fn next(&self, timeout: Duration) -> Result<Event, NoEvent> {
        let deadline = Instant::now() + timeout;
        let mut q = self.lock();
        loop {
            if q.closed {
                return Err(NoEvent::Closed);
            }
            if let Some(e) = q.items.pop_front() {
                return Ok(e);
            }
            if q.idle {
                return Err(NoEvent::SignedOut);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(NoEvent::TimedOut);
            }
            q = self
                .ready
                .wait_timeout(q, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}
