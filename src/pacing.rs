//! Every loop the library runs on its own is paced and bounded here, in one place, so that no
//! misbehaving server can turn a client into a storm against its pool:
//!
//! - [`Health`]: consecutive-failure backoff (exponential, jittered) that is *not* reset by a
//!   recovery step that merely "succeeded", only by a channel that stayed healthy;
//! - [`EventPacer`]: a minimum interval between P-GETs when the server answers them at once
//!   (instant empty answers, a `resync` to the same place, a flood of events);
//! - [`Budget`]: how many applications recovery may create in a window;
//! - [`SHORT_TOKEN_RUN`]: how many tokens under the lifetime floor (`min_token_lifetime_s`) in
//!   a row end renewal;
//! - [`PresencePacer`]: the presence POSTs one client sends when the state it keeps changes
//!   (a burst of [`PRESENCE_BURST`], then one per [`PRESENCE_SPACING`], the last state always
//!   sent; after a failure, the backoff);
//! - [`ListRequests`]: requests driven by a list the server sent (memberships to delete, the
//!   resources of an event set to read) go to each distinct target once, within a bound
//!   ([`MAX_LIST_REQUESTS`], [`MAX_FOLLOW_UPS`], [`MAX_CONTACT_FOLLOW_UPS`]).

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use url::Url;

/// Consecutive failures after which the host is told the connection is lost.
pub(crate) const LADDER: u32 = 6;
/// The slowest retry pace of a failing channel.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A successful P-GET that the server held at least this long proves the channel healthy.
pub(crate) const HEALTHY_PGET: Duration = Duration::from_secs(2);
/// So does this long without a failure, whatever the P-GETs looked like.
pub(crate) const HEALTHY_FOR: Duration = Duration::from_secs(30);

/// Applications recovery may create per client within [`RECREATION_WINDOW`].
pub(crate) const RECREATIONS: usize = 4;
pub(crate) const RECREATION_WINDOW: Duration = Duration::from_secs(600);

/// This many tokens in a row shorter than the floor (option `min_token_lifetime_s`, default
/// 60 s: a token is treated as living at least that long, so renewals come at most that often)
/// is an authentication failure.
pub(crate) const SHORT_TOKEN_RUN: u32 = 3;

/// Most requests one walk of a server list may send, whatever the walk's own bound: as many as
/// the contacts a client may watch (`MAX_SUBSCRIBED_CONTACTS`, checked against this where it is
/// defined), each of which a list entry can stand for.
pub(crate) const MAX_LIST_REQUESTS: usize = 10_000;
/// Follow-up GETs (for the user's own events that carry only a link) one event set may cause.
pub(crate) const MAX_FOLLOW_UPS: usize = 8;
/// Most parts in one `batch` request. The server refuses a whole batch with `429` when a user
/// has more than 100 requests outstanding; the parked P-GET, the batch itself and a couple of
/// concurrent host calls count too, so a batch carries at most 96 parts.
pub const MAX_BATCH_PARTS: usize = 96;
/// Follow-up reads (for contact events that carry only a link) one event set may cause, read
/// in `batch` requests of at most [`MAX_BATCH_PARTS`]: four requests at most.
pub(crate) const MAX_CONTACT_FOLLOW_UPS: usize = 4 * MAX_BATCH_PARTS;

/// Presence changes (availability or note) a client sends at once before spacing them.
pub(crate) const PRESENCE_BURST: u32 = 5;
/// The spacing of presence changes past the burst: a source that flips a hundred times a
/// second costs about three POSTs a second, and the state it ends in goes out within this.
pub(crate) const PRESENCE_SPACING: Duration = Duration::from_millis(300);

/// Instant empty P-GET answers tolerated before the pacer spaces P-GETs out.
const FREE_PREMATURE: u32 = 2;
/// P-GETs answered faster than [`FAST`] (events or not) tolerated before spacing.
const FREE_FAST: u32 = 10;
const FAST: Duration = Duration::from_millis(500);
/// The spacing for a server that answers every P-GET at once with events.
const MAX_FAST_SPACING: Duration = Duration::from_secs(2);

