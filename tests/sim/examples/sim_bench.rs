//! Load benchmark for ucwa-sim: signs in N applications (one user each), keeps one P-GET parked
//! per application, and for a bounded time drives steady presence/note POSTs over a few
//! kept-alive connections (each POST also releases and re-parks that user's P-GET). Prints
//! requests/s, latency p50/p99, P-GET turnover, and the process's resident memory and threads.
//!
//! Loopback only, bounded in count (`--pgets` ≤ 10000) and time (`--seconds` ≤ 300).
//! Run: `cargo run --release -p ucwa-sim --example sim_bench -- [--pgets 1000] [--seconds 10]`.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use ucwa_sim::{Sim, SimConfig};

/// One kept-alive HTTP/1.1 connection with just enough parsing for the simulator's answers
/// (they always carry Content-Length).
struct Conn {
    stream: TcpStream,
    host: String,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: std::net::SocketAddr) -> io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            host: addr.to_string(),
            buf: Vec::new(),
        })
    }

    async fn request(
        &mut self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> io::Result<(u16, Vec<u8>)> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\nContent-Length: {}\r\n",
            self.host,
            body.len()
        );
        if let Some(a) = auth {
            head.push_str(&format!("Authorization: {a}\r\n"));
        }
        if let Some(ct) = content_type {
            head.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(body);
        self.stream.write_all(&out).await?;

        self.buf.clear();
        let mut chunk = [0u8; 2048];
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed"));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let len = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        while self.buf.len() < head_end + len {
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed"));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        Ok((status, self.buf[head_end..head_end + len].to_vec()))
    }
}

/// What the benchmark needs of one signed-in, available application.
struct App {
    auth: String,
    events: String,
    presence: String,
    note: String,
}

fn path_of(href: &str) -> String {
    match href.find("://") {
        Some(i) => href[i + 3..]
            .find('/')
            .map_or("/".to_owned(), |p| href[i + 3 + p..].to_owned()),
        None => href.to_owned(),
    }
}

fn link(v: &Value, pointer: &str) -> io::Result<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(path_of)
        .ok_or_else(|| io::Error::other(format!("no {pointer}")))
}

async fn sign_in(addr: std::net::SocketAddr, i: usize) -> io::Result<App> {
    let mut c = Conn::open(addr).await?;
    let form = format!("grant_type=password&username=user{i}%40contoso.com&password=pw{i}");
    let (status, body) = c
        .request(
            "POST",
            "/WebTicket/oauthtoken",
            None,
            Some("application/x-www-form-urlencoded"),
            form.as_bytes(),
        )
        .await?;
    if status != 200 {
        return Err(io::Error::other(format!("token: {status}")));
    }
    let token: Value = serde_json::from_slice(&body)?;
    let auth = format!("Bearer {}", token["access_token"].as_str().unwrap_or(""));
    let create =
        json!({"UserAgent": "sim_bench", "EndpointId": format!("bench-{i}"), "Culture": "en-US"});
    let (_, body) = c
        .request(
            "POST",
            "/ucwa/oauth/v1/applications",
            Some(&auth),
            Some("application/json"),
            create.to_string().as_bytes(),
        )
        .await?;
    let app: Value = serde_json::from_slice(&body)?;
    let mma = link(&app, "/_embedded/me/_links/makeMeAvailable/href")?;
    let self_href = link(&app, "/_links/self/href")?;
    c.request(
        "POST",
        &mma,
        Some(&auth),
        Some("application/json"),
        br#"{"SupportedModalities":["Messaging"]}"#,
    )
    .await?;
    let (_, body) = c.request("GET", &self_href, Some(&auth), None, b"").await?;
    let app: Value = serde_json::from_slice(&body)?;
    Ok(App {
        events: link(&app, "/_links/events/href")?,
        presence: link(&app, "/_embedded/me/_links/presence/href")?,
        note: link(&app, "/_embedded/me/_links/note/href")?,
        auth,
    })
}

/// Keeps one P-GET parked for `app` until `stop`, counting the answers.
async fn park(
    addr: std::net::SocketAddr,
    auth: String,
    mut url: String,
    stop: Arc<AtomicBool>,
    releases: Arc<AtomicU64>,
) {
    let Ok(mut c) = Conn::open(addr).await else {
        return;
    };
    while !stop.load(Ordering::Relaxed) {
        let Ok((status, body)) = c.request("GET", &url, Some(&auth), None, b"").await else {
            return;
        };
        if status != 200 {
            return;
        }
        releases.fetch_add(1, Ordering::Relaxed);
        let Ok(v) = serde_json::from_slice::<Value>(&body) else {
            return;
        };
        match link(&v, "/_links/next/href").or_else(|_| link(&v, "/_links/resync/href")) {
            Ok(next) => url = next,
            Err(_) => return,
        }
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn proc_status(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .map(|l| l[field.len()..].trim().to_owned())
        })
        .unwrap_or_else(|| "n/a".to_owned())
}

fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("sim_bench [--pgets N (1000, ≤10000)] [--seconds S (10, ≤300)] [--connections C (16, ≤256)]");
        return Ok(());
    }
    let mut pgets = arg(&args, "--pgets", 1000).clamp(1, 10_000) as usize;
    let seconds = arg(&args, "--seconds", 10).clamp(1, 300);
    let connections = arg(&args, "--connections", 16).clamp(1, 256) as usize;
    // Each parked P-GET holds two sockets in this process (client and server side).
    if let Some(limit) = open_files_limit() {
        let fit = (limit.saturating_sub(100 + 2 * connections as u64) / 2) as usize;
        if fit < pgets {
            eprintln!("open-files limit {limit} allows {fit} parked P-GETs; reducing from {pgets}");
            pgets = fit.max(1);
        }
    }

    let rss_before = proc_status("VmRSS:");
    let users = (0..pgets)
        .map(|i| (format!("user{i}@contoso.com"), format!("pw{i}")))
        .collect();
    let sim = Sim::start(SimConfig {
        users,
        event_hold_s: 0.0,
        ..SimConfig::default()
    })?;
    let addr = sim.addr();
    let rss_started = proc_status("VmRSS:");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;

    let t_sign_in = Instant::now();
    let apps: Vec<App> = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        let workers = 16;
        for w in 0..workers {
            set.spawn(async move {
                let mut mine = Vec::new();
                for i in (w..pgets).step_by(workers) {
                    mine.push((i, sign_in(addr, i).await));
                }
                mine
            });
        }
        let mut all = Vec::new();
        while let Some(r) = set.join_next().await {
            all.extend(r.map_err(io::Error::other)?);
        }
        all.sort_by_key(|(i, _)| *i);
        all.into_iter()
            .map(|(_, a)| a)
            .collect::<io::Result<Vec<App>>>()
    })?;
    let sign_in_s = t_sign_in.elapsed().as_secs_f64();
    sim.clear_log();
    let rss_signed_in = proc_status("VmRSS:");

    let stop = Arc::new(AtomicBool::new(false));
    let releases = Arc::new(AtomicU64::new(0));
    for app in &apps {
        rt.spawn(park(
            addr,
            app.auth.clone(),
            app.events.clone(),
            stop.clone(),
            releases.clone(),
        ));
    }
    let parked = |sim: &Sim| -> u64 {
        sim.users()
            .iter()
            .flat_map(|u| u.applications.iter())
            .map(|a| u64::from(a.parked_pgets))
            .sum()
    };
    let wait_end = Instant::now() + Duration::from_secs(60);
    while parked(&sim) < pgets as u64 && Instant::now() < wait_end {
        std::thread::sleep(Duration::from_millis(50));
    }
    let parked_at_start = parked(&sim);
    let rss_parked = proc_status("VmRSS:");
    let releases_at_start = releases.load(Ordering::Relaxed);

    let apps = Arc::new(apps);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let t_traffic = Instant::now();
    let (latencies, errors) = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for w in 0..connections {
            let apps = apps.clone();
            set.spawn(async move {
                let mut lat = Vec::new();
                let mut errors = 0u64;
                let Ok(mut c) = Conn::open(addr).await else {
                    return (lat, 1);
                };
                let availabilities = ["Busy", "Online", "BeRightBack", "DoNotDisturb", "Away"];
                let mut n = w;
                while Instant::now() < deadline {
                    let app = &apps[n % apps.len()];
                    let (path, body) = if n % 2 == 0 {
                        (
                            &app.presence,
                            json!({"availability": availabilities[n % availabilities.len()]}),
                        )
                    } else {
                        (&app.note, json!({"message": format!("bench {n}")}))
                    };
                    let t = Instant::now();
                    match c
                        .request(
                            "POST",
                            path,
                            Some(&app.auth),
                            Some("application/json"),
                            body.to_string().as_bytes(),
                        )
                        .await
                    {
                        Ok((204, _)) => lat.push(t.elapsed().as_micros() as u64),
                        Ok(_) => errors += 1,
                        Err(_) => {
                            errors += 1;
                            match Conn::open(addr).await {
                                Ok(fresh) => c = fresh,
                                Err(_) => break,
                            }
                        }
                    }
                    n += connections;
                }
                (lat, errors)
            });
        }
        let mut lat = Vec::new();
        let mut errors = 0;
        while let Some(Ok((l, e))) = set.join_next().await {
            lat.extend(l);
            errors += e;
        }
        (lat, errors)
    });
    let traffic_s = t_traffic.elapsed().as_secs_f64();
    // Let the P-GETs released by the last POSTs re-park before counting.
    std::thread::sleep(Duration::from_millis(300));
    let parked_at_end = parked(&sim);
    let pget_releases = releases.load(Ordering::Relaxed) - releases_at_start;
    let rss_end = proc_status("VmRSS:");
    let hwm = proc_status("VmHWM:");
    let threads = proc_status("Threads:");
    stop.store(true, Ordering::Relaxed);

    let mut sorted = latencies;
    sorted.sort_unstable();
    println!("ucwa-sim benchmark (loopback, one process: simulator + load generator)");
    println!("  applications signed in     {pgets} in {sign_in_s:.2} s");
    println!("  parked P-GETs              {parked_at_start} at start, {parked_at_end} at end");
    println!("  traffic connections        {connections} (kept alive), {traffic_s:.1} s");
    println!(
        "  presence/note POSTs        {} ok, {errors} errors",
        sorted.len()
    );
    println!(
        "  requests/s                 {:.0}",
        sorted.len() as f64 / traffic_s
    );
    println!(
        "  P-GET releases (re-parked) {pget_releases} ({:.0}/s)",
        pget_releases as f64 / traffic_s
    );
    println!(
        "  latency p50 / p99 / max    {:.2} / {:.2} / {:.2} ms",
        percentile(&sorted, 0.50) as f64 / 1000.0,
        percentile(&sorted, 0.99) as f64 / 1000.0,
        sorted.last().copied().unwrap_or(0) as f64 / 1000.0
    );
    println!("  VmRSS before start         {rss_before}");
    println!("  VmRSS simulator started    {rss_started}");
    println!("  VmRSS applications ready   {rss_signed_in}");
    println!("  VmRSS with P-GETs parked   {rss_parked}");
    println!("  VmRSS after traffic        {rss_end} (peak {hwm})");
    println!("  threads (process)          {threads} (simulator: 1 + 2 workers; load generator: main + 2 workers)");
    drop(rt);
    sim.stop();
    Ok(())
}
