//! The `ucwa-sim` command: parses the (fixed) command line into a [`SimConfig`], starts the
//! simulator, prints the discovery root URL as the first stdout line (then `pool2: URL`,
//! `foreign: URL` when it runs, and `proxy: URL`, the forward proxy), and serves until killed
//! (SIGTERM or SIGINT stop it cleanly).

use std::io::Write;
use std::process::ExitCode;

use ucwa_sim::Sim;

/// Stops on SIGTERM or SIGINT. The handlers are installed before the URL is printed, so a
/// parent that signals right after reading the first line is always heard.
struct Signals {
    rt: tokio::runtime::Runtime,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }

    #[cfg(unix)]
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        let rt = Signals::runtime()?;
        let guard = rt.enter();
        let term = signal(SignalKind::terminate())?;
        let int = signal(SignalKind::interrupt())?;
        drop(guard);
        Ok(Signals { rt, term, int })
    }

    #[cfg(not(unix))]
    fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            rt: Signals::runtime()?,
        })
    }

    #[cfg(unix)]
    fn wait(mut self) {
        self.rt.block_on(async {
            tokio::select! {
                _ = self.term.recv() => {}
                _ = self.int.recv() => {}
            }
        });
    }

    #[cfg(not(unix))]
    fn wait(self) {
        let _ = self.rt.block_on(tokio::signal::ctrl_c());
    }
}

fn main() -> ExitCode {
    let config = match ucwa_sim::cli::config_from_args(std::env::args_os().skip(1)) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let signals = match Signals::install() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ucwa-sim: cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sim = match Sim::start(config) {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("ucwa-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    let mut lines = vec![sim.root_url(), format!("pool2: {}", sim.pool2_url())];
    if let Some(f) = sim.foreign_url() {
        lines.push(format!("foreign: {f}"));
    }
    lines.push(format!("proxy: {}", sim.proxy_url()));
    for line in lines {
        // A closed stdout (the parent read the first line and went away) must not kill us.
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
    drop(out);
    signals.wait();
    sim.stop();
    ExitCode::SUCCESS
}
