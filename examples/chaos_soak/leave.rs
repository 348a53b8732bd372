//! The end of the soak: every client leaves (even ones sign out then drop, odd ones are only
//! dropped, which signs out), and what the simulator still holds afterwards: applications left
//! over, and for the first few users with one, what the simulator saw of them while leaving.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ucwa_sim::Sim;

use crate::world::World;

/// What leaving showed.
pub(crate) struct Left {
    pub(crate) sign_out_errors: Vec<String>,
    pub(crate) leave_s: f64,
    /// One line per application left on the server.
    pub(crate) leftover: Vec<String>,
    pub(crate) orphan_stories: Vec<String>,
}

/// Every client leaves; then, after a few seconds, what is left on the simulator (returned
/// with it, still running).
pub(crate) fn leave(world: Arc<World>) -> (Sim, Left) {
    let World { sim, clients, .. } =
        Arc::try_unwrap(world).unwrap_or_else(|_| panic!("every harness thread has ended"));
    let sim = sim.into_inner().unwrap();
    // The sampler has stopped: from here the log holds what leaving cost, for the orphans' story.
    if let Some(sim) = sim.as_ref() {
        sim.clear_log();
    }
    let t_leave = Instant::now();
    let mut sign_out_errors = Vec::new();
    for (i, c) in clients.into_iter().enumerate() {
        if i % 2 == 0 {
            if let Err(e) = c.sign_out() {
                sign_out_errors.push(format!("client {i}: {e}"));
            }
        }
        drop(c);
    }
    let leave_s = t_leave.elapsed().as_secs_f64();
    // Anything the library would recreate after sign-out has a few seconds to show up.
    std::thread::sleep(Duration::from_secs(3));
    let sim = sim.expect("the simulator is up at the end");
    let leftover = leftover(&sim);
    let orphan_stories = orphan_stories(&sim);
    let left = Left {
        sign_out_errors,
        leave_s,
        leftover,
        orphan_stories,
    };
    (sim, left)
}

/// One line per application still on the server.
fn leftover(sim: &Sim) -> Vec<String> {
    sim.users()
        .into_iter()
        .flat_map(|u| {
            let name = u.name.clone();
            let signed_out = leave_kind(&name);
            u.applications.into_iter().map(move |a| {
                format!(
                    "{name} ({signed_out}): app {} made_available {} availability {:?} parked P-GETs {}",
                    a.id, a.made_available, a.availability, a.parked_pgets
                )
            })
        })
        .collect()
}

/// For each user with an application left (the first five): what the simulator saw of that
/// user while and after its client left (method, route, status, in arrival order).
fn orphan_stories(sim: &Sim) -> Vec<String> {
    let leave_log = sim.log();
    let orphan_users: Vec<String> = sim
        .users()
        .into_iter()
        .filter(|u| !u.applications.is_empty())
        .map(|u| u.name)
        .collect();
    orphan_users
        .iter()
        .take(5)
        .map(|name| {
            let steps: Vec<String> = leave_log
                .iter()
                .filter(|e| e.user.as_deref() == Some(name.as_str()))
                .map(|e| format!("{} {} {}", e.method, e.route, e.status))
                .collect();
            format!("{name} while leaving: {}", steps.join(", "))
        })
        .collect()
}

/// How the client of a user left at the end: even ones sign out then drop, odd ones only drop.
fn leave_kind(name: &str) -> &'static str {
    let i: usize = name
        .trim_start_matches("user")
        .split('@')
        .next()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0);
    if i.is_multiple_of(2) {
        "sign_out then drop"
    } else {
        "drop only"
    }
}
