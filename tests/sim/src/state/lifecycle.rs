//! How applications end (deleted by the client or the control API, or expired without a
//! parked P-GET) and the periodic tick that drives every timer: inactivity stages, application
//! expiry, subscription expiry, and dropping expired tokens and tickets.

use std::time::Instant;

use super::{secs, user_key, GoneReason, Shared, Stage, State};
use crate::paths::Route;

impl Shared {
    /// Ends an application: later requests get 404 or the expired status, a parked P-GET
    /// wakes up to answer so, and the user's remaining endpoints hear the new presence.
    pub(crate) fn end_app(&self, st: &mut State, id: &str, reason: GoneReason) {
        let Some(app) = st.apps.remove(id) else {
            return;
        };
        st.gone.insert(id.to_owned(), reason);
        app.notify.notify_waiters();
        if let Some(user) = st.users.get_mut(&app.user_key) {
            user.apps.retain(|a| a != id);
        }
        if app.made_available {
            self.broadcast(st, &app.user_key, Route::Presence);
        }
    }

    pub(crate) fn delete_applications(&self, name: &str) {
        let mut st = self.lock();
        let key = user_key(name);
        let ids = st
            .users
            .get(&key)
            .map(|u| u.apps.clone())
            .unwrap_or_default();
        for id in ids {
            self.end_app(&mut st, &id, GoneReason::Deleted);
        }
    }

    /// Runs the timers: inactivity stages and application expiry.
    pub(crate) fn tick(&self, now: Instant) {
        let mut st = self.lock();
        let inactive = secs(self.config.inactive_s);
        let away = inactive + secs(self.config.away_s);
        let expiry = secs(self.config.app_expiry_s);
        let mut changed = Vec::new();
        let mut expired = Vec::new();
        for app in st.apps.values_mut() {
            if app.made_available {
                let quiet = now.saturating_duration_since(app.last_activity);
                let stage = if quiet >= away {
                    Stage::Away
                } else if quiet >= inactive {
                    Stage::Idle
                } else {
                    Stage::Active
                };
                if stage != app.stage {
                    app.stage = stage;
                    changed.push(app.user_key.clone());
                }
            }
            if app.channel.parked.is_none()
                && now.saturating_duration_since(app.channel.last_release) >= expiry
            {
                expired.push(app.id.clone());
            }
        }
        for id in expired {
            self.end_app(&mut st, &id, GoneReason::Expired);
        }
        for app in st.apps.values_mut() {
            app.subscriptions.retain(|s| s.expires_at > now);
        }
        changed.sort();
        changed.dedup();
        for key in changed {
            self.broadcast(&mut st, &key, Route::Presence);
        }
        // Expired tokens answer like unknown ones; drop them so memory stays bounded.
        st.tokens.retain(|_, t| t.expires_at > now);
        st.tickets.retain(|_, end| *end > now);
    }
}