/// Exponential backoff with jitter (0.5x..1.5x), so a thousand clients do not retry in step.
pub fn backoff(failures: u32) -> Duration {
    let base = Duration::from_millis(250)
        .saturating_mul(1u32 << failures.min(8))
        .min(MAX_BACKOFF);
    let jitter = (uuid::Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0;
    base.mul_f64(0.5 + jitter)
}

/// `base * 2^n`, capped.
fn doubling(base: Duration, n: u32, cap: Duration) -> Duration {
    base.saturating_mul(1u32 << n.min(16)).min(cap)
}

/// The failure count of one loop and when it last proved healthy.
#[derive(Debug)]
pub struct Health {
    failures: u32,
    last_failure: Option<Instant>,
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

impl Health {
    pub fn new() -> Self {
        Health {
            failures: 0,
            last_failure: None,
        }
    }

    /// Counts a failure; returns the new count.
    pub fn fail(&mut self) -> u32 {
        self.failures = self.failures.saturating_add(1);
        self.last_failure = Some(Instant::now());
        self.failures
    }

    #[cfg(test)]
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// A request succeeded after being held `held`: the count resets only when that proves
    /// the channel healthy (held long enough, or long enough since the last failure).
    pub fn succeeded(&mut self, held: Duration) {
        let quiet = self.last_failure.is_none_or(|t| t.elapsed() >= HEALTHY_FOR);
        if held >= HEALTHY_PGET || quiet {
            self.failures = 0;
            self.last_failure = None;
        }
    }

    /// How long to wait before the next attempt.
    pub fn delay(&self) -> Duration {
        if self.failures == 0 {
            Duration::ZERO
        } else {
            backoff(self.failures)
        }
    }
}

/// Spaces out P-GETs that the server answers at once.
#[derive(Debug, Default)]
pub struct EventPacer {
    /// Answers in a row with no events that came back well before the requested timeout.
    premature: u32,
    /// Answers in a row that came back faster than [`FAST`].
    fast: u32,
}

impl EventPacer {
    /// Records one answered P-GET: how long the server held it, whether it carried events,
    /// and the timeout the client asked for.
    pub fn answered(&mut self, held: Duration, had_events: bool, requested: Duration) {
        if !had_events && held < requested / 2 {
            self.premature = self.premature.saturating_add(1);
        } else {
            self.premature = 0;
        }
        if held < FAST {
            self.fast = self.fast.saturating_add(1);
        } else {
            self.fast = 0;
        }
    }

    /// How long to wait before the next P-GET. An empty answer is only ever due at the
    /// requested timeout, so a server that keeps answering early is slowed down to it.
    pub fn delay(&self, requested: Duration) -> Duration {
        let premature = match self.premature.checked_sub(FREE_PREMATURE + 1) {
            Some(n) => doubling(Duration::from_millis(500), n, requested.max(FAST)),
            None => Duration::ZERO,
        };
        let fast = match self.fast.checked_sub(FREE_FAST + 1) {
            Some(n) => doubling(Duration::from_millis(100), n, MAX_FAST_SPACING),
            None => Duration::ZERO,
        };
        premature.max(fast)
    }
}

/// At most `max` uses within any `window`.
#[derive(Debug)]
pub struct Budget {
    max: usize,
    window: Duration,
    used: VecDeque<Instant>,
}

impl Budget {
    pub fn new(max: usize, window: Duration) -> Self {
        Budget {
            max,
            window,
            used: VecDeque::new(),
        }
    }

    fn expire(&mut self, now: Instant) {
        while self
            .used
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            self.used.pop_front();
        }
    }

    /// Takes one use, or says how long until one is free.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let wait = self.wait(now);
        if !wait.is_zero() {
            return Err(wait);
        }
        self.used.push_back(now);
        Ok(())
    }

    /// How long until a use is free (zero when one is).
    pub fn wait(&mut self, now: Instant) -> Duration {
        self.expire(now);
        if self.used.len() < self.max {
            return Duration::ZERO;
        }
        let oldest = self.used.front().copied().unwrap_or(now);
        (oldest + self.window).saturating_duration_since(now)
    }

    pub fn reset(&mut self) {
        self.used.clear();
    }
}

/// When the presence the library keeps may go on the wire: a token bucket of
/// [`PRESENCE_BURST`] refilled one per [`PRESENCE_SPACING`], and after a failed POST the
/// backoff of [`backoff`], so neither a flapping host nor a refusing server makes a loop.
#[derive(Debug)]
pub struct PresencePacer {
    credit: u32,
    refilled_at: Instant,
    failures: u32,
    not_before: Option<Instant>,
}

impl Default for PresencePacer {
    fn default() -> Self {
        PresencePacer {
            credit: PRESENCE_BURST,
            refilled_at: Instant::now(),
            failures: 0,
            not_before: None,
        }
    }
}

impl PresencePacer {
    fn refill(&mut self, now: Instant) {
        let gained = now.saturating_duration_since(self.refilled_at).as_millis()
            / PRESENCE_SPACING.as_millis();
        let gained = u32::try_from(gained).unwrap_or(u32::MAX);
        if self.credit.saturating_add(gained) >= PRESENCE_BURST {
            self.credit = PRESENCE_BURST;
            self.refilled_at = now;
        } else if gained > 0 {
            self.credit += gained;
            self.refilled_at += PRESENCE_SPACING * gained;
        }
    }

    /// When the next change may be sent by the keep-alive (`now` or later): the bucket's
    /// next slot, and after a failure not before the backoff.
    pub fn ready_at(&mut self, now: Instant) -> Instant {
        self.paced_at(now).max(self.not_before.unwrap_or(now))
    }

    fn paced_at(&mut self, now: Instant) -> Instant {
        self.refill(now);
        if self.credit > 0 {
            now
        } else {
            self.refilled_at + PRESENCE_SPACING
        }
    }

    /// Takes the right to send a change now, if there is one. A host's own call (`by_host`)
    /// is held to the bucket only: it returns the server's answer, so it makes no loop.
    pub fn take(&mut self, now: Instant, by_host: bool) -> bool {
        let at = if by_host {
            self.paced_at(now)
        } else {
            self.ready_at(now)
        };
        if at > now {
            return false;
        }
        self.credit -= 1;
        true
    }

