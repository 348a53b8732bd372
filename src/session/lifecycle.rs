//! Sign-in (discovery, the user resource and its redirects, the first application) and
//! sign-out (the session marked ending, a running recovery waited for, then the DELETE), and
//! the session's run ([`Run`]): its number, its ending and the signal that stops its tasks.

use std::time::Duration;

use reqwest::Method;
use url::Url;
use zeroize::Zeroizing;

use super::{Payload, Session, Started};
use crate::auth::{self, Identity};
use crate::discovery;
use crate::error::{Error, Result, Step};
use crate::hal::Resource;
use crate::options::Options;
use crate::security::TrustedHosts;
use crate::types::Event;

/// How many user→redirect hops sign-in follows.
const MAX_USER_HOPS: usize = 5;

/// The longest sign-out and free wait for the supervisor tasks to end (they stop at their
/// next await, normally within milliseconds).
pub const TASKS_END_BOUND: Duration = Duration::from_secs(2);

/// One signed-in run of the session, as the supervisor and recovery see it.
#[derive(Default)]
pub struct Run {
    /// Bumped at every sign-in; supervisor tasks of an older session stop.
    session: u64,
    /// Set by sign-out (and so by free) before its DELETE: from then on nothing may create an
    /// application or recover one, so our own DELETE can never be mistaken for a lost
    /// application and answered with a new one nobody deletes.
    ending: bool,
    /// Stops the supervisor tasks of the current session.
    stop: Option<tokio::sync::watch::Sender<bool>>,
}

impl Run {
    /// A sign-in succeeded: a new session number, stopped by `stop`.
    fn start(&mut self, stop: tokio::sync::watch::Sender<bool>) -> u64 {
        self.session += 1;
        self.stop = Some(stop);
        self.session
    }

    /// Sign-out began: the tasks stop, nothing recovers any more.
    fn end(&mut self) {
        self.ending = true;
        self.stop_tasks();
    }

    fn stop_tasks(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
    }

    /// Whether sign-out began.
    pub fn ending(&self) -> bool {
        self.ending
    }

    /// Whether `session` is this run and it is not ending.
    pub fn is(&self, session: u64) -> bool {
        self.session == session && !self.ending
    }

    /// The session was forgotten: its tasks stop; the number carries on.
    pub fn forget(&mut self) {
        self.ending = false;
        self.stop_tasks();
    }
}

impl Session {
    /// Signs in with a user name and password; the caller starts the supervisor with what this
    /// returns. The name may be the SIP address, a UPN, or `DOMAIN\user` (Windows grant).
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<Started> {
        if password.is_empty() {
            return Err(Error::InvalidArgument("password is empty".into()));
        }
        let username = username.trim();
        let identity = Identity::Named {
            username: username
                .strip_prefix("sip:")
                .unwrap_or(username)
                .to_string(),
            password: Zeroizing::new(password.to_string()),
        };
        self.sign_in_as(username, Some(identity)).await
    }

    /// Signs in with the tokens the host gave (`set_token`) and nothing else.
    pub async fn sign_in_with_tokens(&self, username: &str) -> Result<Started> {
        self.sign_in_as(username, None).await
    }

    /// Signs in as the logged-on Windows user (the Windows grant through the system's SSPI);
    /// elsewhere it fails at once, before anything is sent.
    pub async fn sign_in_current_user(&self) -> Result<Started> {
        if !cfg!(windows) {
            return Err(Error::Authentication {
                step: Step::Token,
                detail: auth::CURRENT_USER_ELSEWHERE.into(),
                http_status: None,
                diagnostics: None,
            });
        }
        self.sign_in_as("", Some(Identity::CurrentUser)).await
    }

    /// The sign-in domain of a user name (the passwords and tokens may go there): the domain of
    /// a SIP address or UPN; none for `DOMAIN\user` and the current user, whose sign-in trusts
    /// the discovery host and the allowed hosts only.
    fn sign_in_domain(username: &str, identity: Option<&Identity>) -> Result<Option<String>> {
        match (identity, username.split_once('\\')) {
            (Some(Identity::CurrentUser), _) => return Ok(None),
            (Some(Identity::Named { .. }), Some((domain, user))) => {
                if domain.trim().is_empty() || user.trim().is_empty() {
                    return Err(Error::InvalidArgument(
                        "a DOMAIN\\user name needs both the domain and the user".into(),
                    ));
                }
                return Ok(None);
            }
            _ => {}
        }
        username
            .trim_start_matches("sip:")
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .map(Some)
            .ok_or_else(|| {
                Error::InvalidArgument(
                    "username must be a sign-in address like user@contoso.com (or DOMAIN\\user with a password)".into(),
                )
            })
    }

