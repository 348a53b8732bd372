//! Contact-presence scale benchmark (issue 13): clients subscribed to many contacts against an
//! in-process ucwa-sim with its real-server defaults (bare contact events, events held up to
//! 5 s and delivered together), while an injector changes contacts' presence through the
//! simulator's control API at a steady rate. It owns the measurement of contact events at
//! scale and prints, per scenario: changes made, events expected and received (an event counts
//! when it names the changed contact with the new availability, after the change), latency
//! p50/p99/max, the requests the simulator saw by kind and per change, and RSS and threads.
//!
//! Scenarios (both by default):
//! - `one`: one client subscribed to 1,000 contacts; every change is one expected event;
//! - `many`: 100 clients each subscribed to 100 of the 1,000 contacts (each contact watched by
//!   10 clients); every change is ten expected events.
//!
//! Run: `cargo run --release --example contacts_scale -- [--scenario one|many|both]
//! [--changes N (1000)] [--rate R (10 a second)]`.
//!
//! The last line is `N passed, N failed` over the invariants that do not depend on machine
//! speed (every change delivered to every watcher; follow-up requests bounded per change); the
//! exit code is non-zero when one fails. Loopback only; bounded in count and time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ucwa::{Availability, Client, Event};
use ucwa_sim::{Sim, SimConfig};

const CONTACTS: usize = 1000;
/// Changes cycle through these, so each change of a contact differs from its previous state
/// (every contact starts Offline).
const CHOICES: [(&str, Availability); 4] = [
    ("Busy", Availability::Busy),
    ("Away", Availability::Away),
    ("Online", Availability::Online),
    ("DoNotDisturb", Availability::DoNotDisturb),
];
/// How long after the last change the benchmark waits for the last events (the simulator holds
/// events up to 5 s).
const SETTLE: Duration = Duration::from_secs(15);

fn contact(i: usize) -> String {
    format!("c{i:04}@contoso.com")
}

fn status_field(name: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct Scenario {
    name: &'static str,
    clients: usize,
    per_client: usize,
}

struct Outcome {
    expected: usize,
    received: usize,
    follow_ups: usize,
    changes: usize,
}

/// The watchers of contact `c`: client i watches contacts i*10 .. i*10 + per_client (mod 1000).
fn watches(s: &Scenario, client: usize, c: usize) -> bool {
    let start = client * CONTACTS / s.clients.max(1);
    (c + CONTACTS - start) % CONTACTS < s.per_client
}

/// Events seen per (client, contact): each availability and when it arrived.
type Seen = HashMap<(usize, String), Vec<(Availability, Instant)>>;
/// Changes made: contact index, availability, when.
type Sent = Arc<Mutex<Vec<(usize, Availability, Instant)>>>;

fn run(s: &Scenario, changes: usize, rate: f64) -> Outcome {
    println!(
        "== scenario {}: {} client(s) x {} contacts, {changes} changes at {rate}/s",
        s.name, s.clients, s.per_client
    );
    let users: Vec<String> = (0..s.clients)
        .map(|i| format!("host{i:03}@contoso.com"))
        .collect();
    let sim = start_sim(&users);
    let rss0 = status_field("VmRSS:");
    let clients = sign_in_and_subscribe(s, &sim, &users);
    let subscribed: usize = clients.iter().map(Client::subscribed_contacts).sum();
    println!(
        "  subscribed: {subscribed} memberships; RSS {rss0} -> {} KiB, threads {}",
        status_field("VmRSS:"),
        threads()
    );
    sim.clear_log();
    let requests0: u64 = clients.iter().map(Client::request_count).sum();

    let sent: Sent = Arc::default();
    let sim = Arc::new(sim);
    let injector = spawn_injector(sim.clone(), sent.clone(), changes, rate);
    let end_of_changes = Instant::now() + Duration::from_secs_f64(changes as f64 / rate);
    let (latest, peak_rss) = drain_events(&clients, end_of_changes + SETTLE);
    injector.join().expect("injector");

    let sent = sent.lock().unwrap().clone();
    let (expected, received, latencies) = score(s, &sent, &latest);
    let requests: u64 = clients.iter().map(Client::request_count).sum::<u64>() - requests0;
    let log = sim.log();
    let follow_ups = log
        .iter()
        .filter(|e| e.route != "events" && !(e.method == "POST" && e.route == "reportMyActivity"))
        .count();
    println!(
        "  events: {received}/{expected} received ({} missed); latency ms p50 {:.0}, p99 {:.0}, max {:.0}",
        expected - received,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "  requests during the run: {requests} ({:.2} per change, {:.3} per delivered event); by kind: {}",
        requests as f64 / changes.max(1) as f64,
        requests as f64 / received.max(1) as f64,
        by_kind(&log)
    );
    println!(
        "  RSS {rss0} KiB before sign-in, peak {peak_rss} KiB, now {} KiB; threads {}",
        status_field("VmRSS:"),
        threads()
    );
    for c in &clients {
        c.close();
    }
    drop(clients);
    if let Ok(sim) = Arc::try_unwrap(sim) {
        sim.stop();
    }
    Outcome {
        expected,
        received,
        follow_ups,
        changes,
    }
}

/// A simulator with the hosts' users and the 1,000 contacts, real-server defaults otherwise.
fn start_sim(users: &[String]) -> Sim {
    let mut config = SimConfig {
        log_limit: 200_000,
        ..SimConfig::default()
    };
    config.users = users
        .iter()
        .map(|u| (u.clone(), "pw".to_owned()))
        .chain((0..CONTACTS).map(|i| (contact(i), "pw".to_owned())))
        .collect();
    Sim::start(config).expect("ucwa-sim starts")
}

/// Signs every host's client in and subscribes it to the contacts it watches.
fn sign_in_and_subscribe(s: &Scenario, sim: &Sim, users: &[String]) -> Vec<Client> {
    users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let c = Client::new(&sim.root_url()).expect("client");
            c.sign_in(u, "pw").expect("sign in");
            let mine: Vec<String> = (0..CONTACTS)
                .filter(|k| watches(s, i, *k))
                .map(contact)
                .collect();
            c.subscribe_presence(&mine).expect("subscribe");
            c
        })
        .collect()
}

