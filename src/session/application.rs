//! The application: created (POST applications), refreshed (its links appear after
//! makeMeAvailable), made available, and the calls to its links that recover once from an
//! application the server lost.

use reqwest::Method;
use serde_json::json;
use url::Url;
use zeroize::Zeroizing;

use super::{Payload, Session};
use crate::error::{Error, Result, Step};
use crate::hal::Resource;
use crate::options::Options;
use crate::resources::App;
use crate::transport::{Body, Reply};
use crate::types::Settable;

impl Session {
    pub(super) async fn create_application(
        &self,
        applications: &Url,
        opts: &Options,
    ) -> Result<App> {
        let body = json!({
            "userAgent": opts.user_agent,
            "endpointId": opts.endpoint_id,
            "culture": opts.culture,
        });
        let reply = self
            .call(
                Step::Application,
                Method::POST,
                applications,
                Payload::json(&body),
            )
            .await?;
        let res = Resource::parse(Step::Application, applications, &reply.body)?;
        let generation = self.state().app.next_generation();
        App::from_resource(&res, generation)
    }

    /// GET application: refreshes the links (they appear after makeMeAvailable).
    pub(super) async fn refresh_application(&self, app: &App) -> Result<App> {
        let reply = self
            .call(
                Step::Application,
                Method::GET,
                &app.self_url,
                Payload::Empty,
            )
            .await?;
        let res = Resource::parse(Step::Application, &app.self_url, &reply.body)?;
        App::from_resource(&res, app.generation)
    }

    /// makeMeAvailable; `desired` (None: let the server choose) becomes the state kept true.
    pub async fn make_me_available(&self, desired: Option<Settable>) -> Result<()> {
        let _life = self.lifecycle_lock.lock().await;
        let app = self.current_app(Step::MakeMeAvailable)?;
        let opts = self.options();
        let result = self.make_available_on(&app, desired, &opts).await;
        let result = match result {
            Err(e) if e.is_application_gone() => {
                self.recover_application(app.generation, e).await?;
                // recovery made the new application available only if it was before
                let app = self.current_app(Step::MakeMeAvailable)?;
                self.make_available_on(&app, desired, &opts).await
            }
            other => other,
        };
        let refreshed = result?;
        let event = {
            let mut st = self.state();
            let adopted = st.app.made_available(refreshed);
            match desired {
                Some(goal) if adopted => st.desired.made_available(goal),
                _ => None,
            }
        };
        if let Some(e) = event {
            self.emit(e);
        }
        Ok(())
    }

    /// POST makeMeAvailable on one application and read back its links.
    pub(super) async fn make_available_on(
        &self,
        app: &App,
        sign_in_as: Option<Settable>,
        opts: &Options,
    ) -> Result<App> {
        if let Some(mma) = app.link("makeMeAvailable") {
            let mut body = json!({ "supportedModalities": opts.modalities });
            if let Some(a) = sign_in_as {
                body["signInAs"] = json!(a.wire_name());
            }
            match self
                .call(
                    Step::MakeMeAvailable,
                    Method::POST,
                    mma,
                    Payload::json(&body),
                )
                .await
            {
                Ok(_) => {}
                // Already available (e.g. a second call): the goal holds; read the links.
                Err(e) if e.is_subcode(409, "AlreadyExists") => {}
                Err(e) => return Err(e),
            }
        } else if app.link("presence").is_none() {
            return Err(Error::Protocol {
                step: Step::MakeMeAvailable,
                detail: "the application has neither a makeMeAvailable nor a presence link".into(),
                http_status: None,
                path: app.self_url.path().to_string(),
            });
        }
        let refreshed = self.refresh_application(app).await?;
        if refreshed.link("presence").is_none() {
            return Err(Error::Protocol {
                step: Step::MakeMeAvailable,
                detail: "no presence link after makeMeAvailable".into(),
                http_status: None,
                path: app.self_url.path().to_string(),
            });
        }
        Ok(refreshed)
    }

    /// A request to one of the application's links, recovering once from an application the
    /// server forgot (404) or a lost makeMeAvailable (409 MakeMeAvailableRequired).
    pub(super) async fn app_call(
        &self,
        step: Step,
        rel: &str,
        method: Method,
        payload: Payload,
    ) -> Result<Reply> {
        for attempt in 0..2 {
            let app = self.available_app(step)?;
            let url = app.link(rel).cloned().ok_or_else(|| Error::Protocol {
                step,
                detail: format!("the application has no `{rel}` link"),
                http_status: None,
                path: app.self_url.path().to_string(),
            })?;
            let e = match self.call(step, method.clone(), &url, payload.clone()).await {
                Ok(reply) => return Ok(reply),
                Err(e) => e,
            };
            self.repair_for_retry(e, attempt == 0, app.generation)
                .await?;
        }
        Err(Error::Internal("app_call retried past its bound".into()))
    }

    /// Makes a freshly created application the session's, unless the session ended meanwhile
    /// (signed out or freed while recovery ran): then it is deleted at once with the token it
    /// was created with, so recovery never leaves an application behind.
    pub(super) async fn adopt_or_delete(
        &self,
        app: App,
        authorization: Option<Zeroizing<String>>,
    ) -> bool {
        {
            let mut st = self.state();
            if st.app.is_signed_in() && !st.run.ending() && !self.is_closed() {
                st.app.replace(app);
                return true;
            }
        }
        let opts = self.options();
        // The token was taken for this URL's own origin; the transport rule holds here too.
        let allowed = crate::security::check_transport(Step::SignOut, &app.self_url).is_ok();
        if let (true, Ok(ex)) = (allowed, self.exchange(&opts, opts.timeout)) {
            let auth = authorization.as_ref().map(|a| a.as_str());
            let _ = ex
                .send(
                    Step::SignOut,
                    Method::DELETE,
                    &app.self_url,
                    auth,
                    Body::Empty,
                )
                .await;
        }
        false
    }
}
