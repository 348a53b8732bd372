//! The one-shot commands: presence, note, location, contacts, source, status and login. Each
//! request goes to the running service when one answers on the control socket (so what it sets
//! stays), else the command signs in itself, runs it, and signs out again.

use std::io::{BufRead, IsTerminal, Write};

use serde_json::Value;

use crate::cli::{
    Account, ContactsAction, LoginArgs, PresenceAction, SourceAction, StatusArgs, TextAction,
};
use crate::direct::{self, Target};
use crate::ipc;
use crate::ops::{self, Request};
use crate::output::paint_state;

/// Which text field a `note`/`location` command is about.
#[derive(Clone, Copy)]
pub enum Field {
    Note,
    Location,
}

/// Runs a request through the service or directly; the answer's `result`.
fn run(account: &Account, req: Request) -> Result<Value, String> {
    if !account.direct {
        let path = ipc::socket_path(account.socket.as_deref());
        if let Some(answer) = ipc::ask(&path, &req)? {
            return match answer.get("ok").and_then(Value::as_bool) {
                Some(true) => Ok(answer.get("result").cloned().unwrap_or(Value::Null)),
                _ => Err(answer
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("the service refused the request")
                    .to_string()),
            };
        }
    }
    let target = Target::from_flags(account)?;
    let client = direct::sign_in(&target, req.needs_available())?;
    let result = ops::apply(&client, &req);
    if result.is_ok() && req.is_change() {
        eprintln!(
            "ucwa: no service is running: this lasts only as long as the application does, which is deleted as this command exits (run `ucwa serve` to keep it)"
        );
    }
    direct::finish(client);
    result
}

fn print_json(v: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
}

