//! Watching other people, its state: the host's set of subscribed contacts with what the event channel
//! said about the server's subscription ([`Watched`], short-held), and the server's
//! subscription as this client made it with the pace of its repairs ([`ServerSide`], held
//! across the requests that change it). Each owns its fields; the requests live in
//! `subscriptions` and hand their results here.

use std::collections::{BTreeSet, HashSet};
use std::time::Instant;

use url::Url;

use super::contacts::key_of;
use super::SUBSCRIPTION_MINUTES;
use crate::error::{Error, Result};
use crate::pacing;

/// Most contacts one client may watch at once.
pub const MAX_SUBSCRIBED_CONTACTS: usize = 10_000;
// A server list the library walks may stand for every watched contact.
const _: () = assert!(pacing::MAX_LIST_REQUESTS >= MAX_SUBSCRIBED_CONTACTS);

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

/// What the event channel said since the housekeeper last looked, with the contacts wanted.
pub struct News {
    pub wanted: Vec<String>,
    refresh_now: bool,
    dropped: Option<Url>,
}

impl Watched {
    /// Whether contact events for `address` (lower-cased) go to the host.
    pub fn contains(&self, address: &str) -> bool {
        self.contacts.contains(address)
    }

    pub fn len(&self) -> usize {
        self.contacts.len()
    }

    /// The event channel's news about the server's subscription at `url`.
    pub fn event(&mut self, url: &Url, deleted: bool) {
        if deleted {
            self.dropped = Some(url.clone());
        } else {
            self.refresh_now = true;
        }
    }

    /// The contacts among `addresses` not watched yet, each once, or an error when watching
    /// them too would pass [`MAX_SUBSCRIBED_CONTACTS`].
    pub fn new_among(&self, addresses: &[String]) -> Result<Vec<String>> {
        let mut seen = HashSet::new();
        let added: Vec<String> = addresses
            .iter()
            .map(|a| key_of(a))
            .filter(|k| !self.contacts.contains(k) && seen.insert(k.clone()))
            .collect();
        if self.contacts.len() + added.len() > MAX_SUBSCRIBED_CONTACTS {
            return Err(Error::InvalidArgument(format!(
                "contacts: {} subscribed and {} more asked for; at most {MAX_SUBSCRIBED_CONTACTS} a client",
                self.contacts.len(),
                added.len()
            )));
        }
        Ok(added)
    }

    /// Every watched contact, and `added`.
    pub fn all_with(&self, added: &[String]) -> Vec<String> {
        self.contacts.iter().chain(added).cloned().collect()
    }

    pub fn add(&mut self, added: Vec<String>) {
        self.contacts.extend(added);
    }

    /// Stops watching `addresses`: those that were watched, and those left.
    pub fn remove(&mut self, addresses: &[String]) -> (Vec<String>, Vec<String>) {
        let removed = addresses
            .iter()
            .map(|a| key_of(a))
            .filter(|k| self.contacts.remove(k))
            .collect();
        (removed, self.contacts.iter().cloned().collect())
    }

    /// The contacts wanted and the event channel's news, which is taken (acted on once).
    pub fn take_news(&mut self) -> News {
        News {
            wanted: self.contacts.iter().cloned().collect(),
            refresh_now: std::mem::take(&mut self.refresh_now),
            dropped: self.dropped.take(),
        }
    }
}

/// The server's subscription as this client made it, with the pace of its repairs. Held
/// across the requests that change it, so the host and the housekeeper never race.
#[derive(Default)]
pub struct ServerSide {
    live: Option<Live>,
    failures: u32,
    not_before: Option<Instant>,
}

/// What bringing the server in line with the host's set calls for now.
pub enum Keep {
    Nothing,
    /// Delete the subscription at this URL (a failed removal left it stale, or no contact is
    /// watched any more); it is forgotten already.
    Delete(Url),
    /// Extend the subscription: POST this URL (its `duration` set).
    Extend(Url),
    /// Create the subscription with every watched contact.
    Create,
}

