//! The records a host pulls (`ucwa_log_next`): a bounded queue, the oldest dropped first when
//! nobody reads, with the number dropped counted and said in the next record taken, so a flood
//! costs a fixed amount of memory and is never silent.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use super::Level;

/// How many unread records are kept.
pub(crate) const CAPACITY: usize = 4096;
/// The longest message kept, in bytes (cut at a character boundary, marked with `…`).
pub(crate) const MAX_MESSAGE: usize = 4096;

/// One log record.
#[derive(Debug, Clone)]
pub struct Record {
    pub level: Level,
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The module that wrote it, e.g. `ucwa::transport`.
    pub target: &'static str,
    /// The client's id: its C handle value for a client made through the C ABI, else the
    /// number `Client::log_id` gives; 0 for records of no client.
    pub client: u64,
    pub message: String,
}

struct Queue {
    items: VecDeque<Record>,
    /// Dropped since the last record was taken (said then).
    unsaid: u64,
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue {
    items: VecDeque::new(),
    unsaid: 0,
});
static READY: Condvar = Condvar::new();
static DROPPED: AtomicU64 = AtomicU64::new(0);

fn lock() -> std::sync::MutexGuard<'static, Queue> {
    QUEUE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Sets the level of the records kept for [`next`] (`Off`: none; those kept stay readable).
pub fn set_level(level: Level) {
    super::BUFFER_LEVEL.store(level as u8, Ordering::Relaxed);
    super::update_max();
}

/// How many records were dropped because the buffer was full, since the process started.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// `message` cut to [`MAX_MESSAGE`] bytes.
pub(crate) fn bounded(mut message: String) -> String {
    if message.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE - 3;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    message
}

pub(super) fn push(mut record: Record) {
    record.message = bounded(record.message);
    let mut q = lock();
    if q.items.len() >= CAPACITY {
        q.items.pop_front();
        q.unsaid += 1;
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
    q.items.push_back(record);
    drop(q);
    READY.notify_one();
}

/// The oldest unread record, waiting up to `timeout` for one. After a drop, the record taken
/// first is a warning that says how many were lost (then the records resume).
pub fn next(timeout: Duration) -> Option<Record> {
    let deadline = Instant::now() + timeout;
    let mut q = lock();
    loop {
        if q.unsaid > 0 {
            let n = std::mem::take(&mut q.unsaid);
            return Some(Record {
                level: Level::Warn,
                time_ms: super::now_ms(),
                target: "ucwa::log",
                client: 0,
                message: format!(
                    "{n} log records dropped: the buffer holds {CAPACITY}; read faster or lower the level"
                ),
            });
        }
        if let Some(r) = q.items.pop_front() {
            return Some(r);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        q = READY
            .wait_timeout(q, deadline - now)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
}
