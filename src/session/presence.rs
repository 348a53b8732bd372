//! Presence operations on the made-available application: the availability the host chooses
//! (the preferred choice, composed with the sources in `composing`), reading presence, note and
//! location, setting the location, and activity reports.

use reqwest::Method;
use serde_json::json;

use super::{Payload, Session};
use crate::error::{Result, Step};
use crate::hal::Resource;
use crate::resources::{presence_from, TextField};
use crate::types::{Presence, Settable};

impl Session {
    /// The person's preferred availability, without expiry.
    pub async fn set_availability(&self, a: Settable) -> Result<()> {
        self.set_preferred(Some((a, None))).await
    }

    pub async fn get_presence(&self) -> Result<Presence> {
        let reply = self
            .app_call(Step::GetPresence, "presence", Method::GET, Payload::Empty)
            .await?;
        presence_from(Step::GetPresence, &reply.resource(Step::GetPresence)?)
    }

    /// Sets the location; `""` clears it. It joins the desired state.
    pub async fn set_location(&self, value: &str) -> Result<()> {
        let field = TextField::Location;
        let body = json!({ field.property(): value });
        self.app_call(
            field.step(),
            field.rel(),
            Method::POST,
            Payload::json(&body),
        )
        .await?;
        self.state().desired.set_location(value);
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
}
