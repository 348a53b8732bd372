//! The body cap bounds memory, not just the answer: reading hostile 300 MiB bodies (declared,
//! chunked without end, in the foreground and on the event channel) raises this process's peak
//! resident memory by no more than the cap plus a small constant. Alone in its own test binary,
//! because peak RSS is process-wide. Linux only: it reads /proc/self/status.
#![cfg(target_os = "linux")]

mod common;

use std::time::Duration;

use common::*;
use ucwa::{Availability, Status};
use ucwa_sim::FaultAction;

/// This process's peak resident set (VmHWM), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[test]
fn hostile_300_mib_bodies_raise_peak_memory_by_at_most_the_cap_plus_a_constant() {
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
