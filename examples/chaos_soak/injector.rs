//! The injector: one fault window per slot, placed at random inside it, each opened through
//! the simulator's fault and control API, held, closed and recorded (kind, start, end, the
//! clients it was aimed at).

use std::time::Duration;

use ucwa_sim::{Fault, FaultAction, Sim, SimConfig};

use crate::options::{Options, Plan};
use crate::world::{Kind, Rng, Window, World, KINDS, TIMEOUT_MS};

/// Runs on the caller's thread until the end of the run: every kind once per group, in a
/// shuffled order, each at a random point of its slot (kinds skipped or a control run leave
/// their slots quiet).
pub(crate) fn run(world: &World, opts: &Options, plan: &Plan) {
    let mut rng = Rng(opts.seed);
    for g in 0..plan.groups {
        let mut order = KINDS.to_vec();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        for (k, kind) in order.into_iter().enumerate() {
            let slot_start = (g * KINDS.len() + k) as f64 * plan.slot;
            let hold = hold_for(&mut rng, kind, plan.slot);
            let start = slot_start + rng.range(0.25, 0.45) * plan.slot;
            let wait = start - world.now();
            if wait > 0.0 {
                std::thread::sleep(Duration::from_secs_f64(wait));
            }
            if !opts.no_faults && !opts.skip.iter().any(|k| k == kind.id()) {
                inject(world, &mut rng, kind, hold);
            }
        }
    }
    let wait = plan.run_s - world.now();
    if wait > 0.0 {
        std::thread::sleep(Duration::from_secs_f64(wait));
    }
}

/// How long a window of this kind holds: instant faults not at all, a restart a few seconds.
fn hold_for(rng: &mut Rng, kind: Kind, slot: f64) -> f64 {
    if kind.instant() {
        0.0
    } else if kind == Kind::Restart {
        rng.range(slot * 0.03, slot * 0.12).clamp(0.5, 8.0)
    } else {
        rng.range(slot * 0.12, slot * 0.35)
    }
}

/// Opens one fault window, holds it, closes it, and records it (kind, start, end, clients).
fn inject(world: &World, rng: &mut Rng, kind: Kind, hold: f64) {
    let n = world.clients.len();
    let routes = [
        "events",
        "presence",
        "reportMyActivity",
        "token",
        "applications",
        "makeMeAvailable",
    ];
    // Persistent faults hit every route half the time, one route otherwise.
    let route = (rng.unit() < 0.5).then(|| routes[rng.below(routes.len())].to_string());
    let route_text = route.clone().unwrap_or_else(|| "every route".into());
    let mut affected: Vec<usize> = (0..n).collect();
    let (action, detail) = fault_for(rng, kind, route_text, hold, &mut affected);
    let start = world.now();
    let index = {
        let mut ws = world.windows.lock().unwrap();
        ws.push(Window {
            kind,
            detail,
            start,
            end: None,
            affected: affected.clone(),
        });
        ws.len() - 1
    };
    match kind {
        Kind::DeleteApplications | Kind::ExpireTokens => act_on_users(world, kind, &affected),
        Kind::Restart => restart(world, hold),
        _ => {
            let action = action.expect("persistent faults have an action");
            hold_fault(world, route, action, hold);
        }
    }
    world.windows.lock().unwrap()[index].end = Some(world.now());
}

/// The fault a window of this kind injects (none for the control-API kinds) and its detail
/// for the report; the control-API kinds narrow `affected` to a random share of the users.
fn fault_for(
    rng: &mut Rng,
    kind: Kind,
    route_text: String,
    hold: f64,
    affected: &mut Vec<usize>,
) -> (Option<FaultAction>, String) {
    let n = affected.len();
    match kind {
        Kind::Unavailable503 => {
            let secs = 1 + rng.below(5);
            (
                Some(FaultAction::Respond {
                    status: 503,
                    headers: vec![
                        ("Retry-After".into(), secs.to_string()),
                        ("Content-Type".into(), "application/json".into()),
                    ],
                    body: r#"{"code":"ServiceUnavailable","message":"Service unavailable"}"#.into(),
                }),
                format!("{route_text}, Retry-After {secs}"),
            )
        }
        Kind::Close => (Some(FaultAction::Close), route_text),
        Kind::Delay => (
            Some(FaultAction::Delay {
                ms: TIMEOUT_MS + 1000,
            }),
            format!("{route_text}, {} ms", TIMEOUT_MS + 1000),
        ),
        Kind::Html500 => (
            Some(FaultAction::Respond {
                status: 500,
                headers: vec![("Content-Type".into(), "text/html".into())],
                body: "<html><head><title>500 - Internal server error.</title></head><body>\
                       <h2>There is a problem with the resource you are looking for.</h2>\
                       </body></html>"
                    .into(),
            }),
            route_text,
        ),
        Kind::DeleteApplications | Kind::ExpireTokens => {
            // A random quarter to all of the users.
            let share = rng.range(0.25, 1.0);
            affected.retain(|_| rng.unit() < share);
            if affected.is_empty() {
                affected.push(rng.below(n));
            }
            (None, format!("{} of {n} users", affected.len()))
        }
        Kind::Restart => (None, format!("down {hold:.1} s")),
    }
}

/// Deletes the applications of, or expires the tokens of, the affected users at once.
fn act_on_users(world: &World, kind: Kind, affected: &[usize]) {
    let guard = world.sim.read().unwrap();
    if let Some(sim) = guard.as_ref() {
        for &i in affected {
            if kind == Kind::DeleteApplications {
                sim.delete_applications(&world.names[i]);
            } else {
                sim.expire_tokens(Some(&world.names[i]));
            }
        }
    }
}

/// Stops the simulator (which releases the port), waits, and starts it again on that port.
fn restart(world: &World, hold: f64) {
    let old = world.sim.write().unwrap().take();
    drop(old); // stops it and releases the port
    std::thread::sleep(Duration::from_secs_f64(hold));
    let sim = start_sim_retrying(&world.config);
    *world.sim.write().unwrap() = Some(sim);
}

/// Injects a persistent fault on one route (or all), holds it, and clears it.
fn hold_fault(world: &World, route: Option<String>, action: FaultAction, hold: f64) {
    if let Some(sim) = world.sim.read().unwrap().as_ref() {
        sim.inject_fault(Fault {
            route,
            path_contains: None,
            method: None,
            count: 0,
            action,
        });
    }
    std::thread::sleep(Duration::from_secs_f64(hold));
    if let Some(sim) = world.sim.read().unwrap().as_ref() {
        sim.clear_faults();
    }
}

fn start_sim_retrying(config: &SimConfig) -> Sim {
    // The port was just released; binding it again can race with the old sockets' teardown.
    for _ in 0..50 {
        if let Ok(sim) = Sim::start(config.clone()) {
            return sim;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Sim::start(config.clone()).expect("ucwa-sim restarts on the same port")
}
