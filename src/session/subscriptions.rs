//! Other people's presence, watched: the host's set of subscribed contacts ([`Watched`]) and
//! the one `presenceSubscription` that carries it on the server ([`ServerSide`]), each owning
//! its fields in `watching`; here, the requests by which the subscription is created, grown,
//! shrunk, extended before it runs out and created again when the server or a new application
//! dropped it.
//!
//! The host's set is the truth: contact events are delivered only for contacts in it, so an
//! unsubscribe takes effect at once, whatever the server does. The supervisor's housekeeper
//! calls [`Session::keep_subscription`] about once a second to bring the server in line; its
//! failures back off through `pacing`, so a server that refuses cannot be asked in a loop.
//!
//! Subscriptions need a signed-in application, not makeMeAvailable (the protocol asks for it
//! only on the user's own presence resources). Sign-out forgets them with the session.

use std::collections::HashSet;
use std::time::Instant;

use reqwest::Method;
use serde_json::json;
use url::Url;

use super::watching::{Keep, Live};
pub use super::watching::{ServerSide, Watched, MAX_SUBSCRIBED_CONTACTS};
use super::{Payload, Recovery, Session};
use crate::error::{Error, Result, Step};
use crate::hal::Resource;
use crate::pacing;
use crate::resources::App;

/// The `duration` asked for, in minutes: the protocol's maximum (servers keep 10..30; an
/// extension adds to what remains, up to 30).
pub const SUBSCRIPTION_MINUTES: u32 = 30;

/// Most SIP URIs one create or add request carries.
const URIS_PER_REQUEST: usize = 100;

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
        self.watched().contains(address)
    }

    /// How many contacts the host has subscribed to.
    pub fn watched_count(&self) -> usize {
        self.watched().len()
    }

    /// The event channel's news about the server's subscription at `url`.
    pub fn subscription_event(&self, url: &Url, deleted: bool) {
        self.watched().event(url, deleted);
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
        let added = self.watched().new_among(addresses)?;
        for attempt in 0..2 {
            let app = self.current_app(Step::Subscription)?;
            let result = match server.live_below(app.generation) {
                Some(live) => self.add_members(live, &added).await,
                None => {
                    let all = self.watched().all_with(&added);
                    self.create_subscription(&app, &all)
                        .await
                        .map(|live| server.set_live(live))
                }
            };
            let e = match result {
                Ok(()) => {
                    self.watched().add(added);
                    server.succeeded();
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
        let (removed, remaining) = self.watched().remove(addresses);
        let generation = self
            .current_app(Step::Subscription)
            .ok()
            .map(|a| a.generation);
        // A subscription below another application died with it: nothing to tell the server.
        let Some(live) = server.for_removal(generation) else {
            return Ok(());
        };
        let on_server = live.members_among(removed);
        if on_server.is_empty() {
            return Ok(());
        }
        let result = if remaining.is_empty() || on_server.len() > remaining.len() {
            // Fewer requests to start again than to remove one by one.
            match server.forget_live() {
                Some(url) => self
                    .subscription_call(Method::DELETE, &url, Payload::Empty)
                    .await
                    .map(|_| ()),
                None => Ok(()),
            }
        } else {
            self.remove_members(live, &on_server).await
        };
        if result.is_err() {
            server.mark_stale();
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
        if server.is_resting(now) {
            return;
        }
        let Ok(app) = self.current_app(Step::Subscription) else {
            return;
        };
        let news = self.watched().take_news();
        let result = match server.plan(app.generation, &news, now) {
            Keep::Nothing => Ok(()),
            Keep::Delete(url) => self
                .subscription_call(Method::DELETE, &url, Payload::Empty)
                .await
                .map(|_| ()),
            Keep::Extend(url) => {
                self.extend_subscription(&mut server, &app, &url, &news.wanted)
                    .await
            }
            Keep::Create => self
                .create_subscription(&app, &news.wanted)
                .await
                .map(|l| server.set_live(l)),
        };
        let Err(e) = result else {
            server.succeeded();
            return;
        };
        server.failed(Instant::now());
        match Recovery::for_error(&e) {
            Recovery::RecreateApplication => {
                server.forget_live();
                drop(server);
                let _ = self
                    .recover(Recovery::RecreateApplication, app.generation, e)
                    .await;
            }
            Recovery::EndSession => self.end_session(Some(e)),
            _ => {}
        }
    }

    /// POSTs the extension at `url`; a subscription the server no longer knows is made again
    /// at once, with every `wanted` contact.
    async fn extend_subscription(
        &self,
        server: &mut ServerSide,
        app: &App,
        url: &Url,
        wanted: &[String],
    ) -> Result<()> {
        match self
            .subscription_call(Method::POST, url, Payload::Empty)
            .await
        {
            Ok(_) => {
                server.extended(Instant::now() + self.options().subscription_refresh);
                Ok(())
            }
            Err(e) if e.http_status() == Some(404) && !e.is_application_gone() => {
                // Expired or deleted.
                server.forget_live();
                let live = self.create_subscription(app, wanted).await?;
                server.set_live(live);
                Ok(())
            }
            Err(e) => Err(e),
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
        let first = &contacts[..contacts.len().min(URIS_PER_REQUEST)];
        let uris: Vec<String> = first.iter().map(|a| sip(a)).collect();
        let body = json!({ "duration": SUBSCRIPTION_MINUTES, "uris": uris });
        let res = self
            .subscription_call(Method::POST, &subscriptions, Payload::json(&body))
            .await?;
        let url = res.require_link(Step::Subscription, "self")?;
        let memberships = res.require_link(Step::Subscription, "memberships")?;
        let add = res
            .link("addToPresenceSubscription")
            .unwrap_or_else(|| memberships.clone());
        let refresh_at = Instant::now() + self.options().subscription_refresh;
        let mut live = Live::new(app.generation, url, add, memberships, first, refresh_at);
        let rest = &contacts[first.len()..];
        if let Err(e) = self.add_members(&mut live, rest).await {
            let _ = self
                .subscription_call(Method::DELETE, live.url(), Payload::Empty)
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
                live.add_url(),
                Payload::json(&json!({ "uris": uris })),
            )
            .await?;
            live.added(chunk);
        }
        Ok(())
    }

    /// Deletes the memberships of `contacts`, found through the subscription's memberships
    /// list (the server names each membership; no path is built here): one DELETE per contact
    /// asked for at most, each membership URL once, however the list repeats itself.
    async fn remove_members(&self, live: &mut Live, contacts: &[String]) -> Result<()> {
        let list = self
            .subscription_call(Method::GET, live.memberships_url(), Payload::Empty)
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
            live.removed(&address);
        }
        // Whatever the list did not name is not on the server either.
        for c in contacts {
            live.removed(c);
        }
        Ok(())
    }
}
