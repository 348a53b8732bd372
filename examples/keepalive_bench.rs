//! Benchmark (design §7, issue 4): N clients signed in, made available and kept alive against
//! ucwa-sim in one process. Prints OS threads, resident memory per client beyond the first,
//! idle CPU, and the request cost of a cold start and of a warm presence change.
//!
//! The simulator runs as a separate process so that only the library is measured:
//!   cargo build --release -p ucwa-sim
//!   cargo run --release --example keepalive_bench -- [--clients 1000] [--idle-seconds 20]
//! Bounded in count and time; loopback only.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ucwa::{Availability, Client};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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

/// A client signed in and made available, kept alive with a 30 s activity timer and P-GET.
fn make(url: &str, i: u64) -> Client {
    let c = Client::new(url).unwrap();
    c.set_option("keepalive_interval_s", "30").unwrap();
    c.set_option("event_timeout_s", "30").unwrap();
    c.set_option("timeout_ms", "60000").unwrap();
    c.sign_in(&format!("user{i}@contoso.com"), &format!("pw-{i}"))
        .unwrap();
    c.make_me_available(Availability::Online).unwrap();
    c
}

fn main() {
    let n = arg("--clients", 1000).max(2);
    let idle = arg("--idle-seconds", 20);
    let sim = start_sim(n);
    println!("ucwa keep-alive benchmark: {n} clients against {}", sim.1);

    // The first client pays for the engine, the TLS config and the connection pool.
    let first = make(&sim.1, 0);
    let before = first.request_count();
    first.set_availability(Availability::Busy).unwrap();
    let warm_requests = first.request_count() - before;
    std::thread::sleep(Duration::from_millis(500));
    let rss_one = status_field("VmRSS:");

    let t = Instant::now();
    let clients = Arc::new(std::sync::Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let clients = clients.clone();
            let ids: Vec<u64> = (1..n).filter(|i| i % 8 == w).collect();
            let url = sim.1.clone();
            std::thread::spawn(move || {
                for i in ids {
                    let c = make(&url, i);
                    clients.lock().unwrap().push(c);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let sign_in_time = t.elapsed();
    let cold: u64 = first.request_count();
    std::thread::sleep(Duration::from_secs(2));
    let rss_all = status_field("VmRSS:");
    let threads_busy = status_field("Threads:");

    let cpu0 = cpu_ticks();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(idle));
    let ticks = cpu_ticks() - cpu0;
    let hz = 100.0; // Linux USER_HZ
    let idle_cpu = ticks as f64 / hz / t0.elapsed().as_secs_f64() * 100.0;
    let threads = status_field("Threads:");
    let alive = clients.lock().unwrap().len() + 1;

    println!("clients signed in and kept alive: {alive}");
    println!(
        "sign-in + make available of {} clients: {:.1} s ({:.1} ms each, 8 threads)",
        n - 1,
        sign_in_time.as_secs_f64(),
        sign_in_time.as_secs_f64() * 1000.0 / (n - 1) as f64
    );
    println!("requests sent by client 0 so far, background included: {cold} (the foreground minimum of 8 is asserted by tests/flow.rs against the simulator log)");
    println!("requests for a warm presence change, counted by the client as the call returns: {warm_requests} (the event channel re-parks in the background afterwards)");
    println!("OS threads in this process: {threads} (just after sign-in: {threads_busy})");
    println!(
        "resident memory: {} KiB with 1 client, {} KiB with {alive}",
        rss_one, rss_all
    );
    println!(
        "resident memory per client beyond the first: {:.1} KiB",
        (rss_all.saturating_sub(rss_one)) as f64 / (alive - 1) as f64
    );
    println!("idle CPU over {idle} s: {idle_cpu:.2}% of one core");
    println!("targets (design §7): <= 16 threads; <= 64 KiB per client beyond the first");
    let t = Instant::now();
    drop(clients.lock().unwrap().drain(..).collect::<Vec<_>>());
    drop(first);
    println!(
        "closing {alive} clients (sign out each): {:.1} s",
        t.elapsed().as_secs_f64()
    );
}
