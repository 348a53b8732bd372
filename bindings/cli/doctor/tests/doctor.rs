//! `ucwa-doctor` against ucwa-sim: for many combinations of the server behaviours the doctor
//! can observe, the profile names exactly those options, and the printed command line, started,
//! profiles the same (round trip); every failure class against a simulator or fault that causes
//! it, its message naming cause and fix; what the doctor leaves behind on the server; and no
//! secret in any output or transcript. Simulators run in-process from command lines parsed by
//! `ucwa_sim::cli` (the binary's own parser), combinations in parallel threads.

use std::path::{Path, PathBuf};

use ucwa_sim::Sim;

const ALICE: &str = "alice@contoso.com";
const ALICE_PW: &str = "alice-password";
/// Fast timers, which a run of the doctor cannot observe (listed as not observed). The P-GET
/// hold without `timeout` (`--event-timeout-s`) is observed: combinations give it themselves.
const FAST: [&str; 4] = ["--event-hold-s", "0", "--event-timeout-min-s", "1"];

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ucwa-doctor-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A simulator from a command line (without the program name) plus the fast timers; with
/// `--tls`, its CA written into `dir`.
fn sim(args: &[String], dir: &Path) -> (Sim, Option<PathBuf>) {
    let mut all: Vec<String> = args.to_vec();
    all.extend(FAST.iter().map(|s| s.to_string()));
    let ca = args
        .iter()
        .any(|a| a == "--tls")
        .then(|| dir.join("ca.pem"));
    if let Some(ca) = &ca {
        all.extend(["--ca-out".to_string(), ca.display().to_string()]);
    }
    let config = ucwa_sim::cli::config_from_args(&all).unwrap_or_else(|e| panic!("{all:?}: {e}"));
    (Sim::start(config).expect("ucwa-sim starts"), ca)
}

struct Run {
    code: i32,
    out: String,
    err: String,
}

