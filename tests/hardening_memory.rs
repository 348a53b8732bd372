//! The body cap bounds memory, not just the answer: reading hostile 300 MiB bodies (declared,
//! chunked without end, in the foreground and on the event channel) raises this process's peak
//! resident memory by no more than the cap plus a small constant, and one event-channel answer
//! at the cap raises the heap's peak by a small multiple of its size (counted by this binary's
//! allocator). Alone in its own test binary, because both measures are process-wide; the tests
//! take turns. Linux only: it reads /proc/self/status.
#![cfg(target_os = "linux")]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use common::*;
use ucwa::{Availability, Event, Status};
use ucwa_sim::FaultAction;

/// Counts the bytes the library's engine threads (`ucwa-engine`, where the event channel
/// reads and handles its answers) hold on the heap, and their high-water mark, so a test can
/// see what one answer costs the client, apart from the simulator serving it in the same
/// process. Frees on an engine thread of blocks allocated elsewhere count too, so the figure
/// can only err upwards when engine blocks are freed by another thread (the host's events).
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// Whether this thread is an engine thread: 0 not yet known, 1 being found out (an
    /// allocation made while asking is not counted), 2 yes, 3 no.
    static ENGINE: Cell<u8> = const { Cell::new(0) };
}

fn on_engine() -> bool {
    ENGINE
        .try_with(|kind| match kind.get() {
            0 => {
                kind.set(1);
                let engine = std::thread::current()
                    .name()
                    .is_some_and(|n| n.starts_with("ucwa-engine"));
                kind.set(if engine { 2 } else { 3 });
                engine
            }
            known => known == 2,
        })
        .unwrap_or(false)
}

fn count(grown: usize, freed: usize) {
    if on_engine() {
        let now = LIVE.fetch_add(grown as isize - freed as isize, Ordering::Relaxed);
        PEAK.fetch_max(now + grown as isize, Ordering::Relaxed);
    }
}

// SAFETY: every call is passed to the system allocator unchanged; only counters are updated
// around it, and counting never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is the system allocator's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size(), 0);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size(), 0);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, which is the system allocator.
        unsafe { System.dealloc(ptr, layout) };
        count(0, layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; the old block stays valid when this fails.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Counted as a move (both blocks held for a moment), the worst case.
            count(new_size, layout.size());
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One test at a time: each measures the whole process.
fn alone() -> std::sync::MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|p| p.into_inner())
}

/// This process's peak resident set (VmHWM), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[test]
fn hostile_300_mib_bodies_raise_peak_memory_by_at_most_the_cap_plus_a_constant() {
    let _alone = alone();
    const CAP: u64 = 4 * 1024 * 1024;
    const SLACK: u64 = 24 * 1024 * 1024;
    let sim = start(fast_config());
    let c = available(&sim);
    c.set_availability(Availability::Busy).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let before = peak_rss();

    sim.inject_fault(fault("presence", 1, FaultAction::Endless { status: 200 }));
    let e = c.presence().unwrap_err();
    assert_eq!(e.status(), Status::Protocol, "{e}");
    sim.inject_fault(fault(
        "note",
        1,
        FaultAction::Oversized {
            status: 500,
            bytes: 300 * 1024 * 1024,
        },
    ));
    assert_eq!(c.note().unwrap_err().status(), Status::Protocol);
    sim.inject_fault(fault("events", 1, FaultAction::Endless { status: 200 }));
    assert!(eventually(Duration::from_secs(10), || {
        sim.log()
            .iter()
            .filter(|e| e.route == "events" && e.status == 200)
            .count()
            >= 3
    }));
    let grown = peak_rss().saturating_sub(before);
    assert!(
        grown <= CAP + SLACK,
        "peak RSS grew by {} KiB reading hostile bodies (cap {} KiB)",
        grown / 1024,
        CAP / 1024
    );
    assert_eq!(c.presence().unwrap().availability, Availability::Busy);
}

const BOB: &str = "bob@contoso.com";
const CAROL: &str = "carol@contoso.com";

/// The shapes of event answers measured: contact events with the presence embedded (what the
/// review measured), bare contact events (what real servers send), and the smallest event the
/// client keeps, which costs the most per byte.
const SHAPES: [&str; 3] = ["embedded", "bare", "smallest"];

