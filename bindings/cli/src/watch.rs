//! `ucwa watch`: signs in, subscribes contacts, and prints one line per event on stdout,
//! flushed at once, until killed or `--count` events were printed (JSON objects with
//! `--json` or when stdout is not a terminal; their fields are documented in `--help`).

use std::io::{IsTerminal, Write};
use std::time::Duration;

use serde_json::json;

use crate::cli::WatchArgs;
use crate::direct::{self, Target};
use crate::output::{availability_name, event_json, event_text, stamp};

/// How long one wait for an event lasts (the loop runs forever; this only bounds a wait).
const POLL: Duration = Duration::from_secs(1);

pub fn run(args: &WatchArgs) -> Result<(), String> {
    let json_out = args.json || !std::io::stdout().is_terminal();
    if !args.account.direct && args.contacts.is_empty() && from_service(args, json_out)? {
        return Ok(());
    }
    let target = Target::from_flags(&args.account)?;
    let client = direct::sign_in(&target, true)?;
    if !args.contacts.is_empty() {
        client
            .subscribe_presence(&args.contacts)
            .map_err(|e| format!("contacts: {e}"))?;
    }
    let mut printer = Printer::new(args, json_out);
    let mut emit = |mut v: serde_json::Value| -> Result<bool, String> {
        stamp(&mut v, None);
        printer.print(&v)
    };
    let me = client.presence().map_err(|e| e.to_string())?;
    let mut done = emit(
        json!({"event": "presence", "availability": availability_name(me.availability), "activity": me.activity}),
    )?;
    if !args.contacts.is_empty() && !done {
        let avail = client
            .contacts_availability(&args.contacts)
            .map_err(|e| e.to_string())?;
        for (c, a) in args.contacts.iter().zip(avail) {
            if !done {
                done = emit(
                    json!({"event": "contact_presence", "contact": crate::ops::sip_uri(c), "availability": availability_name(a), "activity": null}),
                )?;
            }
        }
    }
    while !done {
        match client.next_event(POLL) {
            Ok(None) => {}
            Ok(Some(e)) => {
                if let Some(v) = event_json(None, &e) {
                    done = emit(v)?;
                }
            }
            Err(e) => return Err(format!("the session ended: {e}")),
        }
    }
    direct::finish(client);
    Ok(())
}

/// Streams the running service's events (every account, or `--account`); false when no
/// service answers.
fn from_service(args: &WatchArgs, json_out: bool) -> Result<bool, String> {
    let path = crate::ipc::socket_path(args.account.socket.as_deref());
    let req = crate::ops::Request::Watch {
        account: args.account.account.clone(),
    };
    let mut printer = Printer::new(args, json_out);
    crate::ipc::ask_stream(&path, &req, |v| printer.print(&v))
}

/// One line per event on stdout, flushed at once, counted against `--count`.
struct Printer {
    json_out: bool,
    count: Option<u64>,
    printed: u64,
}

impl Printer {
    fn new(args: &WatchArgs, json_out: bool) -> Printer {
        Printer {
            json_out,
            count: args.count,
            printed: 0,
        }
    }

    /// Prints `v`; true once `--count` lines were printed.
    fn print(&mut self, v: &serde_json::Value) -> Result<bool, String> {
        let line = if self.json_out {
            v.to_string()
        } else {
            event_text(v)
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")
            .and_then(|_| out.flush())
            .map_err(|e| format!("stdout: {e}"))?;
        self.printed += 1;
        Ok(self.count.is_some_and(|n| self.printed >= n))
    }
}
