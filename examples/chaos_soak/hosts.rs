//! The hosts: signing every client in, then host threads that each own a share of the clients,
//! act on each now and then (availability mostly, sometimes note or location), retry a failed
//! action a few seconds later as a careful host would, and drain their clients' events.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ucwa::{Availability, Client, ConnectionState, Event};

use crate::world::{Rng, World, CHOICES, EVENT_TIMEOUT_S, KEEPALIVE_S, TIMEOUT_MS};

/// A client signed in and made available, or why not.
type SignIn = Result<Client, String>;

fn make_client(url: &str, i: usize) -> SignIn {
    let c = Client::new(url).map_err(|e| e.to_string())?;
    for (k, v) in [
        ("timeout_ms", TIMEOUT_MS.to_string()),
        ("keepalive_interval_s", KEEPALIVE_S.to_string()),
        ("event_timeout_s", EVENT_TIMEOUT_S.to_string()),
    ] {
        c.set_option(k, &v).map_err(|e| e.to_string())?;
    }
    c.sign_in(&format!("user{i}@contoso.com"), &format!("pw-{i}"))
        .map_err(|e| format!("sign in: {e}"))?;
    c.make_me_available(Availability::Online)
        .map_err(|e| format!("make me available: {e}"))?;
    Ok(c)
}

/// Signs every client in on 8 harness threads; prints how long it took. A failure before any
/// fault ends the run (`0 passed, 1 failed`).
pub(crate) fn sign_in_all(url: &str, n: usize) -> Vec<Client> {
    let t_sign_in = Instant::now();
    let results: Arc<Mutex<Vec<Option<SignIn>>>> =
        Arc::new(Mutex::new((0..n).map(|_| None).collect()));
    let workers: Vec<_> = (0..8.min(n))
        .map(|w| {
            let results = results.clone();
            let url = url.to_owned();
            std::thread::Builder::new()
                .name(format!("soak-signin-{w}"))
                .spawn(move || {
                    for i in (w..n).step_by(8) {
                        let r = make_client(&url, i);
                        results.lock().unwrap()[i] = Some(r);
                    }
                })
                .unwrap()
        })
        .collect();
    for w in workers {
        w.join().expect("sign-in thread");
    }
    let mut clients = Vec::with_capacity(n);
    let mut sign_in_errors = Vec::new();
    for (i, r) in std::mem::take(&mut *results.lock().unwrap())
        .into_iter()
        .enumerate()
    {
        match r {
            Some(Ok(c)) => clients.push(c),
            Some(Err(e)) => sign_in_errors.push(format!("client {i}: {e}")),
            None => sign_in_errors.push(format!("client {i}: no result")),
        }
    }
    if !sign_in_errors.is_empty() {
        println!("sign-in failed before any fault: {sign_in_errors:?}");
        println!("0 passed, 1 failed");
        std::process::exit(1);
    }
    println!(
        "  ({n} clients signed in and made available in {:.1} s)",
        t_sign_in.elapsed().as_secs_f64()
    );
    clients
}

/// Starts 16 host threads (fewer with fewer clients), each owning every 16th client.
pub(crate) fn spawn(world: &Arc<World>, seed: u64, every: (f64, f64)) -> Vec<JoinHandle<()>> {
    let n = world.clients.len();
    (0..16.min(n))
        .map(|h| {
            let world = world.clone();
            let mine: Vec<usize> = (h..n).step_by(16).collect();
            std::thread::Builder::new()
                .name(format!("soak-host-{h}"))
                .spawn(move || host(world, mine, seed.wrapping_mul(1000) + h as u64, every))
                .unwrap()
        })
        .collect()
}