    /// A POST failed: the next waits a backoff longer than the last.
    pub fn failed(&mut self, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        self.not_before = Some(now + backoff(self.failures));
    }

    pub fn succeeded(&mut self) {
        self.failures = 0;
        self.not_before = None;
    }
}

/// The requests one walk of a server list sends: each distinct target once, and at most
/// `max` (never more than [`MAX_LIST_REQUESTS`]), however often the list repeats an entry or
/// however long it is.
#[derive(Debug)]
pub struct ListRequests {
    sent: HashSet<Url>,
    max: usize,
}

impl ListRequests {
    pub fn new(max: usize) -> Self {
        ListRequests {
            sent: HashSet::new(),
            max: max.min(MAX_LIST_REQUESTS),
        }
    }

    /// Whether a request to `target` may go now (and counts it): not for a target already
    /// requested, nor past the bound.
    pub fn admit(&mut self, target: &Url) -> bool {
        self.sent.len() < self.max
            && !self.sent.contains(target)
            && self.sent.insert(target.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_successful_recovery_step_does_not_reset_backoff_but_a_held_pget_does() {
        let mut h = Health::new();
        for _ in 0..4 {
            h.fail();
        }
        h.succeeded(Duration::from_millis(10));
        assert_eq!(h.failures(), 4, "an instant success proves nothing");
        assert!(h.delay() >= Duration::from_secs(2));
        h.succeeded(HEALTHY_PGET);
        assert_eq!(h.failures(), 0);
        assert_eq!(h.delay(), Duration::ZERO);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= Duration::from_millis(750));
        for f in [8, 20, u32::MAX] {
            let b = backoff(f);
            assert!(
                b >= MAX_BACKOFF / 2 && b <= MAX_BACKOFF.mul_f64(1.5),
                "{b:?}"
            );
        }
    }

    #[test]
    fn instant_empty_answers_are_slowed_down_to_the_requested_timeout() {
        let requested = Duration::from_secs(20);
        let mut p = EventPacer::default();
        for _ in 0..FREE_PREMATURE {
            p.answered(Duration::ZERO, false, requested);
        }
        assert_eq!(
            p.delay(requested),
            Duration::ZERO,
            "a resync or two is normal"
        );
        for _ in 0..40 {
            p.answered(Duration::ZERO, false, requested);
        }
        assert_eq!(p.delay(requested), requested);
        p.answered(requested, false, requested);
        assert_eq!(p.delay(requested), Duration::ZERO);
    }

    #[test]
    fn a_flood_of_instant_events_is_spaced_but_not_stopped() {
        let requested = Duration::from_secs(180);
        let mut p = EventPacer::default();
        for _ in 0..FREE_FAST {
            p.answered(Duration::ZERO, true, requested);
        }
        assert_eq!(p.delay(requested), Duration::ZERO);
        for _ in 0..100 {
            p.answered(Duration::ZERO, true, requested);
        }
        assert_eq!(p.delay(requested), MAX_FAST_SPACING);
    }

    #[test]
    fn budget_refuses_past_its_window_count_and_frees_up_later() {
        let mut b = Budget::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(b.take(t0).is_ok());
        assert!(b.take(t0 + Duration::from_secs(1)).is_ok());
        let wait = b.take(t0 + Duration::from_secs(2)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(8));
        assert!(b.take(t0 + Duration::from_secs(10)).is_ok());
    }

    #[test]
    fn presence_changes_burst_then_are_spaced_and_a_failure_backs_off() {
        let t0 = Instant::now();
        let mut p = PresencePacer::default();
        let sent = (0..100)
            .filter(|i| p.take(t0 + Duration::from_millis(10 * i), true))
            .count();
        // 1 s of a change every 10 ms: the burst, then one per spacing.
        assert!(sent <= PRESENCE_BURST as usize + 4, "{sent}");
        assert!(sent >= PRESENCE_BURST as usize + 2, "{sent}");
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(p.ready_at(t1), t1, "rested: the burst is back");
        p.failed(t1);
        assert!(p.ready_at(t1) > t1);
        assert!(
            !p.take(t1, false),
            "the keep-alive's retry waits for the backoff"
        );
        assert!(p.take(t1, true), "a host's call does not");
        p.succeeded();
        assert!(p.take(t1, false));
    }

    #[test]
    fn a_list_drives_one_request_per_distinct_target_within_its_bound() {
        let u = |i: usize| Url::parse(&format!("https://pool.contoso.com/m/{i}")).unwrap();
        let mut r = ListRequests::new(3);
        let admitted: Vec<usize> = [0, 0, 1, 0, 1, 2, 3, 4]
            .into_iter()
            .filter(|i| r.admit(&u(*i)))
            .collect();
        assert_eq!(admitted, [0, 1, 2]);
        let mut r = ListRequests::new(usize::MAX);
        assert_eq!(
            (0..MAX_LIST_REQUESTS + 5)
                .filter(|i| r.admit(&u(*i)))
                .count(),
            MAX_LIST_REQUESTS
        );
    }
}