/// An event answer of one of [`SHAPES`] about Alice's watched Bob and Carol, as close to
/// `size` bytes as whole events allow, ending with an event that embeds Bob's presence as
/// Away (all others say Busy), which tells the test the answer was handled.
fn event_answer(shape: &str, people: &str, size: usize) -> String {
    let embedded = |who: &str, availability: &str| {
        let href = format!("{people}/{who}/presence");
        format!(
            r#"{{"link":{{"rel":"contactPresence","href":"{href}"}},"type":"updated","_embedded":{{"contactPresence":{{"rel":"contactPresence","availability":"{availability}","activity":"in-a-meeting","_links":{{"self":{{"href":"{href}"}}}}}}}}}}"#
        )
    };
    let event = |n: usize| {
        let who = if n.is_multiple_of(2) { CAROL } else { BOB };
        match shape {
            "embedded" => embedded(who, "Busy"),
            "bare" => format!(
                r#"{{"link":{{"rel":"contactNote","href":"{people}/{who}/note"}},"type":"updated"}}"#
            ),
            _ => r#"{"link":{"rel":"note","href":"note"},"type":"added"}"#.to_owned(),
        }
    };
    let last = embedded(BOB, "Away");
    let mut out = String::from(
        r#"{"_links":{"next":{"href":"events?ack=90"}},"sender":[{"rel":"people","href":"people","events":["#,
    );
    let mut n = 0;
    while out.len() + last.len() + 600 < size {
        out.push_str(&event(n));
        out.push(',');
        n += 1;
    }
    out.push_str(&last);
    out.push_str("]}]}");
    out
}

#[test]
fn one_event_answer_at_the_cap_raises_the_clients_peak_heap_by_a_small_multiple_of_its_size() {
    // The default `max_body_bytes`.
    const CAP: usize = 4 * 1024 * 1024;
    const MULTIPLE: f64 = 3.0;
    let _alone = alone();
    let mut config = fast_config();
    config.users = [(ALICE, ALICE_PW), (BOB, "pw"), (CAROL, "pw")]
        .iter()
        .map(|(u, p)| (u.to_string(), p.to_string()))
        .collect();
    let sim = start(config);
    let c = signed_in(&sim);
    c.subscribe_presence(&[BOB, CAROL]).unwrap();
    sim.set_presence_elsewhere(BOB, "Busy", None);
    wait_event(&c, Duration::from_secs(10), |e| e.contact().is_some());
    let log = sim.log();
    let read = log
        .iter()
        .find(|e| e.method == "GET" && e.path.ends_with("/people/bob@contoso.com/presence"))
        .expect("Bob's change was read");
    let people = read.path.trim_end_matches("/bob@contoso.com/presence");

    let mut measured = Vec::new();
    for shape in SHAPES {
        let body = event_answer(shape, people, CAP);
        let size = body.len();
        assert!(size > CAP - 1024 && size <= CAP, "{size}");
        std::thread::sleep(Duration::from_millis(300));
        while c.next_event(Duration::from_millis(50)).unwrap().is_some() {}
        let answers = sim.log().iter().filter(|e| e.route == "events").count();

        sim.inject_fault(fault(
            "events",
            1,
            FaultAction::Respond {
                status: 200,
                headers: vec![("Content-Type".into(), "application/json".into())],
                body,
            },
        ));
        let before = LIVE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let seen = wait_event(&c, Duration::from_secs(30), |e| {
            matches!(e, Event::ContactPresenceChanged { contact, presence }
                if contact == "sip:bob@contoso.com" && presence.availability == Availability::Away)
        });
        let grown = (PEAK.load(Ordering::Relaxed) - before).max(0) as f64 / size as f64;
        assert!(
            matches!(seen.last(), Some(Event::ContactPresenceChanged { .. })),
            "{shape}: the answer was read and Bob's last state reached the host: {seen:?}"
        );
        let log = sim.log();
        let served = log.iter().filter(|e| e.route == "events").skip(answers);
        assert!(
            served.clone().any(|e| e.status == 200),
            "{shape}: the answer was served"
        );
        eprintln!(
            "{shape}: one {} KiB event answer raised the client's peak heap by {grown:.1}x",
            size / 1024
        );
        measured.push((shape, grown));
    }
    assert!(
        measured.iter().all(|(_, grown)| *grown <= MULTIPLE),
        "peak heap growth per answer, in multiples of its size: {measured:?}"
    );
}
