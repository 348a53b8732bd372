//! The `ucwa-sim` command line, as other tools start it: the root URL alone on the first stdout
//! line, `--help` listing every option, options reaching the simulator, and a clean exit on
//! SIGTERM and SIGINT.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_ucwa-sim");

/// A running `ucwa-sim` process with its stdout lines arriving on a channel.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ucwa-sim runs");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    fn line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(20))
            .expect("a line on stdout")
    }

    /// Sends a signal with kill(1). The signal tests are Unix-only: Windows has no signal to
    /// send a console process that does not share our console (ucwa-sim stops on Ctrl+C there,
    /// which only its own console can send), and `Drop` stops it with TerminateProcess.
    #[cfg(unix)]
    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits (bounded) for the process to exit and returns whether it exited successfully.
    #[cfg(unix)]
    fn wait_exit(&mut self) -> bool {
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("ucwa-sim did not exit");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(unix)]
#[test]
fn prints_the_root_url_alone_as_its_first_line_then_pool2_and_the_proxy_and_exits_cleanly_on_sigterm(
) {
    let mut sim = Running::start(&[]);
    let url = sim.line();
    let port = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|r| r.strip_suffix('/'))
        .expect("http://127.0.0.1:PORT/");
    assert!(port.parse::<u16>().is_ok(), "{url}");
    assert!(sim.line().starts_with("pool2: http://127.0.0.1:"));
    let proxy = sim.line();
    let r = Http::plain().get(&format!("{url}_sim/proxy"), &[]);
    assert_eq!(
        proxy.strip_prefix("proxy: "),
        r.json()["url"].as_str(),
        "the proxy line names the forward proxy"
    );
    let r = Http::plain().get(&url, &[]);
    assert_eq!(r.status, 200);
    // Default users.
    let token_url = format!("{url}WebTicket/oauthtoken");
    assert_eq!(
        password_token(&Http::plain(), &token_url, ALICE, ALICE_PW).status,
        200
    );
    assert_eq!(
        password_token(&Http::plain(), &token_url, BOB, BOB_PW).status,
        200
    );
    sim.signal("-TERM");
    assert!(sim.wait_exit(), "exit status 0 on SIGTERM");
}

#[cfg(unix)]
#[test]
fn exits_cleanly_on_sigint() {
    let mut sim = Running::start(&["--listen", "127.0.0.1:0"]);
    sim.line();
    sim.signal("-INT");
    assert!(sim.wait_exit());
}

#[test]
fn help_lists_every_option() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for option in [
        "--listen",
        "--user",
        "--tls",
        "--ca-out",
        "--discovery-redirects",
        "--pool2-user",
        "--pool2-apps-user",
        "--foreign-apps-user",
        "--foreign-challenge",
        "--layout",
        "--absolute-hrefs",
        "--strict-paths",
        "--embed-self-events",
        "--empty-events",
        "--bare-redirects",
        "--bearer-challenge",
        "--grants",
        "--windows-auth",
        "--fold-challenges",
        "--invalid-token-status",
        "--no-link-revisions",
        "--subscription-minute-s",
        "--no-gzip",
        "--ucwa-version-header",
        "--uniform-content-type",
        "--repost-status",
        "--fresh-tickets",
        "--upn-only",
        "--domain",
        "--token-lifetime",
        "--foreign-token-status",
        "--inactive-s",
        "--away-s",
        "--app-expiry-s",
        "--expired-status",
        "--event-timeout-s",
        "--event-timeout-min-s",
        "--event-hold-s",
        "--max-apps",
        "--offwork-reads-as",
        "--allowed-origin",
        "--log-limit",
        "--help",
    ] {
        assert!(
            help.contains(option),
            "{option} missing from --help:\n{help}"
        );
    }
}

