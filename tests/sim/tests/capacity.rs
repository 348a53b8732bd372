//! Parked P-GETs are cheap: many of them at once cost no threads, all stay parked, and one
//! presence change per user releases each exactly once with its event.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::json;
use support::*;
use ucwa_sim::SimConfig;

fn threads() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Threads:"))
                .and_then(|l| l["Threads:".len()..].trim().parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn a_hundred_parked_pgets_use_no_extra_threads_and_each_gets_its_event() {
    const N: usize = 100;
    let users: Vec<(String, String)> = (0..N)
        .map(|i| (format!("u{i}@contoso.com"), format!("pw{i}")))
        .collect();
    let sim = start(SimConfig {
        // Reads each event's embedded presence (the option), checking delivery not shape.
        embed_self_events: true,
        users: users.clone(),
        event_timeout_s: 30.0,
        ..fast()
    });
    let sessions: Vec<Session> = users
        .iter()
        .map(|(u, p)| Session::available(&sim, u, p))
        .collect();
    // The makeMeAvailable events are waiting, so the first P-GET answers at once.
    let nexts: Vec<String> = sessions
        .iter()
        .map(|s| {
            s.url(&href_at(
                &s.get(&s.events_url()).json(),
                "/_links/next/href",
            ))
        })
        .collect();
    let before = threads();

    // Send every P-GET without waiting for answers: sockets only, no client threads.
    let mut sockets: Vec<TcpStream> = sessions
        .iter()
        .zip(&nexts)
        .map(|(s, next)| {
            let u = url::Url::parse(next).unwrap();
            let mut tcp = TcpStream::connect((u.host_str().unwrap(), u.port().unwrap())).unwrap();
            let req = format!(
                "GET {}?{} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
                u.path(),
                u.query().unwrap(),
                s.auth
            );
            tcp.write_all(req.as_bytes()).unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            tcp
        })
        .collect();
    let parked = || -> u32 {
        sim.users()
            .iter()
            .flat_map(|u| &u.applications)
            .map(|a| a.parked_pgets)
            .sum()
    };
    assert!(
        eventually(Duration::from_secs(10), || parked() == N as u32),
        "parked: {}",
        parked()
    );
    assert!(
        threads() <= before + 1,
        "threads grew from {before} to {}",
        threads()
    );

    for (u, _) in &users {
        sim.set_presence_elsewhere(u, "Busy", None);
    }
    for tcp in &mut sockets {
        let mut raw = Vec::new();
        tcp.read_to_end(&mut raw).unwrap();
        let r = parse_response(&raw).unwrap();
        assert_eq!(r.status, 200);
        let events = events_of(r.json()["sender"].as_array().unwrap());
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0].3["_embedded"]["presence"],
            json!({
                "rel": "presence",
                "availability": "Busy",
                "_links": events[0].3["_embedded"]["presence"]["_links"].clone(),
            })
        );
    }
    assert_eq!(parked(), 0);
}
