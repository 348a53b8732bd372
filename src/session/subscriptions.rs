//! Other people's presence, watched: the host's set of subscribed contacts ([`Watched`]) and
//! the one `presenceSubscription` that carries it on the server ([`ServerSide`]), created,
//! grown, shrunk, extended before it runs out and created again when the server or a new
//! application dropped it.
//!
//! The host's set is the truth: contact events are delivered only for contacts in it, so an
//! unsubscribe takes effect at once, whatever the server does. The supervisor's housekeeper
//! calls [`Session::keep_subscription`] about once a second to bring the server in line; its
//! failures back off through `pacing`, so a server that refuses cannot be asked in a loop.
//!
//! Subscriptions need a signed-in application, not makeMeAvailable (the protocol asks for it
//! only on the user's own presence resources). Sign-out forgets them with the session.

use std::collections::{BTreeSet, HashSet};
use std::time::Instant;

use reqwest::Method;
use serde_json::json;
use url::Url;

use super::contacts::key_of;
use super::{Payload, Recovery, Session};
use crate::error::{Error, Result, Step};
use crate::hal::Resource;
use crate::pacing;
use crate::resources::App;

/// Most contacts one client may watch at once.
pub const MAX_SUBSCRIBED_CONTACTS: usize = 10_000;

/// The `duration` asked for, in minutes: the protocol's maximum (servers keep 10..30; an
/// extension adds to what remains, up to 30).
pub const SUBSCRIPTION_MINUTES: u32 = 30;

/// Most SIP URIs one create or add request carries.
const URIS_PER_REQUEST: usize = 100;

/// The host's subscribed contacts (lower-cased addresses) and what the event channel said about
/// the server's subscription. Short-held; never locked across an await.
#[derive(Default)]
pub struct Watched {
    contacts: BTreeSet<String>,
    /// The server said the subscription is about to expire: extend it now.
    refresh_now: bool,
    /// The server deleted this subscription: create it again.
    dropped: Option<Url>,
}

/// The server's subscription as this client made it, with the pace of its repairs. Held
/// across the requests that change it, so the host and the housekeeper never race.
#[derive(Default)]
pub struct ServerSide {
    live: Option<Live>,
    failures: u32,
    not_before: Option<Instant>,
}

struct Live {
    /// The application the subscription lives below; a new application has none.
    generation: u64,
    url: Url,
    add: Url,
    memberships: Url,
    members: HashSet<String>,
    refresh_at: Instant,
    /// A removal the server did not take: delete the whole subscription and start again.
    stale: bool,
}

/// The SIP URI of an address, as events and requests name contacts.
pub fn sip(address: &str) -> String {
    format!("sip:{address}")
}

/// The contact address a path segment names (percent-decoded, lower-cased), when it is one.
fn address_in(segment: &str) -> Option<String> {
    let address = percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()?
        .to_ascii_lowercase();
    let (user, domain) = address.split_once('@')?;
    (!user.is_empty() && !domain.is_empty()).then_some(address)
}

/// The address of the contact a resource below `people` belongs to: the path segment right
/// below `people` (`<people>/bob@contoso.com/presence`), as every captured contact href has it.
pub fn contact_below(people: &Url, target: &Url) -> Option<String> {
    let base = people.path().trim_end_matches('/');
    let rest = target.path().strip_prefix(base)?.strip_prefix('/')?;
    address_in(rest.split('/').next()?)
}

impl Session {
    fn watched(&self) -> std::sync::MutexGuard<'_, Watched> {
        self.watched.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether contact events for `address` (lower-cased) go to the host.
    pub fn is_watched(&self, address: &str) -> bool {
        self.watched().contacts.contains(address)
    }

    /// How many contacts the host has subscribed to.
    pub fn watched_count(&self) -> usize {
        self.watched().contacts.len()
    }

    /// The event channel's news about the server's subscription at `url`.
    pub fn subscription_event(&self, url: &Url, deleted: bool) {
        let mut w = self.watched();
        if deleted {
            w.dropped = Some(url.clone());
        } else {
            w.refresh_now = true;
        }
    }

    /// Forgets every subscription (sign-out): the server's goes with the application.
    pub(super) fn forget_subscriptions(&self) {
        *self.watched() = Watched::default();
        if let Ok(mut server) = self.subscription.try_lock() {
            *server = ServerSide::default();
        }
    }