#[test]
fn options_reach_the_simulator() {
    let ca = std::env::temp_dir().join(format!("ucwa-sim-cli-ca-{}.pem", std::process::id()));
    let sim = Running::start(&[
        "--user",
        "carol@fabrikam.com:carol-pw",
        "--tls",
        "--ca-out",
        ca.to_str().unwrap(),
        "--layout",
        "alt",
        "--discovery-redirects",
        "1",
        "--offwork-reads-as",
        "Online:Off Work",
        "--token-lifetime",
        "0.5",
    ]);
    let url = sim.line();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let pem = std::fs::read_to_string(&ca).expect("CA written before the URL is printed");
    std::fs::remove_file(&ca).ok();
    let http = Http::trusting(&pem);
    let first = http.get(&url, &[]).json();
    assert!(first["_links"]["redirect"].is_object(), "{first}");
    let s = Session::sign_in_with(&http, &url, "carol@fabrikam.com", "carol-pw", "cli");
    assert!(s.app_url.contains("/lync/"), "alt layout: {}", s.app_url);
    let token_url = resolve(&url, &challenge_href(&http.get(&s.app_url, &[])));
    let token = password_token(&http, &token_url, "carol@fabrikam.com", "carol-pw").json();
    assert_eq!(token["expires_in"], 1);
    assert_eq!(
        password_token(&http, &token_url, ALICE, ALICE_PW).status,
        400,
        "default users replaced"
    );
}

#[test]
fn invalid_options_fail_with_a_message() {
    for args in [
        &["--layout", "sideways"][..],
        &["--expired-status", "418"],
        &["--foreign-token-status", "403"],
        &["--foreign-challenge", "mirror"],
        &["--empty-events", "sender-null"],
        &["--repost-status", "202"],
        &["--user", "no-password"],
        &["--inactive-s", "-1"],
        &["--grants", ""],
        &["--grants", "pass word"],
        &["--windows-auth", "kerberos"],
        &["--windows-auth", ""],
        &["--windows-auth", "ntlm,NTLM"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        assert!(out.stdout.is_empty(), "no URL printed for {args:?}");
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn foreign_challenge_reflect_starts_the_foreign_listener_with_pool1s_challenge() {
    let sim = Running::start(&["--foreign-challenge", "reflect"]);
    let url = sim.line();
    sim.line();
    let foreign = sim.line();
    let Some(foreign) = foreign.strip_prefix("foreign: ") else {
        panic!("third line names the foreign listener: {foreign}");
    };
    let r = Http::plain().get(&format!("{foreign}ucwa/oauth/v1/applications"), &[]);
    assert_eq!(challenge_href(&r), format!("{url}WebTicket/oauthtoken"));
}

#[test]
fn grants_and_fold_challenges_reach_the_simulator() {
    let sim = Running::start(&[
        "--grants",
        "urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting",
        "--fold-challenges",
    ]);
    let url = sim.line();
    let http = Http::plain();
    let root = http.get(&url, &[]).json();
    let r = http.get(&href_at(&root, "/_links/user/href"), &[]);
    let lines = r.headers_named("www-authenticate");
    assert_eq!(lines.len(), 1, "folded: {lines:?}");
    assert!(lines[0].starts_with("Bearer "), "{}", lines[0]);
    assert!(
        lines[0]
            .ends_with(",grant_type=\"urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting\""),
        "{}",
        lines[0]
    );
    let token = password_token(&http, &resolve(&url, &challenge_href(&r)), ALICE, ALICE_PW);
    assert_eq!(token.status, 400);
    assert_eq!(token.json()["error"], "unsupported_grant_type");
}

#[test]
fn windows_auth_reaches_the_simulator_case_insensitively() {
    let sim = Running::start(&["--windows-auth", "NTLM"]);
    let url = sim.line();
    let r = Http::plain()
        .send(
            "POST",
            &format!("{url}WebTicket/oauthtoken"),
            &[("Content-Type", FORM)],
            b"grant_type=urn:microsoft.rtc:windows",
        )
        .unwrap();
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.headers_named("www-authenticate"), ["NTLM"]);
}
