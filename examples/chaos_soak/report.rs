//! What the soak measures of the process (RSS, threads by owner) and how it reports: the
//! windows, the share of true client-seconds, recovery times per kind, request rates, the
//! simulator's log by route, the hosts' calls, settle and leave, memory; then the checks of
//! the invariants that do not depend on machine speed and the `N passed, N failed` line.

use std::collections::HashMap;

use crate::leave::Left;
use crate::options::{Options, Plan};
use crate::sampler::{Rates, Stats};
use crate::world::{Kind, Window, KINDS, MAX_PER_CLIENT_10S, MAX_PER_CLIENT_MINUTE, TICK};

pub(crate) fn status_field(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// OS threads of this process grouped as simulator, harness (hosts, sampler, injector, main)
/// and the rest, which is the library's.
pub(crate) fn threads() -> (usize, usize, usize) {
    let (mut sim, mut harness, mut lib) = (0, 0, 0);
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for t in dir.flatten() {
            let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
            let comm = comm.trim();
            if comm.starts_with("ucwa-sim") {
                sim += 1;
            } else if comm.starts_with("soak-") || comm.starts_with("chaos_soak") {
                harness += 1;
            } else {
                lib += 1;
            }
        }
    }
    (sim, harness, lib)
}

pub(crate) fn snapshot(label: &str) -> (u64, usize) {
    let (s, h, l) = threads();
    let rss = status_field("VmRSS:");
    let [hl, hs, hh] = crate::heap::live().map(|b| b / 1024);
    println!(
        "  {label:<34} RSS {rss:>7} KiB; threads {:>3} (library {l}, simulator {s}, harness {h}); live heap {hl} KiB library threads, {hs} KiB simulator, {hh} KiB host threads",
        s + h + l
    );
    (rss, l)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// RSS in KiB at the run's milestones.
pub(crate) struct Rss {
    pub(crate) base: u64,
    pub(crate) start: u64,
    pub(crate) warm: u64,
    /// The live heap by owner at `warm`, and at `end`.
    pub(crate) heap_warm: [isize; 3],
    pub(crate) heap_end: [isize; 3],
    pub(crate) end: u64,
    pub(crate) after: u64,
}

/// Everything the report prints beyond the sampler's [`Stats`], gathered at the end.
pub(crate) struct Figures {
    pub(crate) windows: Vec<Window>,
    pub(crate) events: HashMap<&'static str, u64>,
    pub(crate) host_calls: u64,
    pub(crate) host_fails_in: u64,
    pub(crate) host_fails_out_n: u64,
    pub(crate) host_fails_out: Vec<String>,
    pub(crate) host_panics: usize,
    pub(crate) sampler_ok: bool,
    pub(crate) healthy_end: usize,
    pub(crate) settle_s: f64,
    pub(crate) extra_apps_end: usize,
    pub(crate) client_view_bad: Vec<String>,
    /// Requests per client since the end of sign-in.
    pub(crate) request_totals: Vec<u64>,
    pub(crate) elapsed_min: f64,
    pub(crate) rss: Rss,
    pub(crate) lib_threads: (usize, usize),
}

/// Prints the report, then the checks; the number of failed checks.
pub(crate) fn print(opts: &Options, plan: &Plan, st: &Stats, f: &Figures, left: &Left) -> u32 {
    print_windows(&f.windows);
    print_truth(st, plan.grace);
    print_recoveries(st);
    print_rates(opts.n, st);
    print_log(opts.log_limit, st);
    let max_rate = print_per_client(st, f);
    print_hosts(f);
    print_settle_and_leave(opts, f, left);
    print_rss(f);
    checks(st, f, left, max_rate)
}

fn print_windows(windows: &[Window]) {
    println!("windows (kind, start s, end s, detail):");
    for w in windows {
        println!(
            "  {:<22} {:>7.1} {:>7.1}  {}",
            w.kind.name(),
            w.start,
            w.end.unwrap_or(f64::NAN),
            w.detail
        );
    }
}

fn print_truth(st: &Stats, grace: f64) {
    let true_pct = if st.samples_counted == 0 {
        f64::NAN
    } else {
        st.samples_true as f64 * 100.0 / st.samples_counted as f64
    };
    let tick_s = TICK.as_secs_f64();
    println!(
        "server-side availability == host's desired: {true_pct:.3} % of {:.0} client-seconds outside windows + {grace:.1} s grace ({:.0} client-seconds excluded) [goal >= 99.5 %]",
        st.samples_counted as f64 * tick_s,
        st.samples_excluded as f64 * tick_s
    );
    let mut reasons: Vec<_> = st.false_reasons.iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(a.1));
    for (why, k) in reasons.iter().take(8) {
        println!("  false: {:.1} client-seconds: {why}", **k as f64 * tick_s);
    }
}