/// The doctor, in-process, as alice with her password in a file.
fn doctor(sim: &Sim, ca: Option<&Path>, dir: &Path, password: &str, extra: &[&str]) -> Run {
    let pw = dir.join("password");
    std::fs::write(&pw, password).unwrap();
    let mut args: Vec<String> = vec![
        "--server".into(),
        sim.root_url(),
        "--user".into(),
        ALICE.into(),
    ];
    args.extend([
        "--password-file".into(),
        pw.display().to_string(),
        "--max-wait-s".into(),
        "3".into(),
    ]);
    args.extend(["--timeout-s".into(), "5".into()]);
    if let Some(ca) = ca {
        args.extend(["--ca-file".into(), ca.display().to_string()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = ucwa_doctor::run_with(args, &mut out, &mut err);
    Run {
        code,
        out: String::from_utf8(out).unwrap(),
        err: String::from_utf8(err).unwrap(),
    }
}

/// The profile's command line: the last stdout line starting with `ucwa-sim`, without it.
fn profile(out: &str) -> Vec<String> {
    let last = out
        .lines()
        .rfind(|l| l.starts_with("ucwa-sim"))
        .expect("a ucwa-sim line");
    assert_eq!(
        out.trim_end().lines().last(),
        Some(last),
        "the profile is the last line"
    );
    last.split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect()
}

/// Option and value pairs, sorted, for comparing profiles whatever their order.
fn pairs(args: &[String]) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        let v = it.next_if(|n| !n.starts_with("--")).cloned();
        out.push((a.clone(), v));
    }
    out.sort();
    out
}

/// Every form of a secret of the run that must not appear.
fn assert_no_secret(text: &str, what: &str) {
    for leak in [
        ALICE_PW,
        "alice%2Dpassword",
        "cwt=",
        "TlRMTVNT",
        "oYG",
        "Negotiate YII",
        "wrong-password",
    ] {
        assert!(!text.contains(leak), "{leak:?} in {what}:\n{text}");
    }
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// One combination: the simulator's options (what the profile must name), the doctor's extra
/// flags, and the profile expected when it differs from the options (defaults written out).
struct Combo {
    sim: &'static str,
    doctor: &'static [&'static str],
    expect: Option<&'static str>,
}

fn check_combo(i: usize, c: &Combo) -> Result<(), String> {
    let d = dir(&format!("combo{i}"));
    let transcript = d.join("t.jsonl");
    let t = transcript.display().to_string();
    let mut extra: Vec<&str> = c.doctor.to_vec();
    extra.extend(["--transcript", &t]);
    let (s, ca) = sim(&words(c.sim), &d);
    // A note and location of the user's own, which the doctor must put back.
    s.set_note_elsewhere(ALICE, Some("Back at 3"));
    s.set_location_elsewhere(ALICE, Some("Building 7"));
    let before = s.user(ALICE).unwrap();
    let run = doctor(&s, ca.as_deref(), &d, ALICE_PW, &extra);
    let ctx = format!("combo {:?}:\n{}{}", c.sim, run.out, run.err);
    if run.code != 0 {
        return Err(format!("exit {}: {ctx}", run.code));
    }
    let got = profile(&run.out);
    let want = words(c.expect.unwrap_or(c.sim));
    if pairs(&got) != pairs(&want) {
        return Err(format!("profile {got:?}, want {want:?}: {ctx}"));
    }
    let after = s.user(ALICE).unwrap();
    if !after.applications.is_empty()
        || after.note != before.note
        || after.location != before.location
        || after.availability != before.availability
    {
        return Err(format!("left behind: {after:?} (before {before:?}): {ctx}"));
    }
    let written = std::fs::read_to_string(format!("{t}.ucwa-sim")).unwrap_or_default();
    if written.lines().last() != run.out.lines().last() {
        return Err(format!(
            "the profile beside the transcript differs: {written}"
        ));
    }
    let recorded = std::fs::read_to_string(&transcript).unwrap();
    assert_no_secret(&recorded, "the transcript");
    assert_no_secret(&run.out, "stdout");
    assert_no_secret(&run.err, "stderr");
    s.stop();
    // Round trip: the printed command line, started, profiles the same.
    let (s2, ca2) = sim(&got, &d);
    let again = doctor(&s2, ca2.as_deref(), &d, ALICE_PW, c.doctor);
    let round = profile(&again.out);
    s2.stop();
    let _ = std::fs::remove_dir_all(&d);
    if pairs(&round) != pairs(&got) {
        return Err(format!("round trip {round:?} != {got:?}:\n{}", again.out));
    }
    Ok(())
}

#[test]
fn the_profile_names_exactly_the_options_the_simulator_ran_with_and_round_trips() {
    let combos = [
        Combo { sim: "", doctor: &[], expect: None },
        Combo { sim: "--tls --fold-challenges --event-timeout-s 1", doctor: &[], expect: None },
        Combo { sim: "--grants urn:microsoft.rtc:windows", doctor: &["--grant", "windows"], expect: None },
        Combo { sim: "--grants urn:microsoft.rtc:windows,password --windows-auth ntlm --no-gzip", doctor: &[], expect: None },
        Combo { sim: "--bearer-challenge empty-issuers --uniform-content-type --ucwa-version-header", doctor: &[], expect: None },
        Combo { sim: "--bearer-challenge authorization-uri --repost-status 201", doctor: &[], expect: None },
        Combo { sim: "--pool2-user alice@contoso.com --event-timeout-s 1", doctor: &[], expect: None },
        Combo { sim: "--pool2-user alice@contoso.com --foreign-token-status 401 --no-gzip", doctor: &[], expect: None },
        // The P-GET hold without timeout, the empty answer's shape, the NTLM challenge's domain.
        Combo { sim: "--event-timeout-s 1 --empty-events sender-absent --domain FABRIKAM", doctor: &[], expect: None },
        // DOMAIN\user refused in the pool's own domain (named by the NTLM challenge).
        Combo { sim: "--upn-only --event-timeout-s 2", doctor: &[], expect: None },
        // No Windows grant: the domain from --domain, proved by a DOMAIN\user grant.
        Combo { sim: "--grants password --domain FABRIKAM --event-timeout-s 1", doctor: &["--domain", "FABRIKAM"], expect: None },
        // DOMAIN\user refused in a domain only the user named: --upn-only cannot be told from a
        // wrong domain, so it is listed as not observed.
        Combo { sim: "--grants password --upn-only", doctor: &["--domain", "CONTOSO"], expect: Some("--grants password") },
        Combo { sim: "--absolute-hrefs --no-link-revisions --embed-self-events", doctor: &[], expect: None },
        Combo { sim: "--invalid-token-status 403 --fresh-tickets --token-lifetime 600", doctor: &[], expect: None },
        Combo { sim: "--token-lifetime 900 --discovery-redirects 2", doctor: &[], expect: None },
        Combo { sim: "--discovery-redirects 1 --bare-redirects --fold-challenges --uniform-content-type", doctor: &[], expect: None },
        Combo { sim: "--tls --grants urn:microsoft.rtc:windows --windows-auth ntlm,negotiate --invalid-token-status 403 --domain FABRIKAM", doctor: &["--grant", "windows"], expect: None },
        // The Windows grant only: no token of the doctor's own, so the hold is not observed.
        Combo { sim: "--grants urn:microsoft.rtc:windows --windows-auth negotiate --domain FABRIKAM --event-timeout-s 1", doctor: &["--grant", "windows"], expect: Some("--grants urn:microsoft.rtc:windows --windows-auth negotiate --domain FABRIKAM") },
    ];
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = combos
            .iter()
            .enumerate()
            .map(|(i, c)| scope.spawn(move || check_combo(i, c)))
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().unwrap().err())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} combinations failed:\n{}",
        failures.len(),
        combos.len(),
        failures.join("\n\n")
    );
}

