//! Fixtures of the command's tests: the simulator in-process, the `ucwa` binary run as a user
//! would (its own runtime directory, so no test meets another's service), and a running
//! `ucwa serve` stopped with SIGTERM when dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use ucwa_sim::{Sim, SimConfig};

pub const ALICE: &str = "alice@contoso.com";
pub const BOB: &str = "bob@contoso.com";
pub const ALICE_PW: &str = "alice-password";
pub const BOB_PW: &str = "bob-password";

pub fn sim() -> Sim {
    Sim::start(SimConfig {
        event_hold_s: 0.0,
        ..Default::default()
    })
    .expect("simulator starts")
}

/// A private directory for one test (its runtime dir, config and password files).
pub fn temp_dir(name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let d = std::env::temp_dir().join(format!("ucwa-cli-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
    d
}

/// The `ucwa` command with a clean environment of its own: no service unless the test starts
/// one in `dir`, the simulator as server, alice as user, her password in `PW`.
pub fn ucwa(dir: &Path, sim: &Sim) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ucwa"));
    c.env_remove("UCWA_SOCKET")
        .env_remove("UCWA_LOG")
        .env_remove("NO_COLOR")
        .env("XDG_RUNTIME_DIR", dir)
        .env("UCWA_SERVER", sim.root_url())
        .env("UCWA_USER", ALICE)
        .env("PW", ALICE_PW)
        .stdin(Stdio::null());
    c
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(c: &mut Command, args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = c.args(args).output().expect("ucwa runs");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Polls `f` every 50 ms until it is true or `limit` passes.
pub fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

/// Writes a private (0600) file.
pub fn private_file(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A running `ucwa serve`; SIGTERM and a wait when dropped.
pub struct Service {
    pub child: Option<Child>,
    pub dir: PathBuf,
    pub stderr_lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// A configuration of alice (account `a`, password in env `PWA`) and bob (account `b`,
/// password in a 0600 file), on `sim`, plus `extra` lines for account a.
pub fn two_accounts_config(dir: &Path, sim: &Sim, extra_a: &str) -> PathBuf {
    let pw = dir.join("bob.pw");
    private_file(&pw, &format!("{BOB_PW}\n"));
    let cfg = dir.join("ucwa.toml");
    let text = format!(
        "log = \"debug\"\n\n[[account]]\nname = \"a\"\nserver = \"{url}\"\nuser = \"{ALICE}\"\n\
         password_env = \"PWA\"\n{extra_a}\n\n[[account]]\nname = \"b\"\nserver = \"{url}\"\n\
         user = \"{BOB}\"\npassword_file = \"{pw}\"\ncontacts = [\"{ALICE}\"]\n",
        url = sim.root_url(),
        pw = pw.display()
    );
    std::fs::write(&cfg, text).unwrap();
    cfg
}

impl Service {
    pub fn start(dir: &Path, sim: &Sim, config: &Path) -> Service {
        let mut child = ucwa(dir, sim)
            .env("PWA", ALICE_PW)
            .args(["serve", "--config"])
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (err, l) = (child.stderr.take().unwrap(), lines.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                l.lock().unwrap().push(line);
            }
        });
        Service {
            child: Some(child),
            dir: dir.to_path_buf(),
            stderr_lines: lines,
        }
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join("ucwa").join("control.sock")
    }

    /// `ucwa status --json` as objects, one per account (empty when it failed).
    pub fn status(&self, sim: &Sim) -> Vec<serde_json::Value> {
        let r = run(&mut ucwa(&self.dir, sim), &["status", "--json"]);
        r.stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits until every account reports `connected`.
    pub fn wait_connected(&self, sim: &Sim, accounts: usize) {
        let ok = wait_for(Duration::from_secs(30), || {
            let s = self.status(sim);
            s.len() == accounts && s.iter().all(|a| a["state"] == "connected")
        });
        assert!(
            ok,
            "accounts not connected: {:?} / {:?}",
            self.status(sim),
            self.stderr()
        );
    }

    pub fn stderr(&self) -> Vec<String> {
        self.stderr_lines.lock().unwrap().clone()
    }

    /// SIGTERM; the exit code and how long the exit took.
    pub fn terminate(&mut self) -> (i32, Duration) {
        let mut child = self.child.take().expect("running");
        let t = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let status = child.wait().unwrap();
        let mut out = String::new();
        let _ = std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out);
        (status.code().unwrap_or(-1), t.elapsed())
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.terminate();
        }
    }
}

/// Sends raw bytes to a control socket and reads one answer line.
pub fn raw_request(socket: &Path, bytes: &[u8]) -> String {
    let mut s = std::os::unix::net::UnixStream::connect(socket).expect("socket connects");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(bytes);
    let mut line = String::new();
    let _ = BufReader::new(&s).read_line(&mut line);
    line
}

/// Whether the tests run as root (then another uid can be taken with setpriv).
pub fn euid_is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}