fn print_recoveries(st: &Stats) {
    println!("time to recover after the fault ended (server shows the client available, true, P-GET parked; for expire-tokens also a new token):");
    for kind in KINDS {
        let mut v = st.recoveries.get(&kind).cloned().unwrap_or_default();
        v.sort_by(f64::total_cmp);
        println!(
            "  {:<22} n={:<5} p50 {:>6.2} s  p99 {:>6.2} s  max {:>6.2} s  (not recovered before the next window / the end: {})",
            kind.name(),
            v.len(),
            percentile(&v, 0.5),
            percentile(&v, 0.99),
            v.last().copied().unwrap_or(f64::NAN),
            st.censored.get(&kind).copied().unwrap_or(0)
        );
    }
    for l in &st.slow {
        println!("  slow: {l}");
    }
}

fn print_rates(n: usize, st: &Stats) {
    let per_cm = |requests: u64, r: &Rates| {
        if r.seconds <= 0.0 {
            f64::NAN
        } else {
            requests as f64 / (n as f64 * r.seconds / 60.0)
        }
    };
    let steady_c = per_cm(st.steady.client_requests, &st.steady);
    let steady_s = per_cm(st.steady.sim_requests, &st.steady);
    println!(
        "requests per client-minute (Client::request_count / simulator log), steady state over {:.0} s: {steady_c:.2} / {steady_s:.2}",
        st.steady.seconds
    );
    let mut worst_ratio: f64 = 0.0;
    for kind in KINDS {
        let d = st.during.get(&kind);
        let a = st.after_10s.get(&kind);
        let fmt = |r: Option<&Rates>| match r {
            Some(r) if r.seconds > 0.0 => {
                let c = per_cm(r.client_requests, r);
                format!(
                    "{c:>7.2} / {:>7.2} ({:.1}x) over {:>5.0} s",
                    per_cm(r.sim_requests, r),
                    c / steady_c,
                    r.seconds
                )
            }
            _ => "n/a (window + grace shorter than 10 s)".into(),
        };
        if let Some(r) = a.filter(|r| r.seconds > 0.0) {
            worst_ratio = worst_ratio.max(per_cm(r.client_requests, r) / steady_c);
        }
        println!(
            "  {:<22} window+grace: {}; after its first 10 s: {}",
            kind.name(),
            fmt(d),
            fmt(a)
        );
    }
    println!("  worst ratio after the first 10 s: {worst_ratio:.2}x [goal <= 3x]");
}

fn print_log(log_limit: usize, st: &Stats) {
    let route_line = |m: &HashMap<String, u64>| {
        let mut v: Vec<_> = m.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1));
        v.iter()
            .map(|(k, c)| format!("{k} {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "simulator log by route, steady: {}",
        route_line(&st.sim_routes_steady)
    );
    println!(
        "simulator log by route, windows + grace: {}",
        route_line(&st.sim_routes_fault)
    );
    println!(
        "  simulator log entries read and cleared: {} (drains that found the log at its limit of {log_limit}: {})",
        st.log_entries, st.log_full
    );
}

/// The per-client request figures; the highest average rate a minute (a check bounds it).
fn print_per_client(st: &Stats, f: &Figures) -> f64 {
    let elapsed_min = f.elapsed_min;
    let max_total = f.request_totals.iter().copied().max().unwrap_or(0);
    let max_rate = max_total as f64 / elapsed_min;
    println!(
        "per client: most requests in any 10 s: {}; most requests over the run (sign-in excluded): {max_total} ({max_rate:.1}/min over {elapsed_min:.1} min); applications created: max {}, total {} (each client had {} app-losing faults at most)",
        st.max_client_10s,
        st.apps_created.iter().max().copied().unwrap_or(0),
        st.apps_created.iter().sum::<u64>(),
        f.windows
            .iter()
            .filter(|w| matches!(w.kind, Kind::DeleteApplications | Kind::Restart))
            .count()
    );
    max_rate
}

fn print_hosts(f: &Figures) {
    let mut ev: Vec<_> = f.events.iter().collect();
    ev.sort();
    println!("events seen by the hosts: {ev:?}");
    println!(
        "host calls: {}; failed inside a window (+3 s): {}; failed outside: {}",
        f.host_calls, f.host_fails_in, f.host_fails_out_n
    );
    for l in &f.host_fails_out {
        println!("  {l}");
    }
}