/// A run that fails at `step`, naming `cause` and `fix`, with exit status 1 and no secret.
fn assert_fails(run: &Run, step: &str, cause: &str, fix: &str) {
    let all = format!("{}{}", run.out, run.err);
    assert_eq!(run.code, 1, "{all}");
    let fail = run
        .out
        .lines()
        .position(|l| l.starts_with(&format!("[FAIL] {step}")))
        .unwrap_or_else(|| panic!("no [FAIL] {step}:\n{all}"));
    let advice: String = run
        .out
        .lines()
        .skip(fail)
        .take(3)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(advice.contains(cause), "cause {cause:?} not in:\n{advice}");
    assert!(advice.contains(fix), "fix {fix:?} not in:\n{advice}");
    assert_no_secret(&all, "the output");
    assert!(profile(&run.out).len() < 20);
}

#[test]
fn each_failure_class_names_its_cause_and_fix() {
    let d = dir("failures");
    let start = |args: &str| sim(&words(args), &d);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let (s, _) = start("");
            let run = doctor(&s, None, &dir("failures-a"), "wrong-password", &[]);
            assert_fails(&run, "token", "password was refused", "check them");
            assert!(s.user(ALICE).unwrap().applications.is_empty());
        });
        scope.spawn(|| {
            let (s, _) = start("--grants urn:microsoft.rtc:windows");
            let run = doctor(
                &s,
                None,
                &dir("failures-b"),
                ALICE_PW,
                &["--grant", "password"],
            );
            assert_fails(
                &run,
                "grant",
                "does not offer the password grant",
                "use --grant windows",
            );
        });
        scope.spawn(|| {
            let (s, _) = start("--grants password");
            let run = doctor(
                &s,
                None,
                &dir("failures-c"),
                ALICE_PW,
                &["--grant", "windows"],
            );
            assert_fails(
                &run,
                "grant",
                "does not offer the Windows grant",
                "use --grant password",
            );
        });
        scope.spawn(|| {
            let (s, _) = start("--tls");
            let run = doctor(&s, None, &dir("failures-e"), ALICE_PW, &[]);
            assert_fails(&run, "TLS", "internal CA", "pass --ca-file");
            assert!(
                run.out.contains("the CA to export: CN=ucwa-sim test CA"),
                "{}",
                run.out
            );
            assert!(run.out.contains("names: 127.0.0.1"), "{}", run.out);
        });
        scope.spawn(|| {
            // A reverse proxy that holds every P-GET past the wait: nothing comes back.
            let (s, _) = start("");
            s.inject_fault(ucwa_sim::Fault {
                route: Some("events".into()),
                path_contains: None,
                method: None,
                count: 0,
                action: ucwa_sim::FaultAction::Delay { ms: 20_000 },
            });
            let run = doctor(
                &s,
                None,
                &dir("failures-g"),
                ALICE_PW,
                &["--max-wait-s", "2"],
            );
            assert_fails(
                &run,
                "event channel",
                "buffers or cuts long requests",
                "unbuffered",
            );
            assert!(run.out.contains("[ok]   sign-out"), "{}", run.out);
        });
        scope.spawn(|| {
            let (s, _) = start("");
            s.inject_fault(ucwa_sim::Fault {
                route: Some("application".into()),
                path_contains: None,
                method: Some("DELETE".into()),
                count: 0,
                action: ucwa_sim::FaultAction::Respond {
                    status: 500,
                    headers: vec![],
                    body: String::new(),
                },
            });
            let run = doctor(&s, None, &dir("failures-h"), ALICE_PW, &["--quick"]);
            assert_fails(
                &run,
                "sign-out",
                "not deleted",
                "expires on the server by itself",
            );
        });
        scope.spawn(|| {
            let (s, _) = start("--modern-auth");
            let run = doctor(&s, None, &dir("failures-f"), ALICE_PW, &[]);
            assert_fails(
                &run,
                "grant",
                "modern authentication",
                "sign in with tokens",
            );
        });
    });
    for sub in ["", "-a", "-b", "-c", "-e", "-f", "-g", "-h"] {
        let _ = std::fs::remove_dir_all(dir(&format!("failures{sub}")));
    }
}

