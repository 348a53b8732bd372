//! The sampler: four times a second it reads the simulator's state and drains its request log
//! (never the client's opinion of itself) and accumulates [`Stats`]: whether each client is
//! true on the server, request rates per client and per route in steady state and in fault
//! windows, and each affected client's time to recover after a window ends.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use ucwa::Client;
use ucwa_sim::{LogEntry, UserState};

use crate::report::{status_field, threads};
use crate::world::{Kind, Window, World, KEEPALIVE_S, TICK};

/// A `(window, client)` pair whose recovery is being timed.
struct Pending {
    window: usize,
    client: usize,
}

#[derive(Default)]
pub(crate) struct Rates {
    pub(crate) client_requests: u64,
    pub(crate) sim_requests: u64,
    pub(crate) seconds: f64,
}

/// What the sampler accumulates; fixed size except for one entry per window.
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) samples_counted: u64,
    pub(crate) samples_true: u64,
    /// Why counted samples were false: the server's value, whether the host's call was still in
    /// flight, and how long after the latest window's end (so the grace period can be judged).
    pub(crate) false_reasons: HashMap<String, u64>,
    pub(crate) samples_excluded: u64,
    pub(crate) recoveries: HashMap<Kind, Vec<f64>>,
    /// Recoveries still pending when the next window opened (counted, not timed).
    pub(crate) censored: HashMap<Kind, u64>,
    pub(crate) steady: Rates,
    pub(crate) during: HashMap<Kind, Rates>,
    pub(crate) after_10s: HashMap<Kind, Rates>,
    pub(crate) sim_routes_steady: HashMap<String, u64>,
    pub(crate) sim_routes_fault: HashMap<String, u64>,
    pub(crate) apps_created: Vec<u64>,
    /// Recoveries slower than the grace period: who, after what, and what the server showed.
    pub(crate) slow: Vec<String>,
    pub(crate) max_client_10s: u64,
    pub(crate) log_entries: u64,
    /// Drains that found the log at its limit (older entries may have been dropped unseen).
    pub(crate) log_full: u64,
}

/// What the server shows of each client in one sample.
struct Truth {
    /// Its availability equals the host's desire.
    truth: Vec<bool>,
    /// True, made available and with a P-GET parked lately.
    healthy: Vec<bool>,
    /// The server's availability and application count, for the report.
    seen_as: Vec<String>,
}

/// The sampler's own memory between ticks.
struct Sampler {
    last_counts: Vec<u64>,
    /// Per client, its requests in each of the last 10 s of ticks.
    rings: Vec<VecDeque<u64>>,
    ring_len: usize,
    pending: Vec<Pending>,
    /// Windows whose recoveries are registered.
    opened: usize,
    last_tick: f64,
    next_progress: f64,
}

/// Reads the simulator's state and log every tick and accumulates the statistics.
pub(crate) fn sampler(world: Arc<World>, grace: f64, stats: Arc<Mutex<Stats>>) {
    let n = world.clients.len();
    let ring_len = (10.0 / TICK.as_secs_f64()).round() as usize;
    let mut s = Sampler {
        last_counts: world.clients.iter().map(Client::request_count).collect(),
        rings: vec![VecDeque::with_capacity(ring_len + 1); n],
        ring_len,
        pending: Vec::new(),
        opened: 0,
        last_tick: world.now(),
        next_progress: 60.0,
    };
    while !world.stop_sampler.load(Ordering::Relaxed) {
        std::thread::sleep(TICK);
        s.tick(&world, grace, &stats);
    }
    let mut st = stats.lock().unwrap();
    let windows = world.windows.lock().unwrap();
    for p in s.pending {
        *st.censored.entry(windows[p.window].kind).or_default() += 1;
    }
}

/// The simulator's users and its log since the last drain (which it clears), or nothing while
/// it is down.
fn drain(world: &World) -> (Option<Vec<UserState>>, Vec<LogEntry>) {
    let guard = world.sim.read().unwrap();
    match guard.as_ref() {
        Some(sim) => {
            let log = sim.log();
            sim.clear_log();
            (Some(sim.users()), log)
        }
        None => (None, Vec::new()),
    }
}