    async fn sign_in_as(&self, username: &str, identity: Option<Identity>) -> Result<Started> {
        let username = username.trim();
        let domain = Self::sign_in_domain(username, identity.as_ref())?;
        self.secrets.add_identity(username);
        crate::log::ucwa_log!(
            Info,
            &self.secrets,
            "sign-in as {username}, discovery from {}",
            self.candidates
                .iter()
                .map(crate::transport::shown_url)
                .collect::<Vec<_>>()
                .join(" then ")
        );
        let _life = self.lifecycle_lock.lock().await;
        let opts = self.options();
        {
            let mut st = self.state();
            if st.app.is_signed_in() {
                return Err(Error::InvalidState(
                    "already signed in; sign out first".into(),
                ));
            }
            let trusted = TrustedHosts::new(
                domain.as_deref(),
                self.candidates.first(),
                &opts.allowed_hosts,
            );
            st.tokens.begin(identity, trusted);
            st.app.begin();
            st.desired = Default::default();
        }
        self.forget_subscriptions();
        match self.sign_in_steps(&opts).await {
            Ok(started) => Ok(started),
            Err(e) => {
                // The host's tokens outlive a failed sign-in: it may retry with them, or add
                // the one the error asks for.
                self.state().forget(true);
                self.forget_subscriptions();
                Err(e)
            }
        }
    }

    pub(super) async fn sign_in_steps(&self, opts: &Options) -> Result<Started> {
        let ex = self.exchange(opts, opts.timeout)?;
        let trusted = self.state().tokens.trusted().clone();
        let user_url = discovery::discover(&ex, &self.candidates, &trusted).await?;
        let applications = self.resolve_user(user_url).await?;
        self.state().app.set_applications_url(applications.clone());
        let app = self.create_application(&applications, opts).await?;
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let session = {
            let mut st = self.state();
            st.app.signed_in(app);
            st.run.start(stop_tx)
        };
        self.events.set_idle(false);
        crate::log::ucwa_log!(
            Info,
            &self.secrets,
            "signed in: application {}",
            crate::transport::shown_url(
                &self
                    .state()
                    .app
                    .app()
                    .map(|a| a.self_url.clone())
                    .unwrap_or(applications)
            )
        );
        self.connection.connected(&self.events);
        Ok(Started { session, stop })
    }

    /// GET user (answering challenges), following `redirect` hops, to the applications URL.
    pub(super) async fn resolve_user(&self, mut user_url: Url) -> Result<Url> {
        for _ in 0..MAX_USER_HOPS {
            let reply = self
                .call(Step::User, Method::GET, &user_url, Payload::Empty)
                .await?;
            let user = Resource::parse(Step::User, &user_url, &reply.body)?;
            if let Some(apps) = user.link("applications") {
                return Ok(apps);
            }
            let redirect = user.require_link(Step::User, "redirect")?;
            let reply = self
                .call(Step::User, Method::GET, &redirect, Payload::Empty)
                .await?;
            let redirect_res = Resource::parse(Step::User, &redirect, &reply.body)?;
            user_url = redirect_res.require_link(Step::User, "user")?;
        }
        Err(Error::Protocol {
            step: Step::User,
            detail: format!("more than {MAX_USER_HOPS} user redirects"),
            http_status: None,
            path: user_url.path().to_string(),
        })
    }

    /// DELETE the application, then forget the session. The session is forgotten even when
    /// the DELETE fails (the server ends an abandoned application by itself).
    pub async fn sign_out(&self) -> Result<()> {
        let _life = self.lifecycle_lock.lock().await;
        {
            let mut st = self.state();
            if !st.app.is_signed_in() {
                return Err(Error::InvalidState("not signed in".into()));
            }
            st.run.end();
        }
        // A recovery already running finishes first, so the application it may create is
        // the one deleted below; any later one refuses to start (`ending`).
        let _recovery = self.recovery_lock.lock().await;
        let app = self.state().app.app();
        let result = match app {
            Some(app) => match self
                .call(Step::SignOut, Method::DELETE, &app.self_url, Payload::Empty)
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if e.is_application_gone() || e.is_gone() => Ok(()),
                Err(e) => Err(e),
            },
            None => Ok(()),
        };
        crate::log::ucwa_log!(
            Info,
            &self.secrets,
            "signed out (DELETE application: {})",
            match &result {
                Ok(()) => "done".to_string(),
                Err(e) => e.to_string(),
            }
        );
        self.state().forget(false);
        self.forget_subscriptions();
        self.secrets.clear();
        self.emit(Event::SignedOut { reason: None });
        self.events.set_idle(true);
        // A task part-way through a recovery waits for this lock: let it go first.
        drop(_recovery);
        self.tasks_ended(TASKS_END_BOUND).await;
        result
    }

    /// Signs out as part of free: bounded by `bound`, ignoring failures.
    pub async fn sign_out_bounded(&self, bound: Duration) {
        let active = self.state().app.is_signed_in();
        if active {
            let _ = tokio::time::timeout(bound, self.sign_out()).await;
        }
    }
}
