//! Other people's presence, read: one contact's presence, note and location, and many contacts'
//! availability at once through the application's `batch` link. Contacts are reached below the
//! application's `people` resource; their links are kept in one bounded cache ([`ContactCache`]).
//!
//! A resource read for a contact is that contact's only when the links it carries are below
//! the contact's own resource (the rule events follow, [`contact_below`]): a server that
//! answers about someone else has that answer ignored, never cached under the wrong name.
//!
//! None of this needs makeMeAvailable: the protocol asks for it only on the user's own
//! `presence`, `note`, `location` and `reportMyActivity`, and contact resources are served to a
//! signed-in application (what ucwa-sim does too).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use reqwest::Method;
use url::Url;

use super::{contact_below, Payload, Recovery, Session};
use crate::batch::{batch_body, parse_batch};
use crate::error::{Error, Result, Step};
use crate::hal::Resource;
use crate::resources::{presence_from, App, ContactLinks, TextField};
use crate::transport::server_error;
use crate::types::{Availability, Presence};

/// Most contacts one bulk read may name (the host's list; duplicates count).
pub const MAX_CONTACTS_PER_CALL: usize = 1000;

pub use crate::pacing::MAX_BATCH_PARTS;

/// Most contacts whose links the cache keeps; the oldest entry goes first.
pub const MAX_CACHED_CONTACTS: usize = 1024;

/// The one cache of contact links: address (lower-cased) → the contact's links, for one
/// application generation (contact links live below the application, so a new application
/// empties it). Bounded by [`MAX_CACHED_CONTACTS`], first in, first out.
#[derive(Default)]
pub struct ContactCache {
    generation: u64,
    links: HashMap<String, ContactLinks>,
    order: VecDeque<String>,
}

impl ContactCache {
    fn get(&mut self, generation: u64, key: &str) -> Option<ContactLinks> {
        self.sync(generation);
        self.links.get(key).cloned()
    }

    fn put(&mut self, generation: u64, key: String, links: ContactLinks) {
        self.sync(generation);
        if self.links.insert(key.clone(), links).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > MAX_CACHED_CONTACTS {
            if let Some(old) = self.order.pop_front() {
                self.links.remove(&old);
            }
        }
    }

    fn sync(&mut self, generation: u64) {
        if self.generation != generation {
            self.generation = generation;
            self.links.clear();
            self.order.clear();
        }
    }

    pub fn len(&self) -> usize {
        self.links.len()
    }
}

/// The contact resource of `address`. UCWA gives no link to a given person (only `search`,
/// which is fuzzy and paged); real clients and every captured contact href put the contact at
/// `<people>/<address>`, so this is the one place a path is built: everything below the
/// contact (`contactPresence`, `contactNote`, `contactLocation`) is followed from its links.
fn contact_url(app: &App, address: &str) -> Result<Url> {
    let people = app.link("people").ok_or_else(|| Error::Protocol {
        step: Step::Contact,
        detail: "the application has no `people` resource".into(),
        http_status: None,
        path: app.self_url.path().to_string(),
    })?;
    let mut url = people.clone();
    url.set_query(None);
    url.path_segments_mut()
        .map_err(|_| Error::Protocol {
            step: Step::Contact,
            detail: "the `people` link cannot have a contact below it".into(),
            http_status: None,
            path: people.path().to_string(),
        })?
        .pop_if_empty()
        .push(address);
    Ok(url)
}

fn batch_link(app: &App) -> Result<Url> {
    app.link("batch").cloned().ok_or_else(|| Error::Protocol {
        step: Step::Contact,
        detail: "the application has no `batch` link".into(),
        http_status: None,
        path: app.self_url.path().to_string(),
    })
}

/// Whether `res`, read at `asked` (a contact's resource or one below it), is about that
/// contact: every link it carries among `self` and the contact's own resolves below the same
/// contact, on the same origin. None of them contradicting is enough (a presence read may carry
/// no link); a contact resource without its links is refused where the links are read.
fn about_asked(app: &App, asked: &Url, res: &Resource) -> bool {
    let Some(people) = app.link("people") else {
        return false;
    };
    let Some(who) = contact_below(people, asked) else {
        return false;
    };
    ["self", "contactPresence", "contactNote", "contactLocation"]
        .iter()
        .filter_map(|rel| res.link(rel))
        .all(|link| {
            crate::security::origin(&link) == crate::security::origin(asked)
                && contact_below(people, &link).as_deref() == Some(who.as_str())
        })
}

