//! The soak's command line (`--clients`, `--minutes`, `--seed`, `--grace-s`, `--settle-s`,
//! `--log-limit`, `--no-faults`, `--skip`) and the schedule it implies: how many fault slots,
//! how long each, the grace after a window and how often hosts act.

use ucwa_sim::SimConfig;

use crate::world::{Kind, EVENT_TIMEOUT_S, KINDS};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn arg_num(name: &str, default: f64) -> f64 {
    match arg(name) {
        None => default,
        Some(v) => match v.parse::<f64>() {
            Ok(n) if n.is_finite() && n >= 0.0 => n,
            _ => {
                eprintln!("{name} needs a non-negative number, got {v:?}");
                std::process::exit(2);
            }
        },
    }
}

/// What the command line asked for.
pub(crate) struct Options {
    pub(crate) n: usize,
    pub(crate) minutes: f64,
    pub(crate) seed: u64,
    pub(crate) settle_max: f64,
    pub(crate) log_limit: usize,
    /// The control experiment: the same clients, hosts and sampling with no fault injected, to
    /// tell the faults' effect on memory and requests from the steady state's.
    pub(crate) no_faults: bool,
    /// Kinds left out (their slots stay quiet), to tell which fault a figure comes from.
    pub(crate) skip: Vec<String>,
}

impl Options {
    /// Reads the command line; a bad value ends the process with status 2.
    pub(crate) fn from_args() -> Options {
        let opts = Options {
            n: arg_num("--clients", 200.0).max(1.0) as usize,
            minutes: arg_num("--minutes", 10.0),
            seed: arg_num("--seed", 1.0) as u64,
            settle_max: arg_num("--settle-s", 50.0),
            log_limit: arg_num("--log-limit", 5000.0) as usize,
            no_faults: std::env::args().any(|a| a == "--no-faults"),
            skip: arg("--skip")
                .map(|v| v.split(',').map(|k| k.trim().to_string()).collect())
                .unwrap_or_default(),
        };
        if let Some(bad) = opts
            .skip
            .iter()
            .find(|k| !KINDS.iter().any(|kind| kind.id() == k.as_str()))
        {
            eprintln!(
                "--skip {bad:?}: expected a comma-separated list of {}",
                KINDS.map(Kind::id).join(", ")
            );
            std::process::exit(2);
        }
        opts
    }

    /// The simulator's settings: one user per client, events answered at once, timers short
    /// enough that presence would decay within a minute without the clients' keep-alive.
    pub(crate) fn sim_config(&self) -> SimConfig {
        SimConfig {
            users: (0..self.n)
                .map(|i| (format!("user{i}@contoso.com"), format!("pw-{i}")))
                .collect(),
            event_hold_s: 0.0,
            event_timeout_s: EVENT_TIMEOUT_S as f64,
            event_timeout_min_s: 1.0,
            inactive_s: 30.0,
            away_s: 30.0,
            app_expiry_s: 120.0,
            log_limit: self.log_limit,
            ..SimConfig::default()
        }
    }
}

/// The run's schedule.
pub(crate) struct Plan {
    pub(crate) run_s: f64,
    pub(crate) groups: usize,
    pub(crate) slots: usize,
    pub(crate) slot: f64,
    pub(crate) grace: f64,
    /// The range of seconds between two actions of a host.
    pub(crate) every: (f64, f64),
}

impl Plan {
    pub(crate) fn of(opts: &Options) -> Plan {
        let run_s = opts.minutes * 60.0;
        // Fault slots: every kind once per group of seven slots, about 43 s per slot in the full
        // run (two groups in 10 minutes), shorter when the run is short so every kind still fits.
        let groups = ((run_s / (7.0 * 40.0)).round() as usize).max(1);
        let slots = groups * KINDS.len();
        let slot = run_s / slots as f64;
        let grace = arg_num("--grace-s", (slot / 3.0).min(15.0));
        // Hosts act every 20–60 s in long slots, faster in short runs so faults meet host calls.
        let every = if slot >= 30.0 {
            (20.0, 60.0)
        } else {
            (4.0, 12.0)
        };
        Plan {
            run_s,
            groups,
            slots,
            slot,
            grace,
            every,
        }
    }
}