impl ServerSide {
    /// Whether the last failure's backoff still runs at `now`.
    pub fn is_resting(&self, now: Instant) -> bool {
        self.not_before.is_some_and(|t| now < t)
    }

    pub fn succeeded(&mut self) {
        self.failures = 0;
        self.not_before = None;
    }

    /// A repair failed: the next waits a backoff longer than the last.
    pub fn failed(&mut self, now: Instant) {
        self.failures += 1;
        self.not_before = Some(now + pacing::backoff(self.failures));
    }

    /// The subscription, when it lives below application `generation` and can be added to.
    pub fn live_below(&mut self, generation: u64) -> Option<&mut Live> {
        self.live
            .as_mut()
            .filter(|l| l.generation == generation && !l.stale)
    }

    /// The subscription a removal works on, when it lives below application `generation`;
    /// one below another application died with it and is forgotten.
    pub fn for_removal(&mut self, generation: Option<u64>) -> Option<&mut Live> {
        if self
            .live
            .as_ref()
            .is_some_and(|l| Some(l.generation) != generation)
        {
            self.live = None;
        }
        self.live.as_mut()
    }

    pub fn set_live(&mut self, live: Live) {
        self.live = Some(live);
    }

    /// Forgets the subscription (deleted, or gone on the server) and returns its URL.
    pub fn forget_live(&mut self) -> Option<Url> {
        self.live.take().map(|l| l.url)
    }

    /// A removal the server did not take: the subscription is deleted and made again.
    pub fn mark_stale(&mut self) {
        if let Some(live) = self.live.as_mut() {
            live.stale = true;
        }
    }

    /// What keeping the subscription of application `generation` in line with `news` calls
    /// for at `now`. A subscription below another application, or one the server deleted, is
    /// forgotten first.
    pub fn plan(&mut self, generation: u64, news: &News, now: Instant) -> Keep {
        if self.live.as_ref().is_some_and(|l| {
            l.generation != generation || news.dropped.as_ref().is_some_and(|d| *d == l.url)
        }) {
            self.live = None;
        }
        match &self.live {
            Some(l) if l.stale || news.wanted.is_empty() => {
                let url = l.url.clone();
                self.live = None;
                Keep::Delete(url)
            }
            Some(l) if news.refresh_now || now >= l.refresh_at => {
                let mut url = l.url.clone();
                url.query_pairs_mut()
                    .append_pair("duration", &SUBSCRIPTION_MINUTES.to_string());
                Keep::Extend(url)
            }
            Some(_) => Keep::Nothing,
            None if news.wanted.is_empty() => Keep::Nothing,
            None => Keep::Create,
        }
    }

    /// The server extended the subscription: the next extension is due at `at`.
    pub fn extended(&mut self, at: Instant) {
        if let Some(live) = self.live.as_mut() {
            live.refresh_at = at;
        }
    }
}

/// A subscription the server holds.
pub struct Live {
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

impl Live {
    /// A subscription just created below application `generation` at `url`, with `members`
    /// on it.
    pub fn new(
        generation: u64,
        url: Url,
        add: Url,
        memberships: Url,
        members: &[String],
        refresh_at: Instant,
    ) -> Live {
        Live {
            generation,
            url,
            add,
            memberships,
            members: members.iter().cloned().collect(),
            refresh_at,
            stale: false,
        }
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Where contacts are added.
    pub fn add_url(&self) -> &Url {
        &self.add
    }

    /// The list of memberships, which names each contact's.
    pub fn memberships_url(&self) -> &Url {
        &self.memberships
    }

    /// Those of `contacts` on the server's subscription.
    pub fn members_among(&self, contacts: Vec<String>) -> Vec<String> {
        contacts
            .into_iter()
            .filter(|k| self.members.contains(k))
            .collect()
    }

    pub fn added<'a>(&mut self, contacts: impl IntoIterator<Item = &'a String>) {
        self.members.extend(contacts.into_iter().cloned());
    }

    pub fn removed(&mut self, contact: &str) {
        self.members.remove(contact);
    }
}