/// The injector: change i sets contact i % 1000 to CHOICES[(i / 1000) % 4], at `rate`.
fn spawn_injector(
    sim: Arc<Sim>,
    sent: Sent,
    changes: usize,
    rate: f64,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let start = Instant::now();
        for i in 0..changes {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            if let Some(d) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(d);
            }
            let (wire, a) = CHOICES[(i / CONTACTS) % CHOICES.len()];
            sent.lock().unwrap().push((i % CONTACTS, a, Instant::now()));
            sim.set_presence_elsewhere(&contact(i % CONTACTS), wire, None);
        }
    })
}

/// The hosts: one thread drains every client's events until the deadline; the contact events
/// seen and the peak RSS.
fn drain_events(clients: &[Client], deadline: Instant) -> (Seen, u64) {
    let mut latest: Seen = HashMap::new();
    let mut peak_rss = 0;
    while Instant::now() < deadline {
        let mut any = false;
        for (i, c) in clients.iter().enumerate() {
            while let Ok(Some(e)) = c.next_event(Duration::ZERO) {
                any = true;
                if let Event::ContactPresenceChanged { contact, presence } = e {
                    latest
                        .entry((i, contact))
                        .or_default()
                        .push((presence.availability, Instant::now()));
                }
            }
        }
        peak_rss = peak_rss.max(status_field("VmRSS:"));
        if !any {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    (latest, peak_rss)
}

/// Events expected and received (the changed contact with the new availability, after the
/// change) and the latencies in ms, sorted.
fn score(
    s: &Scenario,
    sent: &[(usize, Availability, Instant)],
    latest: &Seen,
) -> (usize, usize, Vec<f64>) {
    let mut expected = 0;
    let mut received = 0;
    let mut latencies: Vec<f64> = Vec::new();
    for (k, a, at) in sent {
        let name = format!("sip:{}", contact(*k));
        for i in 0..s.clients {
            if !watches(s, i, *k) {
                continue;
            }
            expected += 1;
            let hit = latest
                .get(&(i, name.clone()))
                .and_then(|seen| seen.iter().find(|(got, when)| got == a && when >= at));
            if let Some((_, when)) = hit {
                received += 1;
                latencies.push(when.duration_since(*at).as_secs_f64() * 1000.0);
            }
        }
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    (expected, received, latencies)
}

/// The simulator's log by method and route, most frequent first.
fn by_kind(log: &[ucwa_sim::LogEntry]) -> String {
    let mut by_kind: HashMap<String, usize> = HashMap::new();
    for e in log {
        *by_kind
            .entry(format!("{} {}", e.method, e.route))
            .or_default() += 1;
    }
    let mut kinds: Vec<(String, usize)> = by_kind.into_iter().collect();
    kinds.sort_by_key(|k| std::cmp::Reverse(k.1));
    kinds
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let changes: usize = arg("--changes")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let rate: f64 = arg("--rate").and_then(|v| v.parse().ok()).unwrap_or(10.0);
    let which = arg("--scenario").unwrap_or_else(|| "both".into());
    let scenarios = [
        Scenario {
            name: "one",
            clients: 1,
            per_client: CONTACTS,
        },
        Scenario {
            name: "many",
            clients: 100,
            per_client: 100,
        },
    ];
    let (mut passed, mut failed) = (0, 0);
    let mut check = |ok: bool, what: String| {
        println!("{} {what}", if ok { "PASS" } else { "FAIL" });
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
    };
    for s in scenarios
        .iter()
        .filter(|s| which == "both" || which == s.name)
    {
        let o = run(s, changes, rate);
        check(
            o.received == o.expected,
            format!(
                "{}: every change reached every watcher ({}/{})",
                s.name, o.received, o.expected
            ),
        );
        // A bare event is followed by at most one read, shared by every event of its set
        // (batch): the follow-ups (every request but P-GETs and activity reports) stay at or
        // under one per delivered event.
        check(
            o.follow_ups <= o.expected.max(1),
            format!(
                "{}: follow-up requests bounded ({} for {} changes, {} events)",
                s.name, o.follow_ups, o.changes, o.expected
            ),
        );
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