fn print_settle_and_leave(opts: &Options, f: &Figures, left: &Left) {
    let (healthy_end, n, settle_s, settle_max) =
        (f.healthy_end, opts.n, f.settle_s, opts.settle_max);
    let extra_apps_end = f.extra_apps_end;
    println!(
        "settle: {healthy_end}/{n} clients healthy after {settle_s:.1} s (limit {settle_max:.0} s); extra applications at the end of settle: {extra_apps_end}"
    );
    let (leave_s, orphans) = (left.leave_s, left.leftover.len());
    println!(
        "applications left on the server after every client left ({leave_s:.1} s to leave, then 3 s): {orphans} [goal 0]"
    );
    for l in left.leftover.iter().take(20) {
        println!("  {l}");
    }
    for story in &left.orphan_stories {
        println!("  {story}");
    }
}

fn print_rss(f: &Figures) {
    let Rss {
        base: rss_base,
        start: rss_start,
        warm: rss_warm,
        end: rss_end,
        after: rss_after,
        heap_warm,
        heap_end,
    } = f.rss;
    let (lib_threads_start, lib_threads_end) = f.lib_threads;
    println!(
        "RSS: {rss_base} KiB simulator only, {rss_start} KiB after sign-in, {rss_warm} KiB 15 s in (hosts and sampler running), {rss_end} KiB at the end ({:+.1} % since 15 s in), {rss_after} KiB after every client left; library threads {lib_threads_start} -> {lib_threads_end} [goal flat]",
        (rss_end as f64 - rss_warm as f64) * 100.0 / rss_warm.max(1) as f64
    );
    // What of that growth is live heap, and whose; the rest is the allocator's retention.
    let grown: Vec<String> = crate::heap::OWNERS
        .iter()
        .zip(heap_warm.iter().zip(heap_end.iter()))
        .map(|(who, (w, e))| format!("{who} {:+} KiB", (e - w) / 1024))
        .collect();
    let heap_growth = (heap_end.iter().sum::<isize>() - heap_warm.iter().sum::<isize>()) / 1024;
    println!(
        "RSS growth since 15 s in: {:+} KiB, of which live heap {heap_growth:+} KiB ({}), the allocator's retention {:+} KiB",
        rss_end as isize - rss_warm as isize,
        grown.join(", "),
        rss_end as isize - rss_warm as isize - heap_growth
    );
}

struct Check {
    passed: u32,
    failed: u32,
}

impl Check {
    fn check(&mut self, ok: bool, what: &str) {
        if ok {
            self.passed += 1;
            println!("PASS {what}");
        } else {
            self.failed += 1;
            println!("FAIL {what}");
        }
    }
}

/// The invariants that do not depend on machine speed, each a PASS or FAIL line, then the
/// `N passed, N failed` line; the number failed.
fn checks(st: &Stats, f: &Figures, left: &Left, max_rate: f64) -> u32 {
    let n = f.request_totals.len();
    let (healthy_end, orphans) = (f.healthy_end, left.leftover.len());
    let mut c = Check {
        passed: 0,
        failed: 0,
    };
    c.check(
        f.host_panics == 0 && f.sampler_ok,
        "no crash: every host and sampler thread ended without a panic",
    );
    c.check(
        healthy_end == n,
        &format!(
            "every client ends signed in and true on the server after settle ({healthy_end}/{n})"
        ),
    );
    c.check(
        f.client_view_bad.is_empty(),
        &format!(
            "every client reads its desired availability back at the end ({} did not{})",
            f.client_view_bad.len(),
            f.client_view_bad
                .first()
                .map(|s| format!(", e.g. {s}"))
                .unwrap_or_default()
        ),
    );
    c.check(
        orphans == 0 && left.sign_out_errors.is_empty(),
        &format!(
            "0 applications left after sign-out/drop ({orphans} left; sign-out errors {})",
            left.sign_out_errors.len()
        ),
    );
    c.check(
        st.max_client_10s <= MAX_PER_CLIENT_10S,
        &format!(
            "no client sent more than {MAX_PER_CLIENT_10S} requests in any 10 s ({})",
            st.max_client_10s
        ),
    );
    c.check(
        max_rate <= MAX_PER_CLIENT_MINUTE,
        &format!(
            "no client averaged more than {MAX_PER_CLIENT_MINUTE} requests a minute ({max_rate:.1})"
        ),
    );
    println!("{} passed, {} failed", c.passed, c.failed);
    c.failed
}
