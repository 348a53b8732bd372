//! The public, blocking Rust API: a `Client` that signs in, makes itself available, sets and
//! reads presence, keeps it true, and reads other people's presence (contacts). Each call runs on the caller's thread over the shared
//! engine and is bounded in time: one HTTP exchange by `timeout_ms`, a whole call (with its
//! bounded recovery and retries) by four times that.

use std::sync::Arc;
use std::time::Duration;

use crate::engine;
use crate::error::{Error, Result, Step};
use crate::events::NoEvent;
use crate::resources::TextField;
use crate::session::{expiry, layer_note, source_name, Session, MAX_CONTACTS_PER_CALL};
use crate::types::{Availability, EffectivePresence, Event, Presence, Settable};

/// How long `close` (and so `ucwa_client_free`) may spend signing out.
pub const CLOSE_SIGN_OUT_BOUND: Duration = Duration::from_secs(5);

/// A UCWA client for one user. Cheap to clone; clones share the session. Thread-safe.
/// When the last clone is dropped the client is closed (as by [`Client::close`]).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Session>,
    _closer: Arc<CloseOnDrop>,
}

/// Closes the session when the last `Client` clone goes; the supervisor's tasks hold `Session`
/// but not this, so they cannot keep an abandoned client alive.
struct CloseOnDrop(Arc<Session>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        close(&self.0);
    }
}

fn close(inner: &Arc<Session>) {
    if inner.is_closed() {
        return;
    }
    let blocking = tokio::runtime::Handle::try_current().is_err();
    if blocking {
        let i = inner.clone();
        let _ = engine::block_on(async move {
            i.sign_out_bounded(CLOSE_SIGN_OUT_BOUND).await;
            Ok(())
        });
    }
    inner.close();
    if blocking {
        let i = inner.clone();
        let _ = engine::block_on(async move {
            i.tasks_ended(crate::session::TASKS_END_BOUND).await;
            Ok(())
        });
    }
}

/// Longest contact accepted (a SIP URI's address part is an e-mail-like address).
const MAX_CONTACT_LEN: usize = 256;

/// A contact as the host names it, `sip:bob@contoso.com` or `bob@contoso.com`, checked and
/// reduced to the bare address: one `@` between a non-empty user part and domain, and none of
/// the characters that would change the meaning of a path (`/ ? # % \`), whitespace or controls.
fn contact_address(contact: &str) -> Result<String> {
    let bad = |why: &str| Err(Error::InvalidArgument(format!("contact: {why}")));
    if contact.len() > MAX_CONTACT_LEN {
        return bad(&format!("longer than {MAX_CONTACT_LEN} bytes"));
    }
    let address = match contact.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("sip:") => &contact[4..],
        _ => contact,
    };
    if address
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "/?#%\\".contains(c))
    {
        return bad("not a SIP address (it holds a space, a control or one of / ? # % \\)");
    }
    match address.split_once('@') {
        Some((user, domain)) if !user.is_empty() && !domain.is_empty() && !domain.contains('@') => {
            Ok(address.to_string())
        }
        _ => bad("expected sip:user@domain or user@domain"),
    }
}

