//! `ucwa-doctor`: checks a real Skype for Business deployment step by step with the ucwa
//! library (and, where the library does not show what must be seen, probes of its own),
//! explains each failure in an administrator's words, and prints the server's profile as a
//! `ucwa-sim` command line.
//!
//! Modules: `args` (the command line), `walk` (the steps: `steps` up to sign-in and after it, `session` between), `probe` (the raw requests),
//! `habits` (user-name forms, the NTLM domain, the P-GET hold), `observe` (what the transcript shows), `profile` (the `ucwa-sim` line), `advice` (cause and
//! fix of a failure), `report` (the checklist, scrubbed of secrets).

use std::io::Write;

mod advice;
mod args;
mod habits;
mod observe;
mod probe;
mod profile;
mod report;
mod walk;

pub use args::{Args, HELP};

/// Runs the doctor with `args` (without the program name), printing to stdout and stderr;
/// returns the exit status: 0 every step passed, 1 a step failed, 2 a usage error.
pub fn run(args: Vec<String>) -> i32 {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    run_with(args, &mut out, &mut err)
}

/// [`run`] writing to the given streams (for hosts and tests that capture them).
pub fn run_with(args: Vec<String>, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    if args.iter().any(|a| a == "--version" || a == "-V") {
        let _ = writeln!(
            out,
            "ucwa-doctor {} (library ucwa {})",
            env!("CARGO_PKG_VERSION"),
            ucwa::VERSION
        );
        return 0;
    }
    let parsed = match Args::parse(&args) {
        Ok(Some(a)) => a,
        Ok(None) => {
            let _ = write!(out, "{HELP}");
            return 0;
        }
        Err(why) => {
            let _ = writeln!(
                err,
                "ucwa-doctor: {why}\nRun ucwa-doctor --help for the options."
            );
            return 2;
        }
    };
    let password = match parsed.password() {
        Ok(p) => p,
        Err(why) => {
            let _ = writeln!(err, "ucwa-doctor: {why}");
            return 2;
        }
    };
    walk::run(&parsed, &password, out, err)
}
