//! Chaos soak benchmark (issue 8): N clients signed in through the Rust API against an
//! in-process ucwa-sim for M minutes, while an injector opens fault windows through the
//! simulator's fault/control API (503 + Retry-After, connection closes, delays past
//! `timeout_ms`, 500 with an HTML body, deleted applications, expired tokens, a restart on the
//! same port) and each client's host sets its presence now and then.
//!
//! It owns the measurement of the soak: every window is recorded (kind, start, end), a sampler
//! reads the *simulator's* state four times a second (never the client's opinion of itself)
//! and drains the simulator's request log as it goes (so the log stays bounded however long
//! the run), and the program prints the fraction of client-seconds in which the server-side
//! availability equals the host's desired one (outside windows plus a grace period),
//! p50/p99/max time to recover per fault kind, requests per client-minute during faults vs
//! steady state, applications left on the server after every client signed out or was
//! dropped, and threads/RSS over the run.
//!
//! The invariants that do not depend on machine speed are checked and summarised as a final
//! `N passed, N failed` line; the exit code is non-zero when one fails. The CI short form:
//!   cargo run --example chaos_soak -- --clients 40 --minutes 1
//! The full length (about 11 minutes of wall time; the README's figures are from debug builds):
//!   cargo run --example chaos_soak
//! Options: --clients N (200), --minutes M (10, decimals allowed), --seed S (1), --grace-s G
//! (15, or a third of a fault slot when slots are shorter), --settle-s S (50), --log-limit N
//! (5000), --no-faults (a control run: everything but the injection), --skip K,K (leave kinds
//! out: 503, close, delay, html500, delete, expire, restart). Loopback only; bounded in count
//! and time.
//!
//! The parts: `options` (command line and schedule), `world` (settings, fault kinds, the shared
//! state), `hosts` (sign-in and the host threads), `injector` (the fault windows), `sampler`
//! (the simulator's truth and the request figures), `leave` (the end of every client) and
//! `report` (memory, the report and the checks), `heap` (the live heap by owner, for the
//! attribution of memory growth).

mod heap;
mod hosts;
mod injector;
mod leave;
mod options;
mod report;
mod sampler;
mod world;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ucwa::Client;
use ucwa_sim::{Sim, SimConfig};

use options::{Options, Plan};
use report::{snapshot, Figures, Rss};
use sampler::Stats;
use world::{World, EVENT_TIMEOUT_S, KEEPALIVE_S, KINDS, TICK, TIMEOUT_MS};

/// Counts the live heap by owner, for the attribution of the process's growth (`heap`).
#[global_allocator]
static ALLOCATOR: heap::ByOwner = heap::ByOwner;

fn main() {
    let opts = Options::from_args();
    let plan = Plan::of(&opts);
    let n = opts.n;
    let config = opts.sim_config();
    // A hang anywhere (a call past its bound, a stuck sign-out) must fail the run, not stall CI.
    start_watchdog(plan.run_s + opts.settle_max + 120.0 + n as f64 * 0.1);
    let sim = Sim::start(config.clone()).expect("ucwa-sim starts");
    let config = SimConfig {
        listen: sim.addr(),
        ..config
    };
    let url = sim.root_url();
    print_header(&opts, &plan, &url);
    let (rss_base, _) = snapshot("simulator only");

    let clients = hosts::sign_in_all(&url, n);
    std::thread::sleep(Duration::from_secs(1));
    let (rss_start, lib_threads_start) = snapshot("after sign-in");

    // The sign-in requests are not part of the soak's figures.
    sim.clear_log();
    let counts_at_start: Vec<u64> = clients.iter().map(Client::request_count).collect();
    let world = Arc::new(World::new(sim, config, clients));
    let stats = Arc::new(Mutex::new(Stats {
        apps_created: vec![0; n],
        ..Stats::default()
    }));
    let sampler_thread = {
        let (world, stats, grace) = (world.clone(), stats.clone(), plan.grace);
        std::thread::Builder::new()
            .name("soak-sampler".into())
            .spawn(move || sampler::sampler(world, grace, stats))
            .unwrap()
    };
    let host_threads = hosts::spawn(&world, opts.seed, plan.every);

    // The injector runs on this thread: one window per slot, placed at random inside it.
    injector::run(&world, &opts, &plan);

    let (host_panics, settle_s, healthy_end) = settle(&world, host_threads, opts.settle_max);
    let sampler_ok = sampler_thread.join().is_ok();
    let mut figures = end_figures(&world, &counts_at_start);
    figures.host_panics = host_panics;
    figures.sampler_ok = sampler_ok;
    figures.settle_s = settle_s;
    figures.healthy_end = healthy_end;
    figures.rss.base = rss_base;
    figures.rss.start = rss_start;
    figures.lib_threads.0 = lib_threads_start;

    let (sim, left) = leave::leave(world);
    let (rss_after, _) = snapshot("after every client left");
    figures.rss.after = rss_after;

    let st = stats.lock().unwrap();
    let failed = report::print(&opts, &plan, &st, &figures, &left);
    drop(sim);
    if failed > 0 {
        std::process::exit(1);
    }
}