/// The error for a single read whose answer is about another contact.
fn about_another(asked: &Url) -> Error {
    Error::Protocol {
        step: Step::Contact,
        detail: "the server answered about another contact than the one asked for".into(),
        http_status: None,
        path: asked.path().to_string(),
    }
}

/// The one spelling of an address that caches and sets compare: lower case.
pub(super) fn key_of(address: &str) -> String {
    address.to_ascii_lowercase()
}

impl Session {
    /// A GET of a contact's resource or one below it, recovering once from an application the
    /// server forgot, as calls to the application's own links do. An answer about another
    /// contact is a protocol error ([`about_asked`]).
    async fn contact_get<T>(
        &self,
        target: impl Fn(&App) -> Result<Url>,
        read: impl Fn(&Resource) -> Result<T>,
    ) -> Result<T> {
        for attempt in 0..2 {
            let app = self.current_app(Step::Contact)?;
            let url = target(&app)?;
            let e = match self
                .call(Step::Contact, Method::GET, &url, Payload::Empty)
                .await
            {
                Ok(reply) => {
                    let res = reply.resource(Step::Contact)?;
                    if !about_asked(&app, &url, &res) {
                        return Err(about_another(&url));
                    }
                    return read(&res);
                }
                Err(e) => e,
            };
            self.repair_for_retry(e, attempt == 0, app.generation)
                .await?;
        }
        Err(Error::Internal("contact_get retried past its bound".into()))
    }

    /// The contact's links, from the cache or from its resource. An unknown contact is the
    /// server's 404.
    async fn contact_links(&self, address: &str) -> Result<(u64, ContactLinks)> {
        let app = self.current_app(Step::Contact)?;
        if let Some(l) = self.contacts().get(app.generation, &key_of(address)) {
            return Ok((app.generation, l));
        }
        let links = self
            .contact_get(
                |app| contact_url(app, address),
                |res| ContactLinks::from_resource(Step::Contact, res),
            )
            .await?;
        let generation = self.current_app(Step::Contact)?.generation;
        self.contacts()
            .put(generation, key_of(address), links.clone());
        Ok((generation, links))
    }

    /// A GET of one of the contact's links; when the link went stale (the application was
    /// replaced between the look-up and the GET) the contact is looked up once more.
    async fn contact_read<T>(
        &self,
        address: &str,
        pick: impl Fn(&ContactLinks) -> &Url,
        read: impl Fn(&Resource) -> Result<T>,
    ) -> Result<T> {
        let (generation, links) = self.contact_links(address).await?;
        let url = pick(&links).clone();
        let result = self.contact_get(|_| Ok(url.clone()), &read).await;
        match self.current_app(Step::Contact) {
            Ok(app) if app.generation != generation => {
                let (_, links) = self.contact_links(address).await?;
                let url = pick(&links).clone();
                self.contact_get(|_| Ok(url.clone()), read).await
            }
            _ => result,
        }
    }

    pub async fn get_contact_presence(&self, address: &str) -> Result<Presence> {
        self.contact_read(
            address,
            |l| &l.presence,
            |res| presence_from(Step::Contact, res),
        )
        .await
    }

    pub async fn get_contact_text(
        &self,
        address: &str,
        field: TextField,
    ) -> Result<Option<String>> {
        self.contact_read(address, |l| l.text(field), |res| Ok(field.read(res)))
            .await
    }