/// A host's list of contacts, each checked as [`contact_address`]; at most
/// `MAX_CONTACTS_PER_CALL`.
fn contact_list<S: AsRef<str>>(contacts: &[S]) -> Result<Vec<String>> {
    if contacts.len() > MAX_CONTACTS_PER_CALL {
        return Err(Error::InvalidArgument(format!(
            "contacts: {} given, at most {MAX_CONTACTS_PER_CALL} a call",
            contacts.len()
        )));
    }
    contacts
        .iter()
        .map(|c| contact_address(c.as_ref()))
        .collect()
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// `server` is a discovery URL (`https://lyncdiscover.contoso.com`, `http://127.0.0.1:8080/`)
    /// or a bare SIP domain (`contoso.com`). Nothing is sent until `sign_in`.
    pub fn new(server: &str) -> Result<Client> {
        let inner = Arc::new(Session::new(server)?);
        Ok(Client {
            _closer: Arc::new(CloseOnDrop(inner.clone())),
            inner,
        })
    }

    /// Sets an option by key (see `options::KEYS`). Unknown keys and bad values are refused.
    pub fn set_option(&self, key: &str, value: &str) -> Result<()> {
        self.inner.set_option(key, value)
    }

    fn run<T>(&self, step: Step, fut: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        if self.inner.is_closed() {
            return Err(Error::InvalidState("the client was freed".into()));
        }
        let bound = self.inner.options().timeout * 4;
        // Boxed where it is made: a session future is several KiB, and each move of it on the
        // way into the runtime is a copy of that size on the warm path.
        let fut = Box::pin(fut);
        engine::block_on(async move {
            match tokio::time::timeout(bound, fut).await {
                Ok(r) => r,
                Err(_) => Err(Error::Timeout {
                    step,
                    detail: format!("the call did not finish within {} ms", bound.as_millis()),
                    path: String::new(),
                }),
            }
        })
    }

    /// Discovery → challenge → token → user (redirects, pool changes) → POST applications.
    /// Starts the event channel.
    pub fn sign_in(&self, username: &str, password: &str) -> Result<()> {
        let inner = self.inner.clone();
        let (u, p) = (
            username.to_string(),
            zeroize::Zeroizing::new(password.to_string()),
        );
        let started = self.run(Step::User, async move { inner.sign_in(&u, &p).await })?;
        crate::supervisor::start(self.inner.clone(), started);
        Ok(())
    }

    /// Signs in as the logged-on Windows user (the Windows grant through Windows' SSPI; no
    /// password in the host). Elsewhere it fails at once with `Status::Authentication`.
    pub fn sign_in_current_user(&self) -> Result<()> {
        let inner = self.inner.clone();
        let started = self.run(
            Step::User,
            async move { inner.sign_in_current_user().await },
        )?;
        crate::supervisor::start(self.inner.clone(), started);
        Ok(())
    }

    /// Signs in with host-supplied tokens only (modern authentication): every origin that
    /// challenges must have a token from [`Client::set_token`]. When one has none (or refuses
    /// it), the call fails with `Status::Authentication` and the error's `auth_resource` and
    /// `authorization_uri` say what to acquire. Starts the event channel; ahead of a token's
    /// expiry the host gets `Event::TokenNeeded`.
    pub fn sign_in_with_tokens(&self, username: &str) -> Result<()> {
        let inner = self.inner.clone();
        let u = username.to_string();
        let started = self.run(
            Step::User,
            async move { inner.sign_in_with_tokens(&u).await },
        )?;
        crate::supervisor::start(self.inner.clone(), started);
        Ok(())
    }

    /// Gives or replaces the bearer token for `resource` (an origin such as
    /// `https://lyncweb.contoso.com`), valid for `expires_in_s` seconds (1 to a week). May be
    /// called before sign-in and at any time after; the token goes to that origin only.
    /// Sign-out forgets every token.
    pub fn set_token(&self, resource: &str, access_token: &str, expires_in_s: u32) -> Result<()> {
        if self.inner.is_closed() {
            return Err(Error::InvalidState("the client was freed".into()));
        }
        self.inner.set_token(resource, access_token, expires_in_s)
    }

    /// makeMeAvailable; `sign_in_as` `Unspecified` lets the server choose. Starts activity reports.
    pub fn make_me_available(&self, sign_in_as: Availability) -> Result<()> {
        let goal = match sign_in_as {
            Availability::Unspecified => None,
            a => Some(Settable::new(a)?),
        };
        self.run(Step::MakeMeAvailable, self.inner.make_me_available(goal))
    }

    /// Sets the person's preferred availability (one of the six settable ones) without
    /// expiry: it decides over every source until cleared ([`Client::reset_availability`],
    /// [`Client::clear_preferred_availability`]). The same as
    /// [`Client::set_preferred_availability`] with no expiry.
    pub fn set_availability(&self, availability: Availability) -> Result<()> {
        let a = Settable::new(availability)?;
        self.run(Step::SetPresence, self.inner.set_availability(a))
    }

    /// Clears the preferred choice, handing the decision to the sources; when no source is
    /// live, an empty POST lets the server derive the availability again.
    pub fn reset_availability(&self) -> Result<()> {
        self.run(Step::SetPresence, self.inner.reset_availability())
    }

    /// Sets presence source `source` (1 to `MAX_SOURCE_NAME` characters, no control
    /// characters; at most `MAX_SOURCES` live a client): `availability` (1..6), an optional
    /// `note` (at most `MAX_LAYER_NOTE` characters; `None` or `""`: none) and an optional
    /// expiry (1 s to `MAX_EXPIRY`; `None`: until cleared). Setting a live source replaces it.
    /// The effective presence is the live preferred choice, else the live source of highest
    /// precedence (DoNotDisturb > Busy > BeRightBack > Online > Away > OffWork, the latest set
    /// among equals), else nobody decides. Only a change of the effective state goes to the
    /// server, paced (`pacing::PRESENCE_BURST` at once, then one per `PRESENCE_SPACING`; the
    /// last state always lands, sent by the keep-alive when the pace held it back). Needs
    /// makeMeAvailable (`InvalidState` before); bad input is `InvalidArgument` and changes
    /// nothing.
    pub fn set_source_presence(
        &self,
        source: &str,
        availability: Availability,
        note: Option<&str>,
        expires: Option<Duration>,
    ) -> Result<()> {
        let name = source_name(source)?.to_string();
        let a = Settable::new(availability)?;
        let note = layer_note(note)?;
        let expires = expiry(expires)?;
        let inner = self.inner.clone();
        self.run(Step::SetPresence, async move {
            inner.set_source(&name, a, note, expires).await
        })
    }

    /// Removes presence source `source` (a source not live is no error); the decision goes to
    /// the next layer. Needs makeMeAvailable; a bad name is `InvalidArgument`.
    pub fn clear_source_presence(&self, source: &str) -> Result<()> {
        let name = source_name(source)?.to_string();
        let inner = self.inner.clone();
        self.run(
            Step::SetPresence,
            async move { inner.clear_source(&name).await },
        )
    }

    /// Sets the person's preferred availability (1..6), which decides over every source,
    /// for `expires` (1 s to `MAX_EXPIRY`; `None`: until cleared); when it expires the
    /// sources decide again. Needs makeMeAvailable; bad input changes nothing.
    pub fn set_preferred_availability(
        &self,
        availability: Availability,
        expires: Option<Duration>,
    ) -> Result<()> {
        let a = Settable::new(availability)?;
        let expires = expiry(expires)?;
        self.run(
            Step::SetPresence,
            self.inner.set_preferred(Some((a, expires))),
        )
    }

    /// Clears the preferred choice: the sources decide again (nobody, when none is live: the
    /// server's state then stands as it is). Needs makeMeAvailable.
    pub fn clear_preferred_availability(&self) -> Result<()> {
        self.run(Step::SetPresence, self.inner.set_preferred(None))
    }

    /// Sets the host's note for `expires` (1 s to `MAX_EXPIRY`, at most `MAX_LAYER_NOTE`
    /// characters); when it expires, the note set before it comes back. `None`: the same as
    /// [`Client::set_note`]. A deciding source's own note shows over it.
    pub fn set_note_until(&self, message: &str, expires: Option<Duration>) -> Result<()> {
        let message = layer_note(Some(message))?.unwrap_or_default();
        let expires = expiry(expires)?;
        let inner = self.inner.clone();
        self.run(Step::Note, async move {
            inner.set_note(&message, expires).await
        })
    }

    /// The presence the library keeps and who decides it, with the live preferred choice and
    /// sources (and how long each has left). Read locally; nothing is sent.
    pub fn effective_presence(&self) -> EffectivePresence {
        self.inner.effective_presence()
    }

    pub fn presence(&self) -> Result<Presence> {
        self.run(Step::GetPresence, self.inner.get_presence())
    }

    /// Sets the host's note, without expiry (it replaces a timed note too); `""` clears it.
    /// A deciding source's own note shows over it; it goes to the server when it is what
    /// shows.
    pub fn set_note(&self, message: &str) -> Result<()> {
        self.run(Step::Note, self.inner.set_note(message, None))
    }

    pub fn note(&self) -> Result<Option<String>> {
        self.run(Step::Note, self.inner.get_text(TextField::Note))
    }

    /// Sets the location (at most 60 characters on real servers); `""` clears it.
    pub fn set_location(&self, location: &str) -> Result<()> {
        self.run(Step::Location, self.inner.set_location(location))
    }

    pub fn location(&self) -> Result<Option<String>> {
        self.run(Step::Location, self.inner.get_text(TextField::Location))
    }

    /// A contact's presence (availability and activity). `contact` is `sip:bob@contoso.com` or
    /// `bob@contoso.com`. Works once signed in (makeMeAvailable is not needed). A contact the
    /// server does not know is `Status::Server` with its 404 code/subcode.
    pub fn contact_presence(&self, contact: &str) -> Result<Presence> {
        let address = contact_address(contact)?;
        let inner = self.inner.clone();
        self.run(Step::Contact, async move {
            inner.get_contact_presence(&address).await
        })
    }

    /// A contact's note (`None` when it has none); as [`Client::contact_presence`].
    pub fn contact_note(&self, contact: &str) -> Result<Option<String>> {
        let address = contact_address(contact)?;
        let inner = self.inner.clone();
        self.run(Step::Contact, async move {
            inner.get_contact_text(&address, TextField::Note).await
        })
    }

    /// A contact's location (`None` when it has none); as [`Client::contact_presence`].
    pub fn contact_location(&self, contact: &str) -> Result<Option<String>> {
        let address = contact_address(contact)?;
        let inner = self.inner.clone();
        self.run(Step::Contact, async move {
            inner.get_contact_text(&address, TextField::Location).await
        })
    }

    /// Many contacts' availability, in the order given, read through UCWA `batch` (at most
    /// `MAX_BATCH_PARTS` reads a request; a contact whose links are not yet known takes one more
    /// batched read, once). A contact the server does not know is `Availability::Unknown` and
    /// the call still succeeds. At most `MAX_CONTACTS_PER_CALL` contacts a call; an empty list
    /// sends nothing.
    pub fn contacts_availability<S: AsRef<str>>(
        &self,
        contacts: &[S],
    ) -> Result<Vec<Availability>> {
        let addresses = contact_list(contacts)?;
        if addresses.is_empty() {
            return Ok(Vec::new());
        }
        let inner = self.inner.clone();
        self.run(Step::Contact, async move {
            inner.get_contacts_availability(&addresses).await
        })
    }

    /// Watches contacts' presence, note and location: their changes arrive as
    /// `Event::ContactPresenceChanged`, `ContactNoteChanged` and `ContactLocationChanged`. The
    /// library keeps the server's presence subscription alive (extends it every
    /// `subscription_refresh_s`, creates it again after it expired or the application was
    /// recreated) until the contacts are unsubscribed, the user signs out or the client is
    /// freed. Subscribing twice is harmless. Needs sign-in, not makeMeAvailable. At most
    /// `MAX_CONTACTS_PER_CALL` contacts a call and `MAX_SUBSCRIBED_CONTACTS` in all; when the
    /// server refuses (e.g. an unknown contact), none of this call's contacts is added.
    pub fn subscribe_presence<S: AsRef<str>>(&self, contacts: &[S]) -> Result<()> {
        let addresses = contact_list(contacts)?;
        if addresses.is_empty() {
            return Ok(());
        }
        let inner = self.inner.clone();
        self.run(Step::Subscription, async move {
            inner.subscribe(&addresses).await
        })
    }

    /// Stops watching contacts: from the moment this is called no event comes for them, even
    /// when telling the server fails (that error is returned, and the library tells the server
    /// again later). Contacts not subscribed are ignored.
    pub fn unsubscribe_presence<S: AsRef<str>>(&self, contacts: &[S]) -> Result<()> {
        let addresses = contact_list(contacts)?;
        if addresses.is_empty() {
            return Ok(());
        }
        let inner = self.inner.clone();
        self.run(Step::Subscription, async move {
            inner.unsubscribe(&addresses).await
        })
    }

    /// How many contacts are subscribed now.
    pub fn subscribed_contacts(&self) -> usize {
        self.inner.watched_count()
    }

    /// How many contacts' links the client keeps (bounded by `MAX_CACHED_CONTACTS`).
    pub fn cached_contacts(&self) -> usize {
        self.inner.cached_contacts()
    }

    /// reportMyActivity now (the supervisor also does it on its timer).
    pub fn report_activity(&self) -> Result<()> {
        self.run(Step::ReportActivity, self.inner.report_activity())
    }

    /// DELETE the application and forget the session (token, password, links).
    pub fn sign_out(&self) -> Result<()> {
        self.run(Step::SignOut, self.inner.sign_out())
    }

    /// The next supervisor event, waiting up to `timeout`. `Ok(None)` on timeout;
    /// `InvalidState` when signed out with nothing left to read, or when freed.
    pub fn next_event(&self, timeout: Duration) -> Result<Option<Event>> {
        match self.inner.events.next(timeout) {
            Ok(e) => Ok(Some(e)),
            Err(NoEvent::TimedOut) => Ok(None),
            Err(NoEvent::SignedOut) => Err(Error::InvalidState(
                "not signed in: no events will come".into(),
            )),
            Err(NoEvent::Closed) => Err(Error::InvalidState("the client was freed".into())),
        }
    }

    /// How many HTTP requests this client has sent (all of them, background ones included).
    pub fn request_count(&self) -> u64 {
        self.inner.request_count()
    }

    /// The id this client's log records carry (field `client` of its `tracing` events,
    /// [`crate::log::Record::client`]): a process-unique number, or, for a client made through
    /// the C ABI, its handle's value.
    pub fn log_id(&self) -> u64 {
        self.inner.log_id()
    }

    /// Gives the client's records another id (the C ABI uses the handle's value).
    pub(crate) fn set_log_id(&self, id: u64) {
        self.inner.set_log_id(id);
    }

    /// Stops background work and signs out within a bounded time. Idempotent.
    pub fn close(&self) {
        close(&self.inner);
    }
}