#[test]
fn an_unresolvable_name_or_a_closed_port_is_named_with_its_fix() {
    let d = dir("unreachable");
    let pw = d.join("pw");
    std::fs::write(&pw, ALICE_PW).unwrap();
    let run = |server: &str| {
        let args = [
            "--server",
            server,
            "--user",
            ALICE,
            "--password-file",
            pw.to_str().unwrap(),
            "--timeout-s",
            "5",
        ];
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = ucwa_doctor::run_with(
            args.iter().map(|s| s.to_string()).collect(),
            &mut out,
            &mut err,
        );
        Run {
            code,
            out: String::from_utf8(out).unwrap(),
            err: String::from_utf8(err).unwrap(),
        }
    };
    // A bare SIP domain: lyncdiscoverinternal.<domain>, then lyncdiscover.<domain>, both tried.
    let dns = run("doctor-test.invalid");
    assert_fails(
        &dns,
        "discovery",
        "does not resolve",
        "lyncdiscover.doctor-test.invalid",
    );
    assert!(
        dns.out.contains("lyncdiscoverinternal.doctor-test.invalid"),
        "{}",
        dns.out
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let refused = run(&format!("http://127.0.0.1:{port}/"));
    assert_fails(
        &refused,
        "discovery",
        "nothing accepts connections",
        "check the port",
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn the_binary_reads_the_password_from_the_environment_and_refuses_bad_usage_with_status_2() {
    let bin = env!("CARGO_BIN_EXE_ucwa-doctor");
    let d = dir("binary");
    let (s, _) = sim(&[], &d);
    let out = std::process::Command::new(bin)
        .args([
            "--server",
            &s.root_url(),
            "--user",
            ALICE,
            "--password-env",
            "DOCTOR_TEST_PW",
            "--quick",
        ])
        .args(["--contact", "sip:bob@contoso.com"])
        .env("DOCTOR_TEST_PW", ALICE_PW)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("[ok]   contact: sip:bob@contoso.com"),
        "{text}"
    );
    assert_no_secret(&text, "the binary's output");
    // Both applications deleted: the library's, and the one the hold probe made.
    let deletes = s
        .log()
        .iter()
        .filter(|e| e.method == "DELETE" && e.route == "application" && e.status == 204)
        .count();
    assert_eq!(deletes, 2, "{text}");
    assert!(s.user(ALICE).unwrap().applications.is_empty());
    // The default pool holds a P-GET without timeout 180 s: past the bound, not observed.
    assert!(
        text.contains("a P-GET without timeout was held longer than 5 s"),
        "{text}"
    );
    let not_seen = text
        .lines()
        .find(|l| l.starts_with("# not observed:"))
        .unwrap();
    assert!(not_seen.contains(" --event-timeout-s"), "{not_seen}");
    assert!(!not_seen.contains("--upn-only") && !not_seen.contains("--domain"));
    // One password grant per other form of the name (sip:, CONTOSO\alice from the NTLM
    // challenge), beside the doctor's own and the library's.
    let passwords = s
        .token_log()
        .iter()
        .filter(|t| t.grant.as_deref() == Some("password"))
        .count();
    assert_eq!(passwords, 4, "{text}");
    assert!(
        text.contains("sip:alice@contoso.com accepted, CONTOSO\\alice accepted"),
        "{text}"
    );
    let help = std::process::Command::new(bin)
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("--password-env VAR"));
    let version = std::process::Command::new(bin)
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(version.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("ucwa-doctor {0} (library ucwa {0})", ucwa::VERSION)
    );
    for bad in [
        vec![],
        vec!["--server", "x", "--user", "u"],
        vec![
            "--server",
            "x",
            "--user",
            "u",
            "--password-env",
            "DOCTOR_TEST_UNSET",
        ],
        vec![
            "--server",
            "x",
            "--user",
            "u",
            "--password-env",
            "V",
            "--grant",
            "kerberos",
        ],
        vec![
            "--server",
            "x",
            "--user",
            "u",
            "--password-env",
            "V",
            "--bogus",
        ],
        vec![
            "--server",
            "x",
            "--user",
            "u",
            "--password-env",
            "V",
            "--max-wait-s",
            "0",
        ],
        vec![
            "--server",
            "x",
            "--user",
            "u",
            "--password-env",
            "V",
            "--transcript",
            "/nonexistent-dir/t",
        ],
        vec![
            "--server",
            "x",
            "--user",
            "u",
            "--password-env",
            "V",
            "--domain",
            "A\\B",
        ],
    ] {
        let o = std::process::Command::new(bin)
            .args(&bad)
            .env_remove("DOCTOR_TEST_UNSET")
            .env("V", "pw")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(o.stdout.is_empty() && !o.stderr.is_empty(), "{bad:?}");
    }
    s.stop();
    let _ = std::fs::remove_dir_all(&d);
}
