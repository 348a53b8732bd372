//! Benchmark: one `ucwa serve` keeping N accounts (default 100) on N simulator users, idle.
//! Prints the service's resident memory, threads, and CPU time over a measured window,
//! extrapolated to CPU seconds per hour of idling (a short run, extrapolated: say so when
//! quoting it). The simulator runs in this process, so its cost is not in the figures.
//!
//!   cargo build --release -p ucwa-cli --example serve_bench
//!   target/release/examples/serve_bench [ACCOUNTS] [SECONDS]
//!
//! `UCWA_BIN` names the `ucwa` binary (default: `../ucwa` beside this example's directory).
//! Linux only (it reads /proc).

#[cfg(target_os = "linux")]
fn main() {
    bench::run();
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("serve_bench reads /proc: Linux only");
}

#[cfg(target_os = "linux")]
mod bench {
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    fn ucwa_bin() -> PathBuf {
        if let Some(p) = std::env::var_os("UCWA_BIN") {
            return p.into();
        }
        let exe = std::env::current_exe().unwrap();
        exe.parent().unwrap().parent().unwrap().join("ucwa")
    }

    /// (VmRSS in KiB, threads, utime+stime in clock ticks) of a process.
    fn sample(pid: u32) -> (u64, u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<u64> = after.split(' ').map(|x| x.parse().unwrap_or(0)).collect();
        (field("VmRSS:"), field("Threads:"), f[11] + f[12])
    }

    fn connected(bin: &PathBuf, sock: &PathBuf, n: usize) -> usize {
        let out = Command::new(bin)
            .args(["status", "--json", "--socket"])
            .arg(sock)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let c = text
            .lines()
            .filter(|l| l.contains("\"state\":\"connected\""))
            .count();
        c.min(n)
    }

    pub fn run() {
        let args: Vec<String> = std::env::args().collect();
        let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100);
        let secs: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(240);
        let users: Vec<(String, String)> = (0..n)
            .map(|i| (format!("user{i}@contoso.com"), format!("pw-{i}")))
            .collect();
        let sim = ucwa_sim::Sim::start(ucwa_sim::SimConfig {
            users: users.clone(),
            ..Default::default()
        })
        .unwrap();
        let dir = std::env::temp_dir().join(format!("ucwa-serve-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let mut cfg = String::from("log = \"warn\"\n");
        for (i, (u, p)) in users.iter().enumerate() {
            let pw = dir.join(format!("{i}.pw"));
            std::fs::write(&pw, p).unwrap();
            std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
            cfg += &format!(
                "[[account]]\nname = \"a{i}\"\nserver = \"{}\"\nuser = \"{u}\"\npassword_file = \"{}\"\n",
                sim.root_url(),
                pw.display()
            );
        }
        let cfg_path = dir.join("ucwa.toml");
        std::fs::write(&cfg_path, cfg).unwrap();
        let sock = dir.join("run").join("control.sock");
        let bin = ucwa_bin();
        let t0 = Instant::now();
        let mut child = Command::new(&bin)
            .args(["serve", "--config"])
            .arg(&cfg_path)
            .env("UCWA_SOCKET", &sock)
            .stderr(Stdio::null())
            .spawn()
            .expect("ucwa serve starts (set UCWA_BIN)");
        while connected(&bin, &sock, n) < n {
            assert!(
                t0.elapsed() < Duration::from_secs(300),
                "accounts not connected in 300 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let up = t0.elapsed();
        std::thread::sleep(Duration::from_secs(5));
        let (rss0, thr0, cpu0) = sample(child.id());
        let w0 = Instant::now();
        std::thread::sleep(Duration::from_secs(secs));
        let (rss1, thr1, cpu1) = sample(child.id());
        let window = w0.elapsed().as_secs_f64();
        let tick = 100.0; // USER_HZ on Linux
        let cpu_s = (cpu1 - cpu0) as f64 / tick;
        let requests = sim.log().len();
        println!(
            "accounts: {n}, all connected after {:.1} s",
            up.as_secs_f64()
        );
        println!(
            "resident memory: {:.1} MiB after sign-in, {:.1} MiB after {window:.0} s idle",
            rss0 as f64 / 1024.0,
            rss1 as f64 / 1024.0
        );
        println!("threads: {thr0} after sign-in, {thr1} after the idle window");
        println!(
            "CPU idle: {cpu_s:.2} s over {window:.0} s = {:.1} s per hour (extrapolated from this {window:.0} s window)",
            cpu_s * 3600.0 / window
        );
        println!("simulator log entries (requests) over the whole run: {requests}");
        let t = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let code = child.wait().unwrap().code();
        let left: usize = sim.users().iter().map(|u| u.applications.len()).sum();
        println!(
            "SIGTERM: exit {code:?} after {:.2} s, applications left on the server: {left}",
            t.elapsed().as_secs_f64()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
