//! `ucwa`: Skype for Business presence from the shell, and a headless presence service. One
//! more host of the library, through its public blocking API (`ucwa::Client`) only.
//!
//! Modules: `cli` (the command line), `oneshot` (presence, note, location, contacts, source:
//! through the service or directly), `direct` (signing in from flags), `creds` (where a
//! password comes from), `watch` (the event stream), `serve` / `account` / `config` (the
//! service), `ipc` (its control socket), `ops` (the requests both run), `sources` (presence
//! sources), `output` (formats, colour, progress), `sys` (platform calls).

// On Windows `serve` is refused, so the service's parts (accounts, their state, sources kept
// across sign-ins) compile there without a caller.
#![cfg_attr(not(unix), allow(dead_code))]

mod account;
mod cli;
mod config;
mod creds;
mod direct;
mod ipc;
mod oneshot;
mod ops;
mod output;
mod serve;
mod sources;
#[cfg(unix)]
mod sys;
mod watch;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// Exit code of a failure (a usage error is clap's 2).
const FAILURE: u8 = 1;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.verbose && std::env::var_os("UCWA_LOG").is_none() {
        // Read by the library when its first client is created, which is after this.
        std::env::set_var("UCWA_LOG", "debug");
    }
    let outcome = match cli.command {
        Command::Presence { action } => oneshot::presence(action),
        Command::Note { action } => oneshot::text(action, oneshot::Field::Note),
        Command::Location { action } => oneshot::text(action, oneshot::Field::Location),
        Command::Contacts { action } => oneshot::contacts(action),
        Command::Source { action } => oneshot::source(action),
        Command::Watch(args) => watch::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Status(args) => oneshot::status(&args),
        Command::Login(args) => oneshot::login(&args),
        Command::Doctor { args } => return doctor(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("ucwa: {}", why.lines().collect::<Vec<_>>().join("; "));
            ExitCode::from(FAILURE)
        }
    }
}

/// `ucwa doctor ARGS…`: the doctor's own exit status (0 passed, 1 a step failed, 2 usage).
fn doctor(args: Vec<String>) -> ExitCode {
    let code = ucwa_doctor::run(args);
    ExitCode::from(u8::try_from(code).unwrap_or(FAILURE))
}
