//! The presence model: how a chosen availability reads back, what one endpoint shows at its
//! inactivity stage, what the user's endpoints add up to, and presence, note or location set
//! "from another device" (the control API).

use super::{user_key, Presence, Shared, Stage, State};
use crate::paths::Route;

impl Shared {
    /// How a chosen value reads back: `Offwork` is reported as configured (UNCONFIRMED in the docs).
    pub(crate) fn read_chosen(&self, chosen: &Presence) -> Presence {
        if chosen.availability == "Offwork" {
            let (a, act) = &self.config.offwork_reads_as;
            Presence::new(a, act.as_deref())
        } else {
            chosen.clone()
        }
    }

    /// One endpoint's availability given the user's choice and the endpoint's inactivity stage.
    pub(crate) fn endpoint_presence(&self, chosen: &Presence, stage: Stage) -> Presence {
        let read = self.read_chosen(chosen);
        match stage {
            Stage::Active => read,
            Stage::Idle => match chosen.availability.as_str() {
                "Online" => Presence::new("IdleOnline", None),
                "Busy" | "DoNotDisturb" => Presence::new("IdleBusy", None),
                _ => read,
            },
            Stage::Away => {
                if read.availability == "Away" {
                    read
                } else {
                    Presence::new("Away", None)
                }
            }
        }
    }

    /// What GET presence reports: the most active made-available endpoint decides.
    pub(crate) fn aggregate(&self, st: &State, key: &str) -> Presence {
        let Some(user) = st.users.get(key) else {
            return Presence::new("Offline", None);
        };
        let best = user
            .apps
            .iter()
            .filter_map(|id| st.apps.get(id))
            .filter(|a| a.made_available)
            .map(|a| a.stage)
            .min();
        match best {
            Some(stage) => self.endpoint_presence(&user.chosen, stage),
            None if user.elsewhere => self.read_chosen(&user.chosen),
            None => Presence::new("Offline", None),
        }
    }

    /// "From another device": the user's chosen presence changes and every endpoint hears it.
    pub(crate) fn set_presence_elsewhere(
        &self,
        name: &str,
        availability: &str,
        activity: Option<&str>,
    ) -> bool {
        let mut st = self.lock();
        let key = user_key(name);
        let Some(user) = st.users.get_mut(&key) else {
            return false;
        };
        user.chosen = Presence::new(availability, activity);
        user.elsewhere = true;
        self.broadcast(&mut st, &key, Route::Presence);
        true
    }

    /// The user's note (`Route::Note`) or location changed on another device (`None`
    /// clears it): the user's applications and every watcher hear of it, as for presence.
    pub(crate) fn set_text_elsewhere(&self, name: &str, route: Route, value: Option<&str>) -> bool {
        let mut st = self.lock();
        let key = user_key(name);
        let Some(user) = st.users.get_mut(&key) else {
            return false;
        };
        let value = value.filter(|v| !v.trim().is_empty()).map(str::to_string);
        if route == Route::Note {
            user.note = value;
        } else {
            user.location = value;
        }
        self.broadcast(&mut st, &key, route);
        true
    }
}