    /// Adds contacts to the host's set and to the server's subscription (creating it when
    /// there is none). On failure nothing of this call is added.
    pub async fn subscribe(&self, addresses: &[String]) -> Result<()> {
        let mut server = self.subscription.lock().await;
        let added: Vec<String> = {
            let w = self.watched();
            let mut seen = HashSet::new();
            let added: Vec<String> = addresses
                .iter()
                .map(|a| key_of(a))
                .filter(|k| !w.contacts.contains(k) && seen.insert(k.clone()))
                .collect();
            if w.contacts.len() + added.len() > MAX_SUBSCRIBED_CONTACTS {
                return Err(Error::InvalidArgument(format!(
                    "contacts: {} subscribed and {} more asked for; at most {MAX_SUBSCRIBED_CONTACTS} a client",
                    w.contacts.len(),
                    added.len()
                )));
            }
            added
        };
        for attempt in 0..2 {
            let app = self.current_app(Step::Subscription)?;
            let result = match server.live.as_mut() {
                Some(live) if live.generation == app.generation && !live.stale => {
                    self.add_members(live, &added).await
                }
                _ => {
                    let mut all: Vec<String> = self.watched().contacts.iter().cloned().collect();
                    all.extend(added.iter().cloned());
                    self.create_subscription(&app, &all)
                        .await
                        .map(|live| server.live = Some(live))
                }
            };
            let e = match result {
                Ok(()) => {
                    self.watched().contacts.extend(added);
                    server.failures = 0;
                    server.not_before = None;
                    return Ok(());
                }
                Err(e) => e,
            };
            // A new application has no subscription: the retry creates one.
            self.repair_for_retry(e, attempt == 0, app.generation)
                .await?;
        }
        Err(Error::Internal("subscribe retried past its bound".into()))
    }

    /// Removes contacts from the host's set at once (no event for them is delivered from now
    /// on), then from the server's subscription. A server failure is returned, and the
    /// housekeeper brings the server in line later.
    pub async fn unsubscribe(&self, addresses: &[String]) -> Result<()> {
        let mut server = self.subscription.lock().await;
        let (removed, remaining): (Vec<String>, Vec<String>) = {
            let mut w = self.watched();
            let removed = addresses
                .iter()
                .map(|a| key_of(a))
                .filter(|k| w.contacts.remove(k))
                .collect();
            (removed, w.contacts.iter().cloned().collect())
        };
        let generation = self
            .current_app(Step::Subscription)
            .ok()
            .map(|a| a.generation);
        let Some(live) = server.live.as_mut() else {
            return Ok(());
        };
        if Some(live.generation) != generation {
            // The subscription died with its application; nothing to tell the server.
            server.live = None;
            return Ok(());
        }
        let on_server: Vec<String> = removed
            .into_iter()
            .filter(|k| live.members.contains(k))
            .collect();
        if on_server.is_empty() {
            return Ok(());
        }
        let result = if remaining.is_empty() || on_server.len() > remaining.len() {
            // Fewer requests to start again than to remove one by one.
            let url = live.url.clone();
            server.live = None;
            self.subscription_call(Method::DELETE, &url, Payload::Empty)
                .await
                .map(|_| ())
        } else {
            self.remove_members(live, &on_server).await
        };
        if let (Err(_), Some(live)) = (&result, server.live.as_mut()) {
            live.stale = true;
        }
        result
    }

    /// Brings the server's subscription in line with the host's set: creates it when missing
    /// (new application, expired, deleted by the server), extends it when due, starts again
    /// after a failed removal. Skips its turn while a host call is changing it.
    pub async fn keep_subscription(&self) {
        let Ok(mut server) = self.subscription.try_lock() else {
            return;
        };
        let now = Instant::now();
        if server.not_before.is_some_and(|t| now < t) {
            return;
        }
        let Ok(app) = self.current_app(Step::Subscription) else {
            return;
        };
        let (wanted, refresh_now, dropped) = {
            let mut w = self.watched();
            (
                w.contacts.iter().cloned().collect::<Vec<_>>(),
                std::mem::take(&mut w.refresh_now),
                w.dropped.take(),
            )
        };
        if server.live.as_ref().is_some_and(|l| {
            l.generation != app.generation || dropped.as_ref().is_some_and(|d| *d == l.url)
        }) {
            server.live = None;
        }
        let result = match server.live.as_mut() {
            Some(live) if live.stale || wanted.is_empty() => {
                let url = live.url.clone();
                server.live = None;
                self.subscription_call(Method::DELETE, &url, Payload::Empty)
                    .await
                    .map(|_| ())
            }
            Some(live) if refresh_now || now >= live.refresh_at => {
                let mut url = live.url.clone();
                url.query_pairs_mut()
                    .append_pair("duration", &SUBSCRIPTION_MINUTES.to_string());
                match self
                    .subscription_call(Method::POST, &url, Payload::Empty)
                    .await
                {
                    Ok(_) => {
                        live.refresh_at = Instant::now() + self.options().subscription_refresh;
                        Ok(())
                    }
                    Err(e) if e.http_status() == Some(404) && !e.is_application_gone() => {
                        // Expired or deleted: made again at once, with every watched contact.
                        server.live = None;
                        self.create_subscription(&app, &wanted)
                            .await
                            .map(|l| server.live = Some(l))
                    }
                    Err(e) => Err(e),
                }
            }
            Some(_) => Ok(()),
            None if wanted.is_empty() => Ok(()),
            None => self
                .create_subscription(&app, &wanted)
                .await
                .map(|l| server.live = Some(l)),
        };
        match result {
            Ok(()) => {
                server.failures = 0;
                server.not_before = None;
            }
            Err(e) => {
                server.failures += 1;
                server.not_before = Some(Instant::now() + pacing::backoff(server.failures));
                match Recovery::for_error(&e) {
                    Recovery::RecreateApplication => {
                        server.live = None;
                        drop(server);
                        let _ = self
                            .recover(Recovery::RecreateApplication, app.generation, e)
                            .await;
                    }
                    Recovery::EndSession => self.end_session(Some(e)),
                    _ => {}
                }
            }
        }
    }