fn count_event(world: &World, e: &Event) {
    let name = match e {
        Event::ConnectionStateChanged { state, .. } => match state {
            ConnectionState::Connected => "Connected",
            ConnectionState::Recovering => "Recovering",
            ConnectionState::Recovered => "Recovered",
            ConnectionState::Lost => "Lost",
        },
        Event::ApplicationRecreated => "ApplicationRecreated",
        Event::SignedOut { .. } => "SignedOut",
        Event::PresenceChanged(_) => "PresenceChanged",
        Event::NoteChanged(_) | Event::LocationChanged(_) => "Note/LocationChanged",
        Event::ContactPresenceChanged { .. }
        | Event::ContactNoteChanged { .. }
        | Event::ContactLocationChanged { .. } => "ContactChanged",
        _ => "other",
    };
    *world.events.lock().unwrap().entry(name).or_default() += 1;
}

/// One host's presence action for its client: mostly availability, sometimes note or location.
#[derive(Clone)]
enum Action {
    Availability(u8),
    Note(String),
    Location(String),
}

fn perform(world: &World, i: usize, a: &Action) -> Result<(), String> {
    let c = &world.clients[i];
    world.host_calls.fetch_add(1, Ordering::Relaxed);
    world.in_call[i].store(true, Ordering::SeqCst);
    let r = match a {
        Action::Availability(k) => {
            // The host's desire is recorded before the call, as a host's intent exists before
            // the server has heard of it.
            world.desired[i].store(*k, Ordering::Relaxed);
            c.set_availability(CHOICES[*k as usize])
        }
        Action::Note(n) => c.set_note(n),
        Action::Location(l) => c.set_location(l),
    };
    world.in_call[i].store(false, Ordering::SeqCst);
    r.map_err(|e| e.to_string())
}

/// A host thread: owns a share of the clients, acts on each now and then, retries a failed
/// action a few seconds later (as a careful host would), and drains its clients' events.
fn host(world: Arc<World>, mine: Vec<usize>, seed: u64, every: (f64, f64)) {
    let mut rng = Rng(seed);
    let mut next: Vec<f64> = mine
        .iter()
        .map(|_| world.now() + rng.range(every.0, every.1))
        .collect();
    let mut retry: Vec<Option<Action>> = vec![None; mine.len()];
    loop {
        let stopping = world.stop_hosts.load(Ordering::Relaxed);
        for (slot, &i) in mine.iter().enumerate() {
            while let Ok(Some(e)) = world.clients[i].next_event(Duration::ZERO) {
                count_event(&world, &e);
            }
            if stopping && retry[slot].is_none() {
                continue;
            }
            let t = world.now();
            if t < next[slot] {
                continue;
            }
            let action = retry[slot].take().unwrap_or_else(|| next_action(&mut rng));
            match perform(&world, i, &action) {
                Ok(()) => next[slot] = world.now() + rng.range(every.0, every.1),
                Err(e) => {
                    record_failure(&world, t, i, &e);
                    retry[slot] = Some(action);
                    next[slot] = world.now() + 3.0;
                }
            }
        }
        if stopping && retry.iter().all(Option::is_none) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A new action: availability 80 % of the time, else note or location.
fn next_action(rng: &mut Rng) -> Action {
    let roll = rng.unit();
    if roll < 0.8 {
        Action::Availability(rng.below(CHOICES.len()) as u8)
    } else if roll < 0.9 {
        Action::Note(format!("soak note {}", rng.below(1000)))
    } else {
        Action::Location(format!("Desk {}", rng.below(100)))
    }
}

/// Counts a failed host call as inside a window (+3 s) or outside, quoting the first few
/// outside ones for the report.
fn record_failure(world: &World, t: f64, i: usize, e: &str) {
    if world.in_window(t, 3.0) || world.in_window(world.now(), 3.0) {
        world
            .host_failures_in_windows
            .fetch_add(1, Ordering::Relaxed);
    } else {
        world
            .host_failures_outside_n
            .fetch_add(1, Ordering::Relaxed);
        let mut f = world.host_failures_outside.lock().unwrap();
        if f.len() < 20 {
            f.push(format!("t={t:.1}s client {i}: {e}"));
        }
    }
}
