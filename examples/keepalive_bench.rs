//! Memory and keep-alive benchmark (design §7, issues 4 and 18): N clients signed in, made
//! available and kept alive (event channel on, activity timer on) against ucwa-sim in one
//! process. Prints, per size: OS threads, resident memory per client beyond the first, the
//! live heap per client after each phase (signed in, made available, event channels parked;
//! counted by this binary's allocator), idle CPU, and the request cost of a cold start and of
//! a warm presence change. With `--heaptrack` it also names the largest allocation sites at
//! the heap's peak (heaptrack's peak stacks, per client; the recording stays in /tmp).
//!
//! The simulator runs as a separate process so that only the library is measured:
//!   cargo build --release -p ucwa-sim
//!   cargo run --release --example keepalive_bench                       # 1,000 and 10,000
//!   cargo run --release --example keepalive_bench -- --clients 1000 [--idle-seconds 20]
//!   cargo run --release --example keepalive_bench -- --clients 1000 --heaptrack
//! Each size runs in a process of its own (resident memory is the whole process's). The open
//! file limit is raised to its hard limit for the sockets (one per client, and as many in the
//! simulator).
//! Bounded in count and time; loopback only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ucwa::{Availability, Client};

/// Counts the bytes and blocks live on the heap, for the per-phase heap figures.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_BLOCKS: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only counters are updated
// around it, and counting never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is the system allocator's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
            LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
            LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, which is the system allocator.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; the old block stays valid when this fails.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Live heap bytes and blocks now.
fn heap() -> (isize, isize) {
    (
        LIVE_BYTES.load(Ordering::Relaxed),
        LIVE_BLOCKS.load(Ordering::Relaxed),
    )
}

fn args() -> Vec<String> {
    std::env::args().collect()
}

fn arg(name: &str) -> Option<String> {
    let args = args();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn num(name: &str, default: u64) -> u64 {
    arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn status_field(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// User + system CPU time of this process, in clock ticks.
fn cpu_ticks() -> u64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = s.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

/// Raises the soft open-file limit to the hard one (the simulator, started afterwards,
/// inherits it) and returns the limit in force.
#[cfg(unix)]
fn raise_file_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for the duration of the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 0;
    }
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: `lim` is a valid rlimit; raising the soft limit to the hard one is always allowed.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    // SAFETY: as above.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    lim.rlim_cur
}

/// Elsewhere there is no such limit to raise (the benchmark reads `/proc` and is meant for
/// Linux; it only has to compile where the test build compiles every example).
#[cfg(not(unix))]
fn raise_file_limit() -> u64 {
    0
}

struct Sim(Child, String);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_sim(users: u64) -> Sim {
    let exe = std::env::var("UCWA_SIM").unwrap_or_else(|_| {
        let here = std::env::current_exe().unwrap();
        let profile_dir = here.parent().unwrap().parent().unwrap();
        profile_dir.join("ucwa-sim").to_string_lossy().into_owned()
    });
    let mut cmd = Command::new(&exe);
    cmd.args([
        "--listen",
        "127.0.0.1:0",
        "--event-hold-s",
        "0",
        "--event-timeout-min-s",
        "1",
    ]);
    for i in 0..users {
        cmd.args(["--user", &format!("user{i}@contoso.com:pw-{i}")]);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {exe}: {e} (build it: cargo build --release -p ucwa-sim)")
        });
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    Sim(child, line.trim().to_string())
}

/// A client kept alive with a 30 s activity timer and P-GET (the event channel is on by
/// default), signed in.
fn signed_in(url: &str, i: usize) -> Client {
    let c = Client::new(url).unwrap();
    c.set_option("keepalive_interval_s", "30").unwrap();
    c.set_option("event_timeout_s", "30").unwrap();
    c.set_option("timeout_ms", "60000").unwrap();
    c.sign_in(&format!("user{i}@contoso.com"), &format!("pw-{i}"))
        .unwrap();
    c
}

/// Runs `work(i)` for i in 1..n on 8 threads.
fn on_eight(n: usize, work: impl Fn(usize) + Send + Sync + 'static) {
    let work = Arc::new(work);
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let work = work.clone();
            std::thread::spawn(move || (1..n).filter(|i| i % 8 == w).for_each(|i| work(i)))
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
}