    async fn subscription_call(
        &self,
        method: Method,
        url: &Url,
        payload: Payload,
    ) -> Result<Resource> {
        let reply = self.call(Step::Subscription, method, url, payload).await?;
        if reply.body.is_empty() {
            return Resource::from_value(Step::Subscription, url, json!({}));
        }
        reply.resource(Step::Subscription)
    }

    /// POST presenceSubscriptions with the first contacts, then the rest through the new
    /// subscription's add link. A failure part-way deletes what was made.
    async fn create_subscription(&self, app: &App, contacts: &[String]) -> Result<Live> {
        let subscriptions =
            app.link("presenceSubscriptions")
                .cloned()
                .ok_or_else(|| Error::Protocol {
                    step: Step::Subscription,
                    detail: "the application has no `presenceSubscriptions` link".into(),
                    http_status: None,
                    path: app.self_url.path().to_string(),
                })?;
        let mut chunks = contacts.chunks(URIS_PER_REQUEST);
        let first: Vec<String> = chunks
            .next()
            .unwrap_or_default()
            .iter()
            .map(|a| sip(a))
            .collect();
        let body = json!({ "duration": SUBSCRIPTION_MINUTES, "uris": first });
        let res = self
            .subscription_call(Method::POST, &subscriptions, Payload::json(&body))
            .await?;
        let url = res.require_link(Step::Subscription, "self")?;
        let memberships = res.require_link(Step::Subscription, "memberships")?;
        let add = res
            .link("addToPresenceSubscription")
            .unwrap_or_else(|| memberships.clone());
        let mut live = Live {
            generation: app.generation,
            url,
            add,
            memberships,
            members: contacts.iter().take(URIS_PER_REQUEST).cloned().collect(),
            refresh_at: Instant::now() + self.options().subscription_refresh,
            stale: false,
        };
        let rest: Vec<String> = contacts.iter().skip(URIS_PER_REQUEST).cloned().collect();
        if let Err(e) = self.add_members(&mut live, &rest).await {
            let _ = self
                .subscription_call(Method::DELETE, &live.url, Payload::Empty)
                .await;
            return Err(e);
        }
        Ok(live)
    }

    async fn add_members(&self, live: &mut Live, contacts: &[String]) -> Result<()> {
        for chunk in contacts.chunks(URIS_PER_REQUEST) {
            let uris: Vec<String> = chunk.iter().map(|a| sip(a)).collect();
            self.subscription_call(
                Method::POST,
                &live.add,
                Payload::json(&json!({ "uris": uris })),
            )
            .await?;
            live.members.extend(chunk.iter().cloned());
        }
        Ok(())
    }

    /// Deletes the memberships of `contacts`, found through the subscription's memberships
    /// list (the server names each membership; no path is built here): one DELETE per contact
    /// asked for at most, each membership URL once, however the list repeats itself.
    async fn remove_members(&self, live: &mut Live, contacts: &[String]) -> Result<()> {
        let list = self
            .subscription_call(Method::GET, &live.memberships, Payload::Empty)
            .await?;
        let mut pending: HashSet<&String> = contacts.iter().collect();
        let mut deletes = pacing::ListRequests::new(contacts.len());
        for membership in list.embedded_list("presenceSubscriptionMembership") {
            if pending.is_empty() {
                break;
            }
            let (Some(own), Some(contact)) = (membership.link("self"), membership.link("contact"))
            else {
                continue;
            };
            let address = contact
                .path_segments()
                .and_then(|mut s| s.next_back().and_then(address_in));
            let Some(address) = address.filter(|a| pending.contains(a)) else {
                continue;
            };
            if !deletes.admit(&own) {
                continue;
            }
            self.subscription_call(Method::DELETE, &own, Payload::Empty)
                .await?;
            pending.remove(&address);
            live.members.remove(&address);
        }
        // Whatever the list did not name is not on the server either.
        for c in contacts {
            live.members.remove(c);
        }
        Ok(())
    }
}
