//! Recovery: the one table of what an error calls for ([`Recovery::for_error`]), used by the
//! synchronous calls and the supervisor alike, and the steps that carry it out — recreate the
//! application the server lost (within its budget), make it available again, re-apply the
//! desired state. Each step tells the connection state machine (`connection`) that it starts
//! and that it succeeded; the machine decides what the host hears.

use std::time::{Duration, Instant};

use std::sync::Arc;

use reqwest::Method;

use super::{Payload, Session, State};
use crate::error::{Error, Result};
use crate::pacing;
use crate::resources::App;
use crate::security;
use crate::types::Event;

/// What an error from the server calls for. The one decision table of the library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// 404 `ApplicationNotFound`: the server lost the application; create it again.
    RecreateApplication,
    /// 409 `MakeMeAvailableRequired`: back in lurker mode; makeMeAvailable again.
    RestoreAvailability,
    /// 410: the session is over for good; tell the host.
    EndSession,
    /// 409 `PGetReplaced`: another P-GET took the event channel; take it back after a pause.
    RetakeChannel,
    /// Anything else: nothing to repair; the same request may be tried again later.
    None,
}

impl Recovery {
    pub fn for_error(e: &Error) -> Recovery {
        if e.is_application_gone() {
            Recovery::RecreateApplication
        } else if e.is_subcode(409, "MakeMeAvailableRequired") {
            Recovery::RestoreAvailability
        } else if e.is_gone() {
            Recovery::EndSession
        } else if e.is_subcode(409, "PGetReplaced") {
            Recovery::RetakeChannel
        } else {
            Recovery::None
        }
    }

    /// Whether the failed request is worth repeating once this step succeeded.
    pub fn repairs(self) -> bool {
        matches!(
            self,
            Recovery::RecreateApplication | Recovery::RestoreAvailability
        )
    }
}

/// The application a recovery step for `seen_generation` works on: `None` when a concurrent
/// caller already replaced it (nothing left to do), an error when the session is ending or gone.
fn recovery_target(st: &State, seen_generation: u64) -> Result<Option<Arc<App>>> {
    match st.app.app() {
        _ if st.run.ending() => Err(Error::InvalidState("signing out".into())),
        None => Err(Error::InvalidState("not signed in".into())),
        Some(app) if app.generation != seen_generation => Ok(None),
        Some(app) => Ok(Some(app)),
    }
}

impl Session {
    /// Carries out the repairing steps of the table for an error seen on application
    /// `generation`. Steps that repair nothing (end, retake, none) are the caller's to take.
    pub async fn recover(&self, step: Recovery, generation: u64, cause: Error) -> Result<()> {
        match step {
            Recovery::RecreateApplication => self.recover_application(generation, cause).await,
            Recovery::RestoreAvailability => self.restore_availability(generation, cause).await,
            Recovery::EndSession | Recovery::RetakeChannel | Recovery::None => Err(cause),
        }
    }

    /// Recreates the application the server forgot and, if the host had made it available,
    /// makes it available again and re-applies the desired note and location. Runs once for
    /// concurrent callers: whoever comes second sees a newer generation and returns.
    pub async fn recover_application(&self, seen_generation: u64, cause: Error) -> Result<()> {
        let _guard = self.recovery_lock.lock().await;
        let (applications, was_available, desired) = {
            let mut st = self.state();
            if recovery_target(&st, seen_generation)?.is_none() {
                return Ok(());
            }
            if let Err(wait) = st.app.take_recreation(Instant::now()) {
                return Err(Error::InvalidState(format!(
                    "the application was lost {} times within {} minutes; the next one is recreated in {} s",
                    pacing::RECREATIONS,
                    pacing::RECREATION_WINDOW.as_secs() / 60,
                    wait.as_secs().max(1)
                )));
            }
            (
                st.app.applications_url(),
                st.app.is_available(),
                st.desired.availability(),
            )
        };
        let applications =
            applications.ok_or_else(|| Error::InvalidState("not signed in".into()))?;
        self.connection.recovering(&self.events, cause);
        let opts = self.options();
        let mut app = self.create_application(&applications, &opts).await?;
        let origin = security::origin(&app.self_url);
        let authorization = self.state().tokens.grant(&origin).map(|(a, _)| a);
        if was_available {
            app = match self.make_available_on(&app, desired, &opts).await {
                Ok(a) => a,
                Err(e) => {
                    // Keep it as the session's: the next recovery or sign-out deletes it.
                    self.adopt_or_delete(app, authorization).await;
                    return Err(e);
                }
            };
        }
        if !self.adopt_or_delete(app.clone(), authorization).await {
            return Err(Error::InvalidState("signed out during recovery".into()));
        }
        if was_available {
            self.reapply_desired(&app).await?;
        }
        self.emit(Event::ApplicationRecreated);
        self.connection.recovered(&self.events);
        Ok(())
    }

    /// What a call below the application does after it failed with `e`: `Ok` when a repair
    /// succeeded and the call is worth one more try (only after its `first` attempt), the
    /// error to give up with otherwise; a 410 ends the session on the way.
    pub(super) async fn repair_for_retry(
        &self,
        e: Error,
        first: bool,
        generation: u64,
    ) -> Result<()> {
        match Recovery::for_error(&e) {
            r if first && r.repairs() => self.recover(r, generation, e).await,
            Recovery::EndSession => {
                self.end_session(Some(e.clone()));
                Err(e)
            }
            _ => Err(e),
        }
    }

    /// How long until recovery may create another application, when its budget is used up.
    pub fn recreation_wait(&self) -> Option<Duration> {
        self.state().app.recreation_wait(Instant::now())
    }

    /// makeMeAvailable again on the same application (the server put it back in lurker mode).
    pub async fn restore_availability(&self, seen_generation: u64, cause: Error) -> Result<()> {
        let _guard = self.recovery_lock.lock().await;
        let (app, desired) = {
            let st = self.state();
            match recovery_target(&st, seen_generation)? {
                Some(app) => (app, st.desired.availability()),
                None => return Ok(()),
            }
        };
        self.connection.recovering(&self.events, cause);
        let opts = self.options();
        let app = self.make_available_on(&app, desired, &opts).await?;
        self.state().app.replace(app.clone());
        self.reapply_desired(&app).await?;
        self.connection.recovered(&self.events);
        Ok(())
    }

    /// Makes a new (or restored) application's presence the effective state and the
    /// location, which then stand on the server.
    pub(super) async fn reapply_desired(&self, app: &App) -> Result<()> {
        let posts = self.state().desired.posts(app);
        for (step, url, body) in posts {
            self.call(step, Method::POST, url, Payload::json(&body))
                .await?;
        }
        self.state().desired.reapplied();
        Ok(())
    }
}