    /// Availability of each address, in order; unknown contacts are `Unknown`. Contacts whose
    /// links are not cached are looked up first, in batches, then every presence is read in
    /// batches of at most [`MAX_BATCH_PARTS`].
    pub async fn get_contacts_availability(
        &self,
        addresses: &[String],
    ) -> Result<Vec<Availability>> {
        let app = self.current_app(Step::Contact)?;
        let batch = batch_link(&app)?;
        let mut unique: Vec<String> = Vec::new();
        for a in addresses {
            let k = key_of(a);
            if !unique.contains(&k) {
                unique.push(k);
            }
        }
        let mut links: HashMap<String, Option<ContactLinks>> = HashMap::new();
        let mut missing = Vec::new();
        {
            let mut cache = self.contacts();
            for k in &unique {
                match cache.get(app.generation, k) {
                    Some(l) => {
                        links.insert(k.clone(), Some(l));
                    }
                    None => missing.push(k.clone()),
                }
            }
        }
        for chunk in missing.chunks(MAX_BATCH_PARTS) {
            let urls = chunk
                .iter()
                .map(|k| contact_url(&app, k))
                .collect::<Result<Vec<_>>>()?;
            let replies = self.batch(&app, &batch, &urls).await?;
            for (k, reply) in chunk.iter().zip(replies) {
                let found = match reply {
                    Some(r) => Some(ContactLinks::from_resource(Step::Contact, &r)?),
                    None => None,
                };
                if let Some(l) = &found {
                    self.contacts().put(app.generation, k.clone(), l.clone());
                }
                links.insert(k.clone(), found);
            }
        }
        let known: Vec<(&String, &ContactLinks)> = unique
            .iter()
            .filter_map(|k| links.get(k).and_then(|l| l.as_ref()).map(|l| (k, l)))
            .collect();
        let mut availability: HashMap<String, Availability> = HashMap::new();
        for chunk in known.chunks(MAX_BATCH_PARTS) {
            let urls: Vec<Url> = chunk.iter().map(|(_, l)| l.presence.clone()).collect();
            let replies = self.batch(&app, &batch, &urls).await?;
            for ((k, _), reply) in chunk.iter().zip(replies) {
                let a = match reply {
                    Some(r) => presence_from(Step::Contact, &r)?.availability,
                    None => Availability::Unknown,
                };
                availability.insert((*k).clone(), a);
            }
        }
        Ok(addresses
            .iter()
            .map(|a| {
                availability
                    .get(&key_of(a))
                    .copied()
                    .unwrap_or(Availability::Unknown)
            })
            .collect())
    }

    /// The resources at `urls` (contact resources below the application), in order, `None`
    /// for one the server does not know or answered about another contact: one GET for one,
    /// `batch` requests for more.
    pub async fn read_many(&self, urls: &[Url]) -> Result<Vec<Option<Resource>>> {
        let app = self.current_app(Step::Contact)?;
        if let [url] = urls {
            return match self
                .call(Step::Contact, Method::GET, url, Payload::Empty)
                .await
            {
                Ok(reply) => {
                    let res = reply.resource(Step::Contact)?;
                    Ok(vec![about_asked(&app, url, &res).then_some(res)])
                }
                Err(e) if e.http_status() == Some(404) && !e.is_application_gone() => {
                    Ok(vec![None])
                }
                Err(e) => Err(e),
            };
        }
        let batch = batch_link(&app)?;
        let mut out = Vec::with_capacity(urls.len());
        for chunk in urls.chunks(MAX_BATCH_PARTS) {
            out.extend(self.batch(&app, &batch, chunk).await?);
        }
        Ok(out)
    }

    /// One `batch` of GETs; each answer's resource in order, `None` for a 404 (a contact the
    /// server does not know) and for an answer about another contact than the one asked for
    /// ([`about_asked`]). Any other failed part fails the call with that part's server error.
    /// Every target must be on the batch's origin: parts run with the batch's own token.
    async fn batch(
        &self,
        app: &Arc<App>,
        batch: &Url,
        urls: &[Url],
    ) -> Result<Vec<Option<Resource>>> {
        if let Some(u) = urls
            .iter()
            .find(|u| crate::security::origin(u) != crate::security::origin(batch))
        {
            return Err(Error::Protocol {
                step: Step::Contact,
                detail: "a contact link is on another origin than the batch".into(),
                http_status: None,
                path: u.path().to_string(),
            });
        }
        let targets: Vec<&Url> = urls.iter().collect();
        let (ct, body) = batch_body(&targets);
        let payload = Payload::Batch(Arc::from(ct.as_str()), bytes::Bytes::from(body));
        let reply = match self.call(Step::Contact, Method::POST, batch, payload).await {
            Ok(r) => r,
            Err(e) => {
                if Recovery::for_error(&e) == Recovery::EndSession {
                    self.end_session(Some(e.clone()));
                } else if e.is_application_gone() {
                    // The next call finds the new application; this one reports the loss.
                    let _ = self
                        .recover(Recovery::RecreateApplication, app.generation, e.clone())
                        .await;
                }
                return Err(e);
            }
        };
        let parts = parse_batch(
            reply.header("content-type").unwrap_or_default(),
            &reply.body,
            batch,
            urls.len(),
        )?;
        let mut out = Vec::with_capacity(parts.len());
        for (part, url) in parts.into_iter().zip(urls) {
            let r = reply.part(part.status, part.headers, part.body, url.clone());
            match r.status {
                200..=299 => {
                    let res = r.resource(Step::Contact)?;
                    out.push(about_asked(app, url, &res).then_some(res));
                }
                404 if !server_error(Step::Contact, &r).is_application_gone() => out.push(None),
                _ => return Err(server_error(Step::Contact, &r)),
            }
        }
        Ok(out)
    }
}
