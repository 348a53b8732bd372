//! Presence operations on the made-available application: availability (recorded as the
//! desired state before the POST), note and location, activity reports, and enforcement of the
//! host's availability over changes made elsewhere.

use std::sync::atomic::Ordering;

use reqwest::Method;
use serde_json::json;

use super::{InFlight, Payload, Session};
use crate::error::{Result, Step};
use crate::hal::Resource;
use crate::resources::{presence_from, TextField};
use crate::types::{Availability, Presence, Settable};

impl Session {
    pub async fn set_availability(&self, a: Settable) -> Result<()> {
        self.available_app(Step::SetPresence)?;
        let body = json!({ "availability": a.wire_name() });
        self.post_availability(Some(a), Payload::json(&body)).await
    }

    pub async fn reset_availability(&self) -> Result<()> {
        self.post_availability(None, Payload::Empty).await
    }

    /// POSTs presence with the desired availability recorded *before* the request: the
    /// confirmation event can overtake the response, and the supervisor must not mistake the
    /// host's own change for one made elsewhere. A failed POST restores the previous choice.
    pub(super) async fn post_availability(
        &self,
        desired: Option<Settable>,
        payload: Payload,
    ) -> Result<()> {
        let previous = self.state().desired.choose_availability(desired);
        let in_flight = InFlight::enter(&self.presence_posts);
        let result = self
            .app_call(Step::SetPresence, "presence", Method::POST, payload)
            .await;
        drop(in_flight);
        if result.is_err() {
            self.state().desired.undo_availability(desired, previous);
        }
        result.map(|_| ())
    }

    pub async fn get_presence(&self) -> Result<Presence> {
        let reply = self
            .app_call(Step::GetPresence, "presence", Method::GET, Payload::Empty)
            .await?;
        presence_from(Step::GetPresence, &reply.resource(Step::GetPresence)?)
    }

    /// Sets the note or the location; `""` clears it. It joins the desired state.
    pub async fn set_text(&self, field: TextField, value: &str) -> Result<()> {
        let body = json!({ field.property(): value });
        self.app_call(
            field.step(),
            field.rel(),
            Method::POST,
            Payload::json(&body),
        )
        .await?;
        self.state().desired.set_text(field, value);
        Ok(())
    }

    pub async fn get_text(&self, field: TextField) -> Result<Option<String>> {
        let reply = self
            .app_call(field.step(), field.rel(), Method::GET, Payload::Empty)
            .await?;
        let res = Resource::parse(field.step(), &reply.url, &reply.body)?;
        Ok(field.read(&res))
    }

    pub async fn report_activity(&self) -> Result<()> {
        self.app_call(
            Step::ReportActivity,
            "reportMyActivity",
            Method::POST,
            Payload::Empty,
        )
        .await
        .map(|_| ())
    }

    /// enforce_presence: after an event showed something other than the host's availability,
    /// checks the server's current presence (events can be stale echoes of the host's own
    /// earlier changes) and POSTs the host's availability again if it really differs. A server
    /// that shows a chosen value differently (e.g. Offwork read back as Away) is remembered,
    /// so enforcement never loops.
    pub async fn enforce_availability(&self) -> Result<()> {
        if self.presence_posts.load(Ordering::Acquire) > 0 {
            return Ok(()); // the host's own change decides
        }
        let Some(desired) = self.state().desired.availability() else {
            return Ok(());
        };
        let now = self.get_presence().await?.availability;
        if now == desired.get()
            || matches!(now, Availability::IdleOnline | Availability::IdleBusy)
            || self.state().desired.is_shown_as(desired.get(), now)
        {
            return Ok(());
        }
        // The host may have chosen again while we looked: its choice wins.
        if self.presence_posts.load(Ordering::Acquire) > 0
            || self.state().desired.availability() != Some(desired)
        {
            return Ok(());
        }
        self.set_availability(desired).await?;
        let after = self.get_presence().await?.availability;
        if after != desired.get() {
            self.state().desired.shown_as(desired.get(), after);
        }
        Ok(())
    }
}