impl Sampler {
    fn tick(&mut self, world: &World, grace: f64, stats: &Mutex<Stats>) {
        let n = world.clients.len();
        let t = world.now();
        let dt = t - self.last_tick;
        self.last_tick = t;
        let (users, log) = drain(world);
        let mut st = stats.lock().unwrap();
        st.log_entries += log.len() as u64;
        if log.len() >= world.config.log_limit {
            st.log_full += 1;
        }
        let windows = world.windows.lock().unwrap().clone();
        // The window a tick belongs to for the rate figures: the latest one it falls in.
        let current = windows
            .iter()
            .rev()
            .find(|w| t >= w.start && w.end.is_none_or(|e| t <= e + grace));
        let excluded = current.is_some();

        // Requests: the clients' own counters, and the simulator's log.
        let client_delta = self.count_client_requests(world, &mut st);
        count_log(world, &mut st, &log, excluded, t);
        let sim_delta = log.len() as u64;
        let add = |r: &mut Rates| {
            r.client_requests += client_delta;
            r.sim_requests += sim_delta;
            r.seconds += dt;
        };
        match current {
            None => add(&mut st.steady),
            Some(w) => {
                add(st.during.entry(w.kind).or_default());
                if t >= w.start + 10.0 {
                    add(st.after_10s.entry(w.kind).or_default());
                }
            }
        }

        let truth = judge(world, users.as_deref(), t);
        let healthy_count = truth.healthy.iter().filter(|h| **h).count();
        world.healthy_now.store(healthy_count, Ordering::SeqCst);
        if t >= 15.0 && world.rss_warm.load(Ordering::Relaxed) == 0 {
            *world.heap_warm.lock().unwrap() = crate::heap::live();
            world
                .rss_warm
                .store(status_field("VmRSS:"), Ordering::Relaxed);
        }
        if t >= self.next_progress {
            // A line a minute, so a long run shows whether memory and threads stay flat.
            self.next_progress += 60.0;
            let (ts, th, tl) = threads();
            println!(
                "  t={t:>4.0} s: RSS {} KiB, threads {} (library {tl}), healthy on the server {healthy_count}/{n}, windows so far {}",
                status_field("VmRSS:"),
                ts + th + tl,
                windows.len()
            );
        }
        if excluded {
            st.samples_excluded += n as u64;
        } else {
            count_samples(world, &mut st, &truth, &windows, t);
        }
        self.register_windows(&mut st, &windows, t);
        self.time_recoveries(world, &mut st, &windows, &truth, t, grace);
    }

    /// Each client's requests since the last tick, summed; keeps the most any client sent in
    /// 10 s.
    fn count_client_requests(&mut self, world: &World, st: &mut Stats) -> u64 {
        let mut client_delta = 0;
        for (i, c) in world.clients.iter().enumerate() {
            let now = c.request_count();
            let d = now - self.last_counts[i];
            self.last_counts[i] = now;
            client_delta += d;
            let ring = &mut self.rings[i];
            ring.push_back(d);
            if ring.len() > self.ring_len {
                ring.pop_front();
            }
            let sum: u64 = ring.iter().sum();
            st.max_client_10s = st.max_client_10s.max(sum);
        }
        client_delta
    }

    /// Registers each window's clients once it has ended; a window that opens while earlier
    /// recoveries are pending censors them.
    fn register_windows(&mut self, st: &mut Stats, windows: &[Window], t: f64) {
        while self.opened < windows.len() {
            let w = &windows[self.opened];
            if w.start <= t {
                for p in self.pending.drain(..) {
                    *st.censored.entry(windows[p.window].kind).or_default() += 1;
                }
            }
            if w.end.is_none() {
                break;
            }
            let opened = self.opened;
            self.pending
                .extend(w.affected.iter().map(|&client| Pending {
                    window: opened,
                    client,
                }));
            self.opened += 1;
        }
    }

    /// Times the recoveries that completed this tick and notes the slow ones.
    fn time_recoveries(
        &mut self,
        world: &World,
        st: &mut Stats,
        windows: &[Window],
        truth: &Truth,
        t: f64,
        grace: f64,
    ) {
        self.pending.retain(|p| {
            let w = &windows[p.window];
            let end = w.end.unwrap_or(f64::INFINITY);
            let token_renewed = match w.kind {
                Kind::ExpireTokens => *world.last_token_ok[p.client].lock().unwrap() > w.start,
                _ => true,
            };
            // Past the grace period and the activity timer (within which an expired token is
            // met), a recovery is slow: say what the server shows when it is wrong, once.
            if t - end > grace.max(KEEPALIVE_S as f64) && st.slow.len() < 20 {
                note_slow(world, st, truth, p, w, t - end, token_renewed);
            }
            if truth.healthy[p.client] && token_renewed {
                st.recoveries
                    .entry(w.kind)
                    .or_default()
                    .push((t - end).max(0.0));
                false
            } else {
                true
            }
        });
    }
}

