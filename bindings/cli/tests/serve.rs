//! `ucwa serve` with two accounts on two simulator users: one-shot commands through the control
//! socket change what the simulator stores, `status` reports both, an application deleted
//! server-side is recovered, SIGTERM deletes both applications, the socket refuses another user
//! and malformed requests, and no password reaches any output or log.
// Unix only: the suite drives the control socket, file modes and signals.
#![cfg(unix)]

mod common;

use std::time::Duration;

use common::*;

fn made_available(sim: &Sim, user: &str) -> bool {
    sim.user(user)
        .is_some_and(|u| u.applications.iter().any(|a| a.made_available))
}

#[test]
fn serve_keeps_two_accounts_and_one_shot_commands_go_through_the_socket() {
    let sim = sim();
    let dir = temp_dir("serve-two");
    let cfg = two_accounts_config(
        &dir,
        &sim,
        "availability = \"Busy\"\nnote = \"from config\"",
    );
    let svc = Service::start(&dir, &sim, &cfg);
    svc.wait_connected(&sim, 2);
    assert_eq!(
        sim.user(ALICE).unwrap().availability,
        "Busy",
        "desired presence applied"
    );
    assert_eq!(
        sim.user(ALICE).unwrap().note.as_deref(),
        Some("from config")
    );
    assert!(made_available(&sim, BOB));
    // Several accounts: a command must name one.
    let r = run(&mut ucwa(&dir, &sim), &["presence", "set", "Away"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--account (a, b)"), "{}", r.stderr);
    let apps_before = sim.user(BOB).unwrap().applications.len();
    let r = run(
        &mut ucwa(&dir, &sim),
        &["presence", "set", "Away", "--account", "b"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stderr.contains("lasts only"),
        "went to the service: {}",
        r.stderr
    );
    assert_eq!(sim.user(BOB).unwrap().availability, "Away");
    assert_eq!(
        sim.user(BOB).unwrap().applications.len(),
        apps_before,
        "no new sign-in"
    );
    let r = run(
        &mut ucwa(&dir, &sim),
        &["note", "set", "Lunch", "--account", "a"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(sim.user(ALICE).unwrap().note.as_deref(), Some("Lunch"));
    let r = run(&mut ucwa(&dir, &sim), &["note", "get", "--account", "a"]);
    assert_eq!(r.stdout.trim(), "Lunch");
    // The service stays: presence outlives the command.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sim.user(BOB).unwrap().availability, "Away");
    let s = svc.status(&sim);
    assert_eq!(s.len(), 2);
    assert_eq!(
        (&s[0]["account"], &s[0]["user"]),
        (&"a".into(), &ALICE.into())
    );
    assert_eq!(s[1]["availability"], "Away");
    let text = run(&mut ucwa(&dir, &sim), &["status"]);
    assert!(
        text.stdout.contains("a (alice@contoso.com)")
            && text.stdout.contains("b (bob@contoso.com)")
    );
    assert!(
        !text.stdout.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
}

#[test]
fn an_application_deleted_server_side_is_recovered_by_the_service() {
    let sim = sim();
    let dir = temp_dir("serve-recover");
    let cfg = two_accounts_config(&dir, &sim, "availability = \"DoNotDisturb\"");
    let svc = Service::start(&dir, &sim, &cfg);
    svc.wait_connected(&sim, 2);
    let old: Vec<String> = sim
        .user(ALICE)
        .unwrap()
        .applications
        .iter()
        .map(|a| a.id.clone())
        .collect();
    sim.delete_applications(ALICE);
    let recovered = wait_for(Duration::from_secs(30), || {
        sim.user(ALICE).is_some_and(|u| {
            u.applications
                .iter()
                .any(|a| a.made_available && !old.contains(&a.id))
                && u.availability == "DoNotDisturb"
        })
    });
    assert!(
        recovered,
        "alice back with a new application: {:?}",
        sim.user(ALICE)
    );
    let ok = wait_for(Duration::from_secs(10), || {
        svc.status(&sim).first().is_some_and(|a| {
            a["applications_recreated"].as_u64() >= Some(1)
                && ["connected", "recovered"].contains(&a["state"].as_str().unwrap_or(""))
        })
    });
    assert!(ok, "status tells the recovery: {:?}", svc.status(&sim));
}

#[test]
fn sigterm_signs_both_accounts_out_and_exits_0() {
    let sim = sim();
    let dir = temp_dir("serve-term");
    let cfg = two_accounts_config(&dir, &sim, "");
    let mut svc = Service::start(&dir, &sim, &cfg);
    svc.wait_connected(&sim, 2);
    assert!(made_available(&sim, ALICE) && made_available(&sim, BOB));
    let (code, took) = svc.terminate();
    assert_eq!(code, 0, "{:?}", svc.stderr());
    assert!(took < Duration::from_secs(15), "bounded: {took:?}");
    for user in [ALICE, BOB] {
        assert!(
            sim.user(user).unwrap().applications.is_empty(),
            "{user}'s application deleted"
        );
        assert!(sim.log().iter().any(|e| e.method == "DELETE"
            && e.route == "application"
            && e.user.as_deref() == Some(user)));
    }
    assert!(!svc.socket().exists(), "the socket file is removed");
}

#[test]
fn malformed_and_oversized_requests_get_clear_errors_and_the_service_goes_on() {
    let sim = sim();
    let dir = temp_dir("serve-malformed");
    let cfg = two_accounts_config(&dir, &sim, "");
    let svc = Service::start(&dir, &sim, &cfg);
    svc.wait_connected(&sim, 2);
    let sock = svc.socket();
    let a = raw_request(&sock, b"{this is not json\n");
    assert!(
        a.contains("\"ok\":false") && a.contains("malformed request"),
        "{a}"
    );
    let a = raw_request(&sock, b"{\"op\":\"shutdown\"}\n");
    assert!(
        a.contains("malformed request") && a.contains("unknown variant"),
        "{a}"
    );
    let a = raw_request(
        &sock,
        b"{\"op\":\"presence.set\",\"account\":\"zz\",\"availability\":\"Busy\"}\n",
    );
    assert!(a.contains("no account \\\"zz\\\""), "{a}");
    let mut big = vec![b'x'; 100 * 1024];
    big.push(b'\n');
    let a = raw_request(&sock, &big);
    assert!(a.contains("larger than 65536 bytes"), "{a}");
    // A client that connects and says nothing does not block anyone else.
    let _idle = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    let s = svc.status(&sim);
    assert_eq!(s.len(), 2, "the service still answers");
    let r = run(
        &mut ucwa(&dir, &sim),
        &["presence", "set", "brb", "--account", "a"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(sim.user(ALICE).unwrap().availability, "BeRightBack");
}

#[test]
fn the_control_socket_is_private_and_refuses_another_user() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let sim = sim();
    let dir = temp_dir("serve-peer");
    let cfg = two_accounts_config(&dir, &sim, "");
    let svc = Service::start(&dir, &sim, &cfg);
    svc.wait_connected(&sim, 2);
    let sock = svc.socket();
    assert_eq!(std::fs::metadata(&sock).unwrap().mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(sock.parent().unwrap()).unwrap().mode() & 0o777,
        0o700
    );
    if crate::common::euid_is_root() {
        // Open the modes wide so only the SO_PEERCRED check stands between nobody and the service.
        for p in [&dir, &sock.parent().unwrap().to_path_buf(), &sock] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        let out = std::process::Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                env!("CARGO_BIN_EXE_ucwa"),
            ])
            .args(["presence", "set", "Away", "--socket"])
            .arg(&sock)
            .env("UCWA_SERVER", sim.root_url())
            .output()
            .expect("setpriv runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("takes requests from that user only"),
            "{stderr}"
        );
        assert_ne!(sim.user(ALICE).unwrap().availability, "Away");
        assert_ne!(sim.user(BOB).unwrap().availability, "Away");
    }
}

#[test]
fn no_password_reaches_the_services_output_or_log() {
    let sim = sim();
    let dir = temp_dir("serve-nopw");
    let cfg = two_accounts_config(&dir, &sim, "");
    let mut svc = Service::start(&dir, &sim, &cfg);
    svc.wait_connected(&sim, 2);
    sim.delete_applications(BOB);
    std::thread::sleep(Duration::from_millis(500));
    let status = run(&mut ucwa(&dir, &sim), &["status", "--json"]);
    svc.terminate();
    let all = format!("{}\n{}", svc.stderr().join("\n"), status.stdout);
    assert!(!all.contains(ALICE_PW) && !all.contains(BOB_PW), "{all}");
}

#[test]
fn a_bad_configuration_is_refused_whole_with_each_problem_named() {
    let sim = sim();
    let dir = temp_dir("serve-badcfg");
    let cfg = dir.join("bad.toml");
    std::fs::write(
        &cfg,
        "[[account]]\nname = \"a\"\nserver = \"x\"\nuser = \"u\"\navailability = \"Idle\"\n",
    )
    .unwrap();
    let r = run(
        &mut ucwa(&dir, &sim),
        &["serve", "--config", cfg.to_str().unwrap()],
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("key availability") && r.stderr.contains("exactly one of password_env"),
        "{}",
        r.stderr
    );
    std::fs::write(&cfg, "[[account]]\nname = \"a\"\nservr = \"x\"\n").unwrap();
    let r = run(
        &mut ucwa(&dir, &sim),
        &["serve", "--config", cfg.to_str().unwrap()],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("line 3") && r.stderr.contains("servr"),
        "{}",
        r.stderr
    );
    let good = two_accounts_config(&dir, &sim, "");
    let r = run(
        &mut ucwa(&dir, &sim),
        &["serve", "--check", "--config", good.to_str().unwrap()],
    );
    assert_eq!(
        (r.code, r.stdout.contains("2 account(s), ok")),
        (0, true),
        "{}",
        r.stderr
    );
    assert!(sim.log().is_empty(), "--check sends nothing");
}

#[test]
fn status_wait_returns_once_every_account_is_connected_and_made_available() {
    let sim = sim();
    let dir = temp_dir("serve-wait");
    let cfg = two_accounts_config(&dir, &sim, "");
    // Asked at once, before the service has even bound its socket: --wait rides that out.
    let svc = Service::start(&dir, &sim, &cfg);
    let r = run(&mut ucwa(&dir, &sim), &["status", "--wait", "30", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{}", r.stdout);
    assert!(rows.iter().all(|a| a["state"] == "connected"), "{rows:?}");
    // What it waited for is true on the server: both users made available.
    assert!(made_available(&sim, ALICE) && made_available(&sim, BOB));
    drop(svc);
}

#[test]
fn status_wait_without_a_service_gives_up_after_its_time_with_exit_1() {
    let sim = sim();
    let dir = temp_dir("serve-nowait");
    let started = std::time::Instant::now();
    let r = run(&mut ucwa(&dir, &sim), &["status", "--wait", "1"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("no ucwa service is running"),
        "{}",
        r.stderr
    );
    assert!(started.elapsed() >= Duration::from_secs(1), "it waited");
    let r = run(&mut ucwa(&dir, &sim), &["status", "--wait", "0"]);
    assert_eq!(r.code, 2, "0 s is a usage error: {}", r.stderr);
}

#[test]
fn source_set_and_clear_through_the_service_decide_presence_and_status_names_the_source() {
    let sim = sim();
    let dir = temp_dir("serve-sources");
    let cfg = two_accounts_config(&dir, &sim, "");
    let svc = Service::start(&dir, &sim, &cfg);
    svc.wait_connected(&sim, 2);
    let args = [
        "source",
        "set",
        "phone",
        "Busy",
        "--note",
        "On a call",
        "--for",
        "2h",
        "--account",
        "a",
    ];
    let r = run(&mut ucwa(&dir, &sim), &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stderr.contains("lasts only"),
        "went to the service: {}",
        r.stderr
    );
    let busy = wait_for(Duration::from_secs(10), || {
        sim.user(ALICE)
            .is_some_and(|u| u.availability == "Busy" && u.note.as_deref() == Some("On a call"))
    });
    assert!(
        busy,
        "the simulator stores the source's presence: {:?}",
        sim.user(ALICE)
    );
    let s = svc.status(&sim);
    assert_eq!(s[0]["effective"]["availability"], "Busy");
    assert_eq!(s[0]["effective"]["source"], "phone");
    assert_eq!(s[0]["effective"]["decided_by"], "source phone");
    let secs = s[0]["effective"]["sources"][0]["expires_in_s"]
        .as_u64()
        .unwrap();
    assert!((7000..=7200).contains(&secs), "{secs}");
    assert_eq!(
        s[1]["effective"]["decided_by"], "nobody",
        "bob has no source"
    );
    let text = run(&mut ucwa(&dir, &sim), &["status"]);
    assert!(
        text.stdout.contains("decided by:   source phone"),
        "{}",
        text.stdout
    );
    let r = run(
        &mut ucwa(&dir, &sim),
        &["source", "clear", "phone", "--account", "a"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let back = wait_for(Duration::from_secs(10), || {
        sim.user(ALICE)
            .is_some_and(|u| u.availability != "Busy" && u.note.as_deref() != Some("On a call"))
    });
    assert!(back, "the earlier state is restored: {:?}", sim.user(ALICE));
    assert_eq!(svc.status(&sim)[0]["effective"]["decided_by"], "nobody");
}

#[test]
fn the_persons_own_choice_decides_over_a_source_until_reset() {
    let sim = sim();
    let dir = temp_dir("serve-preferred");
    let cfg = two_accounts_config(
        &dir,
        &sim,
        "[account.sources.calendar]\navailability = \"Busy\"\nfor = \"1h\"",
    );
    let svc = Service::start(&dir, &sim, &cfg);
    svc.wait_connected(&sim, 2);
    assert!(wait_for(Duration::from_secs(10), || sim
        .user(ALICE)
        .unwrap()
        .availability
        == "Busy"));
    let r = run(
        &mut ucwa(&dir, &sim),
        &["presence", "set", "Away", "--for", "30m", "--account", "a"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(wait_for(Duration::from_secs(10), || sim
        .user(ALICE)
        .unwrap()
        .availability
        == "Away"));
    assert_eq!(svc.status(&sim)[0]["effective"]["decided_by"], "preferred");
    let r = run(
        &mut ucwa(&dir, &sim),
        &["presence", "reset", "--account", "a"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(wait_for(Duration::from_secs(10), || sim
        .user(ALICE)
        .unwrap()
        .availability
        == "Busy"));
    assert_eq!(
        svc.status(&sim)[0]["effective"]["decided_by"],
        "source calendar"
    );
}

/// Runs `ucwa ARGS` under a pseudo-terminal (util-linux `script`), so stdout and stderr are a
/// terminal; everything it wrote, both streams together.
fn on_a_terminal(dir: &std::path::Path, sim: &Sim, args: &str, no_color: bool) -> String {
    let cmd = format!("{} {args}", env!("CARGO_BIN_EXE_ucwa"));
    let mut c = std::process::Command::new("script");
    c.args(["-qec", &cmd, "/dev/null"])
        .env_remove("UCWA_SOCKET")
        .env_remove("NO_COLOR")
        .env("XDG_RUNTIME_DIR", dir)
        .env("UCWA_SERVER", sim.root_url())
        .env("UCWA_USER", ALICE)
        .env("PW", ALICE_PW);
    if no_color {
        c.env("NO_COLOR", "1");
    }
    let out = c.output().expect("script runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn colour_and_the_progress_line_only_on_a_terminal_and_never_with_no_color() {
    let sim = sim();
    let dir = temp_dir("serve-tty");
    let cfg = two_accounts_config(&dir, &sim, "");
    let svc = Service::start(&dir, &sim, &cfg);
    svc.wait_connected(&sim, 2);
    let coloured = on_a_terminal(&dir, &sim, "status", false);
    assert!(coloured.contains("\x1b[32mconnected"), "{coloured:?}");
    let plain = on_a_terminal(&dir, &sim, "status", true);
    assert!(
        plain.contains("connected") && !plain.contains('\x1b'),
        "{plain:?}"
    );
    // A direct sign-in shows its steps on a terminal (and, as other tests check, not on a pipe).
    let direct = on_a_terminal(&dir, &sim, "presence get --direct --password-env PW", false);
    assert!(
        direct.contains("signing in as alice@contoso.com"),
        "{direct:?}"
    );
}