/// Ends the process with a failure if the soak outlives its budget.
fn start_watchdog(budget: f64) {
    std::thread::Builder::new()
        .name("soak-watchdog".into())
        .spawn(move || {
            std::thread::sleep(Duration::from_secs_f64(budget));
            println!("FAIL the soak did not finish within {budget:.0} s (a call or sign-out hung)");
            println!("0 passed, 1 failed");
            std::process::exit(1);
        })
        .unwrap();
}

fn print_header(opts: &Options, plan: &Plan, url: &str) {
    let (n, minutes, seed) = (opts.n, opts.minutes, opts.seed);
    println!(
        "ucwa chaos soak: {n} clients against an in-process ucwa-sim at {url} for {minutes} min, seed {seed}{}",
        if opts.no_faults { ", NO FAULTS (control run)" } else { "" }
    );
    if !opts.skip.is_empty() {
        println!(
            "  kinds skipped (their slots stay quiet): {}",
            opts.skip.join(", ")
        );
    }
    let (slots, groups, slot, grace) = (plan.slots, plan.groups, plan.slot, plan.grace);
    println!(
        "  {slots} fault windows ({groups} of each of {} kinds), one per {slot:.1} s slot; grace after each window {grace:.1} s; hosts act every {:.0}-{:.0} s",
        KINDS.len(),
        plan.every.0,
        plan.every.1
    );
    let log_limit = opts.log_limit;
    println!(
        "  client: timeout_ms {TIMEOUT_MS}, keepalive {KEEPALIVE_S} s, event timeout {EVENT_TIMEOUT_S} s; simulator: inactive 30 s + away 30 s, app expiry 120 s, log limit {log_limit} (drained every {} ms)",
        TICK.as_millis()
    );
    println!("memory and threads (the simulator shares the process):");
}

/// Settle: hosts finish their pending retries and stop; then every client must become true on
/// the server with no further host call. Host panics, settle seconds and clients healthy at
/// the end; the sampler is told to stop.
fn settle(
    world: &World,
    host_threads: Vec<JoinHandle<()>>,
    settle_max: f64,
) -> (usize, f64, usize) {
    let n = world.clients.len();
    world.stop_hosts.store(true, Ordering::SeqCst);
    let mut host_panics = 0;
    for h in host_threads {
        if h.join().is_err() {
            host_panics += 1;
        }
    }
    let settle_start = Instant::now();
    while settle_start.elapsed().as_secs_f64() < settle_max
        && world.healthy_now.load(Ordering::SeqCst) < n
    {
        std::thread::sleep(TICK);
    }
    // Let the sampler see one more tick so late recoveries are timed.
    std::thread::sleep(TICK * 2);
    let settle_s = settle_start.elapsed().as_secs_f64();
    let healthy_end = world.healthy_now.load(Ordering::SeqCst);
    world.stop_sampler.store(true, Ordering::SeqCst);
    (host_panics, settle_s, healthy_end)
}

/// The figures read at the end of the run, clients still up: each client's own view (one
/// request each, which must agree with its host's desire), extra applications, memory and
/// threads, request totals, and the world's counters.
fn end_figures(world: &World, counts_at_start: &[u64]) -> Figures {
    let mut client_view_bad = Vec::new();
    for (i, c) in world.clients.iter().enumerate() {
        match c.presence() {
            Ok(p) if p.availability == world.desired(i) => {}
            Ok(p) => client_view_bad.push(format!(
                "client {i}: reads {:?}, desired {:?}",
                p.availability,
                world.desired(i)
            )),
            Err(e) => client_view_bad.push(format!("client {i}: {e}")),
        }
    }
    let users_end = world
        .sim
        .read()
        .unwrap()
        .as_ref()
        .map(|s| s.users())
        .unwrap_or_default();
    let extra_apps_end: usize = users_end
        .iter()
        .map(|u| u.applications.len().saturating_sub(1))
        .sum();
    let (rss_end, lib_threads_end) = snapshot("end of run (clients still up)");
    let heap_end = heap::live();
    let request_totals: Vec<u64> = world
        .clients
        .iter()
        .zip(counts_at_start)
        .map(|(c, s)| c.request_count() - s)
        .collect();
    Figures {
        elapsed_min: world.now() / 60.0,
        windows: world.windows.lock().unwrap().clone(),
        events: world.events.lock().unwrap().clone(),
        host_calls: world.host_calls.load(Ordering::Relaxed),
        host_fails_in: world.host_failures_in_windows.load(Ordering::Relaxed),
        host_fails_out_n: world.host_failures_outside_n.load(Ordering::Relaxed),
        host_fails_out: world.host_failures_outside.lock().unwrap().clone(),
        host_panics: 0,
        sampler_ok: true,
        healthy_end: 0,
        settle_s: 0.0,
        extra_apps_end,
        client_view_bad,
        request_totals,
        rss: Rss {
            base: 0,
            start: 0,
            warm: world.rss_warm.load(Ordering::Relaxed),
            heap_warm: *world.heap_warm.lock().unwrap(),
            heap_end,
            end: rss_end,
            after: 0,
        },
        lib_threads: (0, lib_threads_end),
    }
}