/// The simulator's log since the last tick: requests by route (steady or in a window), the
/// latest good token per client, and applications created per client.
fn count_log(world: &World, st: &mut Stats, log: &[LogEntry], excluded: bool, t: f64) {
    for e in log {
        let routes = if excluded {
            &mut st.sim_routes_fault
        } else {
            &mut st.sim_routes_steady
        };
        *routes.entry(e.route.clone()).or_default() += 1;
        let Some(i) = e.user.as_ref().and_then(|u| world.name_index.get(u)) else {
            continue;
        };
        if e.route == "token" && (200..300).contains(&e.status) {
            *world.last_token_ok[*i].lock().unwrap() = t;
        }
        if e.route == "applications" && e.method == "POST" && e.status == 201 {
            st.apps_created[*i] += 1;
        }
    }
}

/// Server-side truth per client.
fn judge(world: &World, users: Option<&[UserState]>, t: f64) -> Truth {
    let n = world.clients.len();
    let mut healthy = vec![false; n];
    let mut truth = vec![false; n];
    let mut seen_as: Vec<String> = vec!["simulator down".into(); n];
    for u in users.unwrap_or_default() {
        let Some(&i) = world.name_index.get(&u.name) else {
            continue;
        };
        truth[i] = world.desired(i).wire_name() == Some(u.availability.as_str());
        seen_as[i] = format!("{} apps {}", u.availability, u.applications.len());
        let available = u.applications.iter().any(|a| a.made_available);
        if u.applications.iter().any(|a| a.parked_pgets > 0) {
            *world.last_parked[i].lock().unwrap() = t;
        }
        let parked_lately = t - *world.last_parked[i].lock().unwrap() < 2.0;
        healthy[i] = truth[i] && available && parked_lately;
    }
    Truth {
        truth,
        healthy,
        seen_as,
    }
}

/// Counts a sample outside windows: true clients, and for each false one why (the server's
/// value, whether the host's call was in flight, how long after the latest window).
fn count_samples(world: &World, st: &mut Stats, truth: &Truth, windows: &[Window], t: f64) {
    let n = world.clients.len();
    st.samples_counted += n as u64;
    st.samples_true += truth.truth.iter().filter(|x| **x).count() as u64;
    let after = match windows.iter().rev().find(|w| w.end.is_some_and(|e| e <= t)) {
        Some(w) => format!(
            "{:.0} s after the end of {} ({})",
            (t - w.end.unwrap_or(t)).floor(),
            w.kind.name(),
            w.detail
        ),
        None => "before any window".into(),
    };
    for i in (0..n).filter(|i| !truth.truth[*i]) {
        let call = if world.in_call[i].load(Ordering::SeqCst) {
            "host call in flight"
        } else {
            "no host call"
        };
        let key = format!("server {}, {call}, {after}", truth.seen_as[i]);
        *st.false_reasons.entry(key).or_default() += 1;
    }
}

/// A recovery past the grace period: recovered late, or (once) still wrong and how.
fn note_slow(
    world: &World,
    st: &mut Stats,
    truth: &Truth,
    p: &Pending,
    w: &Window,
    since_end: f64,
    token_renewed: bool,
) {
    let key = format!(
        "client {} after {} at {:.1} s",
        p.client,
        w.kind.name(),
        w.start
    );
    if truth.healthy[p.client] && token_renewed {
        st.slow.push(format!(
            "{key}: recovered after {since_end:.1} s (desired {:?})",
            world.desired(p.client)
        ));
    } else if !truth.truth[p.client] && !st.slow.iter().any(|l| l.starts_with(&format!("{key}:"))) {
        st.slow.push(format!(
            "{key}: still not recovered {since_end:.1} s after the end: server shows {}, desired {:?}, host call in flight {}",
            truth.seen_as[p.client],
            world.desired(p.client),
            world.in_call[p.client].load(Ordering::SeqCst)
        ));
    }
}
