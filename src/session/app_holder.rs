//! The application holder: the session's application (its links, shared as one `Arc<App>`
//! that is replaced whole, never changed in place), where applications are created, the
//! generation each new one gets, how far the session got (signed in, made available), and the
//! budget of applications recovery may create. It lives inside the session's state mutex; the
//! requests that create, refresh and recover applications run in `application` and `recovery`
//! without the lock and hand their results here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use url::Url;

use crate::error::{Error, Result, Step};
use crate::pacing::{self, Budget};
use crate::resources::App;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not signed in (never, or signed out).
    Idle,
    /// An application exists; not yet made available.
    SignedIn,
    /// makeMeAvailable succeeded: presence can be read and set.
    Available,
}

pub struct AppHolder {
    phase: Phase,
    app: Option<Arc<App>>,
    /// Where applications are created (the user resource's `applications` link).
    applications_url: Option<Url>,
    /// The generation of the last application created; bumped for each.
    generation: u64,
    /// Applications recovery created recently: at most a handful per window.
    recreations: Budget,
}

impl Default for AppHolder {
    fn default() -> AppHolder {
        AppHolder {
            phase: Phase::Idle,
            app: None,
            applications_url: None,
            generation: 0,
            recreations: Budget::new(pacing::RECREATIONS, pacing::RECREATION_WINDOW),
        }
    }
}

impl AppHolder {
    /// Whether the session is signed in (made available or not).
    pub fn is_signed_in(&self) -> bool {
        self.phase != Phase::Idle
    }

    /// Whether makeMeAvailable succeeded.
    pub fn is_available(&self) -> bool {
        self.phase == Phase::Available
    }

    /// A sign-in starts: recovery's budget is whole again.
    pub fn begin(&mut self) {
        self.recreations.reset();
    }

    /// The user resource named where applications are created.
    pub fn set_applications_url(&mut self, url: Url) {
        self.applications_url = Some(url);
    }

    pub fn applications_url(&self) -> Option<Url> {
        self.applications_url.clone()
    }

    /// The generation for an application about to be made from a creation's answer.
    pub fn next_generation(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    /// Sign-in created the first application.
    pub fn signed_in(&mut self, app: App) {
        self.app = Some(Arc::new(app));
        self.phase = Phase::SignedIn;
    }

    /// makeMeAvailable succeeded on `app` (refreshed): it becomes the session's when it is
    /// still the same application (recovery may have replaced it meanwhile). Whether it did.
    pub fn made_available(&mut self, app: App) -> bool {
        let same = self
            .app
            .as_ref()
            .is_some_and(|a| a.generation == app.generation);
        if same {
            self.app = Some(Arc::new(app));
            self.phase = Phase::Available;
        }
        same
    }

    /// Replaces the application (one recovery made, or the same one made available again),
    /// keeping the phase.
    pub fn replace(&mut self, app: App) {
        self.app = Some(Arc::new(app));
    }

    /// The application, whatever the phase.
    pub fn app(&self) -> Option<Arc<App>> {
        self.app.clone()
    }

    /// The application, shared (its links are read, never changed in place).
    pub fn current(&self, step: Step) -> Result<Arc<App>> {
        match (&self.phase, &self.app) {
            (Phase::Idle, _) | (_, None) => {
                Err(Error::InvalidState(format!("{step}: not signed in")))
            }
            (_, Some(app)) => Ok(app.clone()),
        }
    }

    /// The application once makeMeAvailable succeeded.
    pub fn available(&self, step: Step) -> Result<Arc<App>> {
        match (&self.phase, &self.app) {
            (Phase::Available, Some(app)) => Ok(app.clone()),
            (Phase::SignedIn, Some(_)) => Err(Error::InvalidState(format!(
                "{step}: call make_me_available first"
            ))),
            _ => Err(Error::InvalidState(format!("{step}: not signed in"))),
        }
    }

    /// Takes one application from recovery's budget, or says how long until one is free.
    pub fn take_recreation(&mut self, now: Instant) -> std::result::Result<(), Duration> {
        self.recreations.take(now)
    }

    /// How long until recovery may create another application, when its budget is used up.
    pub fn recreation_wait(&mut self, now: Instant) -> Option<Duration> {
        let wait = self.recreations.wait(now);
        (!wait.is_zero()).then_some(wait)
    }

    /// The session ended: no application, not signed in. The generation counter and the
    /// budget carry on, so an old application's generation never comes back.
    pub fn forget(&mut self) {
        self.phase = Phase::Idle;
        self.app = None;
        self.applications_url = None;
    }
}
