//! `ucwa serve`: the headless presence service. Loads and checks the configuration, binds the
//! control socket, runs one keeper thread per account, answers one-shot commands, and on
//! SIGTERM or SIGINT signs every account out (all at once, each within the library's bound)
//! before exiting 0. Unix only: on Windows it refuses with the scheduled-task route.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::account::Account;
use crate::ops::{self, Request};

/// Finds the account a request names, or the only one.
fn pick<'a>(accounts: &'a [Arc<Account>], name: Option<&str>) -> Result<&'a Arc<Account>, String> {
    match name {
        Some(n) => accounts
            .iter()
            .find(|a| a.cfg.name == n)
            .ok_or_else(|| format!("no account {n:?}; the service has: {}", names(accounts))),
        None if accounts.len() == 1 => Ok(&accounts[0]),
        None => Err(format!(
            "the service runs several accounts: name one with --account ({})",
            names(accounts)
        )),
    }
}

fn names(accounts: &[Arc<Account>]) -> String {
    accounts
        .iter()
        .map(|a| a.cfg.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Remembers a change a command made, so a later full sign-in restores it too.
fn remember(account: &Account, req: &Request) {
    let mut d = account.desired.lock().unwrap();
    match req {
        // A choice with an expiry is the library's to expire; a new sign-in does not renew it.
        Request::PresenceSet {
            availability,
            expires_s: None,
            ..
        } => {
            d.availability = crate::output::parse_availability(availability).ok();
        }
        Request::PresenceReset { .. } => d.availability = None,
        Request::NoteSet {
            text,
            expires_s: None,
            ..
        } => d.note = Some(text.clone()),
        Request::LocationSet { text, .. } => d.location = Some(text.clone()),
        Request::SourceSet { .. } | Request::SourceClear { .. } => d.sources.remember(req),
        _ => {}
    }
}

/// A control request's answer; `watch` is a stream of the accounts' events.
#[cfg(unix)]
pub fn handle(accounts: &[Arc<Account>], req: Request) -> crate::ipc::Reply {
    use crate::ipc::Reply;
    let Request::Watch { account } = &req else {
        return Reply::One(answer(accounts, req));
    };
    let (tx, rx) = std::sync::mpsc::sync_channel(crate::account::WATCH_QUEUE);
    match account {
        Some(name) => match pick(accounts, Some(name)) {
            Ok(a) => a.watch_into(tx),
            Err(e) => return Reply::One(json!({"ok": false, "error": e})),
        },
        None => accounts.iter().for_each(|a| a.watch_into(tx.clone())),
    }
    Reply::Stream(rx)
}

/// One control request's answer: `{"ok":true,"result":…}` or `{"ok":false,"error":…}`.
pub fn answer(accounts: &[Arc<Account>], req: Request) -> Value {
    if matches!(req, Request::Status {}) {
        let all: Vec<Value> = accounts.iter().map(|a| a.status_json_full()).collect();
        return json!({"ok": true, "result": all});
    }
    let outcome = pick(accounts, req.account()).and_then(|a| {
        let client = a.client()?;
        let r = ops::apply(&client, &req)?;
        if req.is_change() {
            remember(a, &req);
        }
        Ok(r)
    });
    match outcome {
        Ok(r) => json!({"ok": true, "result": r}),
        Err(e) => json!({"ok": false, "error": e}),
    }
}

impl Account {
    /// The status with the effective presence and its deciding source (when the library
    /// composes sources).
    pub fn status_json_full(&self) -> Value {
        let mut v = self.status_json();
        if let (Some(o), Ok(c)) = (v.as_object_mut(), self.client()) {
            crate::sources::add_effective(o, &c);
        }
        v
    }
}

/// The configuration to serve; `None` when `--check` only validated it (and said so).
fn load_unless_checking(
    args: &crate::cli::ServeArgs,
) -> Result<Option<crate::config::Config>, String> {
    let cfg = crate::config::load(&args.config)?;
    if args.check {
        println!(
            "{}: {} account(s), ok",
            args.config.display(),
            cfg.accounts.len()
        );
        return Ok(None);
    }
    Ok(Some(cfg))
}

/// Runs the service until SIGTERM/SIGINT; the exit code.
#[cfg(unix)]
pub fn run(args: &crate::cli::ServeArgs) -> Result<(), String> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Some(cfg) = load_unless_checking(args)? else {
        return Ok(());
    };
    if let Some(level) = &cfg.log {
        if std::env::var_os("UCWA_LOG").is_none() {
            std::env::set_var("UCWA_LOG", level);
        }
    }
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])
        .map_err(|e| format!("signals: {e}"))?;
    let path = crate::ipc::socket_path(cfg.socket.as_deref());
    let listener = crate::ipc::Listener::bind(&path)?;
    let accounts: Arc<Vec<Arc<Account>>> = Arc::new(
        cfg.accounts
            .into_iter()
            .map(|c| Arc::new(Account::new(c)))
            .collect(),
    );
    for a in accounts.iter() {
        let a = a.clone();
        std::thread::Builder::new()
            .name(format!("ucwa-account-{}", a.cfg.name))
            .spawn(move || a.run())
            .map_err(|e| format!("thread: {e}"))?;
    }
    let for_control = accounts.clone();
    let handler: crate::ipc::Handler = Arc::new(move |req| handle(&for_control, req));
    std::thread::Builder::new()
        .name("ucwa-control-accept".into())
        .spawn(move || listener.serve(handler))
        .map_err(|e| format!("thread: {e}"))?;
    eprintln!(
        "ucwa: serving {} account(s); control socket {}",
        accounts.len(),
        path.display()
    );
    let _ = signals.forever().next();
    eprintln!("ucwa: signing {} account(s) out", accounts.len());
    shut_down_all(&accounts);
    let _ = std::fs::remove_file(&path);
    Ok(())
}

/// Signs every account out at once, so the whole takes one library bound, not one per account.
fn shut_down_all(accounts: &[Arc<Account>]) {
    let threads: Vec<_> = accounts
        .iter()
        .map(|a| {
            let a = a.clone();
            std::thread::spawn(move || a.shut_down())
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

#[cfg(not(unix))]
pub fn run(args: &crate::cli::ServeArgs) -> Result<(), String> {
    if load_unless_checking(args)?.is_none() {
        return Ok(());
    }
    Err("`ucwa serve` does not run on Windows: schedule `ucwa watch --current-user` with Task Scheduler at log-on instead (the command's reference, bindings/cli/README.md, section Windows)".into())
}