fn text_of(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

pub fn presence(action: PresenceAction) -> Result<(), String> {
    match action {
        PresenceAction::Get { account, json } => {
            let v = run(
                &account,
                Request::PresenceGet {
                    account: account.account.clone(),
                },
            )?;
            if json {
                print_json(&v);
            } else {
                let act = text_of(&v, "activity");
                let shown = if act.is_empty() {
                    String::new()
                } else {
                    format!(" ({act})")
                };
                println!("{}{shown}", text_of(&v, "availability"));
            }
        }
        PresenceAction::Set {
            availability,
            duration,
            account,
        } => {
            let name = crate::output::availability_name(availability).to_string();
            run(
                &account,
                Request::PresenceSet {
                    account: account.account.clone(),
                    availability: name,
                    expires_s: duration.map(|d| d.as_secs()),
                },
            )?;
        }
        PresenceAction::Reset { account } => {
            run(
                &account,
                Request::PresenceReset {
                    account: account.account.clone(),
                },
            )?;
        }
    }
    Ok(())
}

pub fn text(action: TextAction, field: Field) -> Result<(), String> {
    let key = match field {
        Field::Note => "note",
        Field::Location => "location",
    };
    let (req, account, json) = match (action, field) {
        (TextAction::Get { account, json }, Field::Note) => (
            Request::NoteGet {
                account: account.account.clone(),
            },
            account,
            json,
        ),
        (TextAction::Get { account, json }, Field::Location) => (
            Request::LocationGet {
                account: account.account.clone(),
            },
            account,
            json,
        ),
        (
            TextAction::Set {
                text,
                duration,
                account,
            },
            f,
        ) => (set_text(f, &account, text, duration)?, account, false),
        (TextAction::Clear { account }, f) => {
            (set_text(f, &account, String::new(), None)?, account, false)
        }
    };
    let v = run(&account, req.clone())?;
    if matches!(req, Request::NoteGet { .. } | Request::LocationGet { .. }) {
        if json {
            print_json(&v);
        } else if let Some(t) = v.get(key).and_then(Value::as_str) {
            println!("{t}");
        }
    }
    Ok(())
}

fn set_text(
    field: Field,
    account: &Account,
    text: String,
    duration: Option<std::time::Duration>,
) -> Result<Request, String> {
    let account = account.account.clone();
    let expires_s = duration.map(|d| d.as_secs());
    Ok(match field {
        Field::Note => Request::NoteSet {
            account,
            text,
            expires_s,
        },
        Field::Location if expires_s.is_some() => {
            return Err("--for applies to the note only".into())
        }
        Field::Location => Request::LocationSet { account, text },
    })
}

pub fn contacts(action: ContactsAction) -> Result<(), String> {
    let ContactsAction::Get {
        contacts,
        account,
        json,
    } = action;
    let v = run(
        &account,
        Request::ContactsGet {
            account: account.account.clone(),
            contacts,
        },
    )?;
    let rows = v.as_array().cloned().unwrap_or_default();
    let mut out = std::io::stdout().lock();
    if json {
        for r in &rows {
            let _ = writeln!(out, "{r}");
        }
        return Ok(());
    }
    let _ = writeln!(
        out,
        "{:<32} {:<13} {:<16} {:<24} LOCATION",
        "CONTACT", "AVAILABILITY", "ACTIVITY", "NOTE"
    );
    for r in &rows {
        let _ = writeln!(
            out,
            "{:<32} {:<13} {:<16} {:<24} {}",
            text_of(r, "contact"),
            text_of(r, "availability"),
            text_of(r, "activity"),
            text_of(r, "note"),
            text_of(r, "location")
        );
    }
    Ok(())
}

pub fn source(action: SourceAction) -> Result<(), String> {
    let (account, req) = match action {
        SourceAction::Set {
            name,
            availability,
            note,
            duration,
            account,
        } => {
            let a = availability;
            let expires_s = duration.map(|d| d.as_secs());
            let req = Request::SourceSet {
                account: account.account.clone(),
                name,
                availability: crate::output::availability_name(a).into(),
                note,
                expires_s,
            };
            (account, req)
        }
        SourceAction::Clear { name, account } => {
            let req = Request::SourceClear {
                account: account.account.clone(),
                name,
            };
            (account, req)
        }
    };
    run(&account, req).map(|_| ())
}

/// Whether an account's state is one a script may go on from: signed in, available and kept.
fn is_ready(row: &Value) -> bool {
    matches!(text_of(row, "state").as_str(), "connected" | "recovered")
}

/// The service's status rows; with `--wait`, asked again (twice a second) until the service
/// answers and every account is ready, or the time is up.
fn status_rows(args: &StatusArgs, path: &std::path::Path) -> Result<Vec<Value>, String> {
    let deadline = args
        .wait
        .map(|s| std::time::Instant::now() + std::time::Duration::from_secs(s.into()));
    loop {
        let answer = match ipc::ask(path, &Request::Status {}) {
            Ok(a) => a,
            Err(e) if deadline.is_none() => return Err(e),
            Err(_) => None,
        };
        let rows = answer.as_ref().map(|a| {
            a.get("result")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        });
        let Some(deadline) = deadline else {
            return rows.ok_or_else(|| no_service(path));
        };
        let now = std::time::Instant::now();
        match rows {
            Some(rows) if rows.iter().all(is_ready) => return Ok(rows),
            Some(rows) if now >= deadline => {
                let waiting: Vec<String> = rows
                    .iter()
                    .filter(|r| !is_ready(r))
                    .map(|r| format!("{} is {}", text_of(r, "account"), text_of(r, "state")))
                    .collect();
                return Err(format!("after --wait: {}", waiting.join(", ")));
            }
            None if now >= deadline => return Err(no_service(path)),
            _ => std::thread::sleep(std::time::Duration::from_millis(500)),
        }
    }
}

fn no_service(path: &std::path::Path) -> String {
    format!(
        "no ucwa service is running (no answer on {})",
        path.display()
    )
}

pub fn status(args: &StatusArgs) -> Result<(), String> {
    let path = ipc::socket_path(args.socket.as_deref());
    let rows = status_rows(args, &path)?;
    let mut out = std::io::stdout().lock();
    for r in &rows {
        if args.json {
            let _ = writeln!(out, "{r}");
            continue;
        }
        let _ = writeln!(out, "{} ({})", text_of(r, "account"), text_of(r, "user"));
        let _ = writeln!(out, "  state:        {}", paint_state(&text_of(r, "state")));
        let _ = writeln!(
            out,
            "  availability: {}",
            or_dash(&text_of(r, "availability"))
        );
        if let Some(eff) = r.get("effective") {
            let _ = writeln!(
                out,
                "  effective:    {}",
                or_dash(&text_of(eff, "availability"))
            );
            let _ = writeln!(
                out,
                "  decided by:   {}",
                or_dash(&text_of(eff, "decided_by"))
            );
        }
        let _ = writeln!(
            out,
            "  last error:   {}",
            or_dash(&text_of(r, "last_error"))
        );
    }
    Ok(())
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

/// Reads the password: without echo from a terminal, else one line of standard input.
fn read_password(user: &str) -> Result<String, String> {
    let p = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("Password for {user}: ")).map_err(|e| e.to_string())?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if p.is_empty() {
        return Err("empty password: nothing stored".into());
    }
    Ok(p)
}

pub fn login(args: &LoginArgs) -> Result<(), String> {
    let flags = Account {
        server: args.server.clone(),
        user: args.user.clone(),
        ..Account::default()
    };
    let user = match &flags.user {
        Some(u) if !u.is_empty() => u.clone(),
        _ => std::env::var("UCWA_USER")
            .map_err(|_| "no user: give --user or set UCWA_USER".to_string())?,
    };
    if args.forget {
        crate::creds::keyring_delete(&user)?;
        eprintln!("ucwa: removed the stored password of {user}");
        return Ok(());
    }
    let password = read_password(&user)?;
    if !args.no_verify {
        let target = Target::from_flags(&Account {
            user: Some(user.clone()),
            ..flags
        })?;
        let secret = crate::creds::Secret::Password(password.clone());
        let client = direct::sign_in_with(&target, &secret, false)?;
        direct::finish(client);
    }
    crate::creds::keyring_set(&user, &password)?;
    eprintln!("ucwa: stored the password of {user} in the OS credential store");
    Ok(())
}