/// Heap growth per client since `base`, in KiB, and blocks per client.
fn per_client(base: (isize, isize), now: (isize, isize), clients: usize) -> String {
    format!(
        "{:.1} KiB in {:.0} blocks",
        (now.0 - base.0) as f64 / 1024.0 / clients as f64,
        (now.1 - base.1) as f64 / clients as f64
    )
}

/// One size, in this process.
fn run(n: usize, idle: u64) {
    let files = raise_file_limit();
    if files < n as u64 + 256 {
        eprintln!("warning: open-file limit {files} is low for {n} clients (a socket each)");
    }
    let sim = start_sim(n as u64);
    println!("ucwa memory benchmark: {n} clients against {}", sim.1);

    // The first client pays for the engine, the TLS config and the connection pools.
    let first = signed_in(&sim.1, 0);
    first.make_me_available(Availability::Online).unwrap();
    let before = first.request_count();
    first.set_availability(Availability::Busy).unwrap();
    let warm_requests = first.request_count() - before;
    std::thread::sleep(Duration::from_millis(500));
    let rss_one = status_field("VmRSS:");
    let heap_one = heap();

    let slots: Arc<Vec<Mutex<Option<Client>>>> =
        Arc::new((0..n).map(|_| Mutex::new(None)).collect());
    let t = Instant::now();
    let (s, url) = (slots.clone(), sim.1.clone());
    on_eight(n, move |i| *s[i].lock().unwrap() = Some(signed_in(&url, i)));
    let signed = heap();
    let s = slots.clone();
    on_eight(n, move |i| {
        let c = s[i].lock().unwrap().clone().unwrap();
        c.make_me_available(Availability::Online).unwrap();
    });
    let made_available = heap();
    let sign_in_time = t.elapsed();
    let cold = first.request_count();
    std::thread::sleep(Duration::from_secs(2));
    let parked = heap();
    let rss_all = status_field("VmRSS:");
    let threads_busy = status_field("Threads:");

    let cpu0 = cpu_ticks();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(idle));
    let ticks = cpu_ticks() - cpu0;
    let hz = 100.0; // Linux USER_HZ
    let idle_cpu = ticks as f64 / hz / t0.elapsed().as_secs_f64() * 100.0;
    let threads = status_field("Threads:");
    let others = n - 1;

    println!("clients signed in, available and kept alive (events on): {n}");
    println!(
        "sign-in + make available of {others} clients: {:.1} s ({:.1} ms each, 8 threads)",
        sign_in_time.as_secs_f64(),
        sign_in_time.as_secs_f64() * 1000.0 / others as f64
    );
    println!("requests sent by client 0 so far, background included: {cold} (the foreground minimum of 8 is asserted by tests/flow.rs against the simulator log)");
    println!("requests for a warm presence change, counted by the client as the call returns: {warm_requests} (the event channel re-parks in the background afterwards)");
    println!("OS threads in this process: {threads} (just after sign-in: {threads_busy})");
    println!("resident memory: {rss_one} KiB with 1 client, {rss_all} KiB with {n}");
    println!(
        "live heap per client beyond the first: signed in {}; made available {}; event channels parked {}",
        per_client(heap_one, signed, others),
        per_client(heap_one, made_available, others),
        per_client(heap_one, parked, others)
    );
    let rss_per_client = rss_all.saturating_sub(rss_one) as f64 / others as f64;
    println!("resident memory per client beyond the first: {rss_per_client:.1} KiB");
    println!("idle CPU over {idle} s: {idle_cpu:.2}% of one core");
    println!("targets (design §7, issue 18): <= 16 threads; <= 40 KiB per client at 10,000");
    println!("SUMMARY {n} clients: {rss_per_client:.1} KiB/client resident, {threads} OS threads, idle CPU {idle_cpu:.2}%");
    let t = Instant::now();
    drop(slots);
    drop(first);
    println!(
        "closing {n} clients (sign out each): {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

/// Runs one size in a child process of this binary, under heaptrack when asked, and returns
/// its output.
fn child(n: u64, idle: u64, heaptrack: Option<&str>) -> String {
    let me = std::env::current_exe().unwrap();
    let mut cmd = match heaptrack {
        Some(out) => {
            let mut c = Command::new("heaptrack");
            c.args(["-o", out]).arg(&me);
            c
        }
        None => Command::new(&me),
    };
    cmd.args([
        "--clients",
        &n.to_string(),
        "--idle-seconds",
        &idle.to_string(),
    ]);
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", me.display()));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether a frame only moves bytes for its caller (the allocator, this binary's counting
/// wrapper, std containers and their growth, clones): sites are named by the first frame
/// above these.
fn plumbing(frame: &str) -> bool {
    const PARTS: [&str; 14] = [
        "__rust_",
        "__rdl_",
        "raw_vec",
        "RawVec",
        "hashbrown",
        "finish_grow",
        "malloc",
        "Clone",
        "to_vec",
        "to_owned",
        "from_iter",
        "collect",
        "extend",
        "spec_",
    ];
    const STARTS: [&str; 9] = [
        "alloc::",
        "core::",
        "bytes::",
        "std::",
        "_RNv",
        "_ZN",
        "0x",
        "_$LT$alloc..",
        "_$LT$core..",
    ];
    PARTS.iter().any(|p| frame.contains(p)) || STARTS.iter().any(|p| frame.starts_with(p))
}

/// The largest allocation sites of a heaptrack recording at its peak, per client: heaptrack's
/// peak stacks (its flame-graph output), each counted for the first frame that is not
/// plumbing.
fn top_sites(recording: &str, clients: u64, count: usize) {
    let stacks = format!("{recording}.stacks");
    let status = Command::new("heaptrack_print")
        .args([
            "-f",
            &format!("{recording}.zst"),
            "--flamegraph-cost-type",
            "peak",
        ])
        .args(["-F", &stacks])
        .stdout(Stdio::null())
        .status();
    let text = match status {
        Ok(s) if s.success() => std::fs::read_to_string(&stacks).unwrap_or_default(),
        _ => return eprintln!("heaptrack_print (from heaptrack) is needed for --heaptrack"),
    };
    let mut sites: std::collections::HashMap<String, u64> = Default::default();
    for line in text.lines() {
        let Some((stack, bytes)) = line.rsplit_once(' ') else {
            continue;
        };
        let bytes: u64 = bytes.parse().unwrap_or(0);
        let site = stack
            .split(';')
            .rev()
            .map(|f| f.split(" (").next().unwrap_or(f))
            .map(|f| f.rsplit_once("::h").map_or(f, |(name, _)| name))
            .find(|f| !f.is_empty() && !plumbing(f))
            .unwrap_or("(unknown)");
        *sites.entry(site.to_string()).or_default() += bytes;
    }
    let mut sites: Vec<_> = sites.into_iter().collect();
    sites.sort_by_key(|s| std::cmp::Reverse(s.1));
    println!("largest allocation sites at the heap's peak (heaptrack), per client:");
    for (site, bytes) in sites.into_iter().take(count) {
        let site: String = site.chars().take(140).collect();
        println!(
            "  {:7.2} KiB  {site}",
            bytes as f64 / 1024.0 / clients as f64
        );
    }
}

fn main() {
    let idle = num("--idle-seconds", 20);
    let heaptrack = args().iter().any(|a| a == "--heaptrack");
    if let (Some(n), false) = (arg("--clients"), heaptrack) {
        run(n.parse::<usize>().unwrap_or(1000).max(2), idle);
        return;
    }
    let sizes: Vec<u64> = match arg("--clients") {
        Some(n) => vec![n.parse().unwrap_or(1000)],
        None => vec![1000, 10_000],
    };
    let mut summary = Vec::new();
    for &n in &sizes {
        let recording = format!("/tmp/ucwa-memory-bench-{}-{n}", std::process::id());
        let out = child(n.max(2), idle, heaptrack.then_some(recording.as_str()));
        print!("{out}");
        summary.extend(
            out.lines()
                .filter(|l| l.starts_with("SUMMARY"))
                .map(String::from),
        );
        if heaptrack {
            top_sites(&recording, n, 25);
        }
    }
    println!("memory benchmark summary (target: <= 40 KiB per client at 10,000, <= 16 threads):");
    for line in summary {
        println!("  {}", line.trim_start_matches("SUMMARY "));
    }
}
