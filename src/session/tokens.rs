//! The token store: how this session authenticates and every token it holds. It owns who signs
//! in (the identity and the hosts its password may go to), the tokens the password and Windows
//! grants obtained (one per origin), the tokens the host gave (`set_token`, one per origin), the
//! `authorization_uri` each origin's Bearer challenge named, the generation counter that lets
//! concurrent callers renew once, the run of short-lived tokens, and the schedule of renewals
//! and host-token announcements.
//!
//! It is the only code that changes these, and it keeps the scrubber in step: every change that
//! adds or drops a secret tells [`Secrets`] what is held now, so one replaced, dropped or
//! refused stays scrubbed until it expires (see `redact`). It lives inside the session's state
//! mutex and does no I/O: the exchanges that obtain tokens run in `request` without the lock.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use url::Url;
use zeroize::Zeroizing;

use crate::auth::{Identity, Token, UsableGrant};
use crate::error::{Error, Result};
use crate::redact::Secrets;
use crate::security::TrustedHosts;

/// How long before expiry the host is asked for a new token: five minutes, or half the
/// lifetime of a shorter-lived token.
const LEAD: Duration = Duration::from_secs(300);

/// An `Authorization` value and the generation of the token it came from.
pub type Authorization = (Zeroizing<String>, u64);

/// A held grant token's `Authorization` value and generation, with where and how to renew it
/// when its renewal is due.
pub type Current = (Authorization, Option<(Url, UsableGrant)>);

/// The earliest renewal due: origin, token URL, generation and when.
pub type Renewal = (String, Url, u64, Instant);

/// One token the host gave.
struct HostToken {
    authorization: Zeroizing<String>,
    access: Zeroizing<String>,
    expires_at: Instant,
    announce_at: Instant,
    announced: bool,
    generation: u64,
}

pub struct TokenStore {
    /// Who signs in (none: not signed in, or signed in with host tokens only).
    identity: Option<Identity>,
    /// Signed in with host-supplied tokens only (`sign_in_with_tokens`): no password, no grant.
    with_tokens: bool,
    /// Where the password may go and which origins a token may be obtained for.
    trusted: TrustedHosts,
    /// The tokens the password and Windows grants obtained, by origin.
    grants: HashMap<String, Token>,
    /// The tokens the host gave, by origin.
    host: HashMap<String, HostToken>,
    /// The `authorization_uri` each origin's Bearer challenge named, for the host's next token.
    bearer_uris: HashMap<String, String>,
    /// Bumped for every token obtained or given.
    generation: u64,
    /// Tokens in a row that claimed to live less than the floor.
    short_run: u32,
    /// The scrubber, told after every change what the store holds.
    secrets: Secrets,
}

impl TokenStore {
    pub fn new(secrets: Secrets) -> TokenStore {
        TokenStore {
            identity: None,
            with_tokens: false,
            trusted: TrustedHosts::default(),
            grants: HashMap::new(),
            host: HashMap::new(),
            bearer_uris: HashMap::new(),
            generation: 0,
            short_run: 0,
            secrets,
        }
    }

    /// A sign-in starts: as `identity` (none: with host tokens only), trusting `trusted`. The
    /// host's tokens stay (they are given before sign-in).
    pub fn begin(&mut self, identity: Option<Identity>, trusted: TrustedHosts) {
        self.with_tokens = identity.is_none();
        self.identity = identity;
        self.short_run = 0;
        self.trusted = trusted;
        self.grants.clear();
        self.sync();
    }

    /// Drops the identity and the grant tokens (sign-out, free, a 410, a failed sign-in), and
    /// the host's tokens too unless `keep_host_tokens` (a failed sign-in: the host may retry
    /// with them, or add the one the error asks for).
    pub fn forget(&mut self, keep_host_tokens: bool) {
        self.identity = None;
        self.with_tokens = false;
        self.grants.clear();
        if !keep_host_tokens {
            self.host.clear();
            self.bearer_uris.clear();
        }
        self.sync();
    }

    pub fn trusted(&self) -> &TrustedHosts {
        &self.trusted
    }

    /// Whether the session signs in with host tokens only.
    pub fn with_tokens(&self) -> bool {
        self.with_tokens
    }

    /// Whether this session signs in as the logged-on Windows user (only the Windows grant).
    pub fn signs_in_as_current_user(&self) -> bool {
        matches!(self.identity, Some(Identity::CurrentUser))
    }

    /// Tells the scrubber what the store holds now: the password, and each token with the
    /// instant it expires.
    fn sync(&self) {
        let password = self.identity.as_ref().and_then(Identity::password);
        let grants = self
            .grants
            .values()
            .flat_map(|t| t.secrets().map(|s| (s, Some(t.expires))));
        let supplied = self.host.values().flat_map(|t| {
            [t.authorization.as_str(), t.access.as_str()].map(|s| (s, Some(t.expires_at)))
        });
        self.secrets.sync(
            password
                .map(|p| (p, None))
                .into_iter()
                .chain(grants)
                .chain(supplied),
        );
    }

    /// The grant token for `origin`, with its token URL and grant when its renewal is due at
    /// `now` (copied only then: the warm path reads the header).
    pub fn grant_for(&self, origin: &str, now: Instant) -> Option<Current> {
        self.grants.get(origin).map(|t| {
            let due = (now >= t.renew_at()).then(|| (t.token_url.clone(), t.grant));
            ((t.authorization.clone(), t.generation), due)
        })
    }

    /// The grant token for `origin`, due or not.
    pub fn grant(&self, origin: &str) -> Option<Authorization> {
        self.grants
            .get(origin)
            .map(|t| (t.authorization.clone(), t.generation))
    }

    /// The grant the token held for `origin` came from.
    pub fn held_grant(&self, origin: &str) -> Option<UsableGrant> {
        self.grants.get(origin).map(|t| t.grant)
    }

    /// Drops `origin`'s grant token if it is still the one of `generation`.
    pub fn drop_grant(&mut self, origin: &str, generation: u64) {
        if self
            .grants
            .get(origin)
            .is_some_and(|t| t.generation == generation)
        {
            self.grants.remove(origin);
            self.sync();
        }
    }

    /// A renewal of `origin`'s token, seen at `seen_generation`, is about to run: the identity
    /// to run it as and the generation of the token it will obtain, or `None` when a concurrent
    /// caller already replaced that token with one not yet due.
    pub fn begin_renewal(
        &mut self,
        origin: &str,
        seen_generation: u64,
        now: Instant,
    ) -> Result<Option<(Identity, u64)>> {
        if let Some(t) = self.grants.get(origin) {
            if t.generation != seen_generation && now < t.renew_at() {
                return Ok(None);
            }
        }
        let Some(identity) = self.identity.clone() else {
            return Err(Error::InvalidState(
                "not signed in: no credentials to authenticate with".into(),
            ));
        };
        self.generation += 1;
        Ok(Some((identity, self.generation)))
    }

    /// Keeps the token a grant obtained for `origin` (unless the session was signed out
    /// meanwhile) and returns how many tokens in a row lived less than the floor.
    pub fn store_grant(&mut self, origin: &str, token: Token) -> u32 {
        if token.is_short() {
            self.short_run += 1;
        } else {
            self.short_run = 0;
        }
        if self.identity.is_some() {
            self.grants.insert(origin.to_string(), token);
            self.sync();
        }
        self.short_run
    }

    /// The earliest moment a held grant token should be renewed, for the supervisor.
    pub fn next_renewal(&self) -> Option<Renewal> {
        self.grants
            .iter()
            .map(|(o, t)| (o.clone(), t.token_url.clone(), t.generation, t.renew_at()))
            .min_by_key(|x| x.3)
    }

    /// Gives or replaces the host's token for `origin`, living `life` from `now`.
    pub fn set_host(
        &mut self,
        origin: String,
        authorization: String,
        access: &str,
        life: Duration,
        now: Instant,
    ) {
        self.generation += 1;
        let token = HostToken {
            authorization: Zeroizing::new(authorization),
            access: Zeroizing::new(access.to_string()),
            expires_at: now + life,
            announce_at: now + life - LEAD.min(life / 2),
            announced: false,
            generation: self.generation,
        };
        self.host.insert(origin, token);
        self.sync();
    }

    /// The host's token for `origin` while it lives at `now`, when the session signs in with
    /// host tokens: that origin's own token, never another's.
    pub fn host_for(&self, origin: &str, now: Instant) -> Option<Authorization> {
        if !self.with_tokens {
            return None;
        }
        self.host
            .get(origin)
            .filter(|t| now < t.expires_at)
            .map(|t| (t.authorization.clone(), t.generation))
    }

    /// A 401 while signed in with host tokens: records the `authorization_uri` the challenge
    /// named, drops the host token of generation `sent` if that is the one held (refused), and
    /// returns whether it was with the `authorization_uri` known for `origin`.
    pub fn host_refused(
        &mut self,
        origin: &str,
        sent: Option<u64>,
        authorization_uri: Option<String>,
    ) -> (bool, Option<String>) {
        if let Some(uri) = &authorization_uri {
            self.bearer_uris.insert(origin.to_string(), uri.clone());
        }
        let refused =
            sent.is_some_and(|g| self.host.get(origin).is_some_and(|t| t.generation == g));
        if refused {
            self.host.remove(origin);
            self.sync();
        }
        let uri = authorization_uri.or_else(|| self.bearer_uris.get(origin).cloned());
        (refused, uri)
    }

    /// The host tokens due to be announced at `now` (each once), with their origins'
    /// `authorization_uri`s.
    pub fn due_announcements(&mut self, now: Instant) -> Vec<(String, Option<String>)> {
        let mut due = Vec::new();
        for (origin, t) in self.host.iter_mut() {
            if !t.announced && now >= t.announce_at {
                t.announced = true;
                due.push((origin.clone(), self.bearer_uris.get(origin).cloned()));
            }
        }
        due
    }

    /// When the next host token is to be announced (for the supervisor's wake-up).
    pub fn next_announcement(&self) -> Option<Instant> {
        self.host
            .values()
            .filter(|t| !t.announced)
            .map(|t| t.announce_at)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> TokenStore {
        TokenStore::new(Secrets::default())
    }

    #[test]
    fn a_host_token_is_announced_once_ahead_of_expiry_and_scrubbed() {
        let mut s = store();
        let now = Instant::now();
        s.set_host(
            "https://a".into(),
            "Bearer tok-a".into(),
            "tok-a",
            Duration::from_secs(3600),
            now,
        );
        assert_eq!(s.next_announcement(), Some(now + Duration::from_secs(3300)));
        assert!(
            s.host_for("https://a", now).is_none(),
            "not signed in with tokens"
        );
        s.begin(None, TrustedHosts::default());
        let (auth, generation) = s.host_for("https://a", now).unwrap();
        assert_eq!((auth.as_str(), generation), ("Bearer tok-a", 1));
        assert!(
            s.host_for("https://b", now).is_none(),
            "another origin's token"
        );
        assert!(s.due_announcements(now).is_empty());
        let later = now + Duration::from_secs(3300);
        assert_eq!(s.due_announcements(later), vec![("https://a".into(), None)]);
        assert!(s.due_announcements(later).is_empty(), "announced once");
        assert_eq!(s.next_announcement(), None);
        assert_eq!(s.secrets.scrub("x tok-a y"), "x [redacted] y");
    }

    #[test]
    fn only_the_token_that_was_sent_is_refused() {
        let mut s = store();
        let now = Instant::now();
        s.begin(None, TrustedHosts::default());
        s.set_host(
            "https://a".into(),
            "Bearer t1".into(),
            "t1",
            Duration::from_secs(60),
            now,
        );
        s.set_host(
            "https://a".into(),
            "Bearer t2".into(),
            "t2",
            Duration::from_secs(60),
            now,
        );
        let uri = Some("https://login/authorize".to_string());
        assert_eq!(
            s.host_refused("https://a", Some(1), uri.clone()),
            (false, uri.clone())
        );
        assert!(
            s.host_for("https://a", now).is_some(),
            "a newer token stays"
        );
        assert_eq!(s.host_refused("https://a", Some(2), None), (true, uri));
        assert!(s.host_for("https://a", now).is_none());
        assert_eq!(
            s.secrets.scrub("t2"),
            "[redacted]",
            "refused, kept scrubbed"
        );
    }

    #[test]
    fn a_failed_sign_in_keeps_the_host_tokens_and_sign_out_drops_them() {
        let mut s = store();
        let now = Instant::now();
        s.set_host(
            "https://a".into(),
            "Bearer t".into(),
            "t",
            Duration::from_secs(60),
            now,
        );
        s.begin(None, TrustedHosts::default());
        s.forget(true);
        s.begin(None, TrustedHosts::default());
        assert!(s.host_for("https://a", now).is_some());
        s.forget(false);
        s.begin(None, TrustedHosts::default());
        assert!(s.host_for("https://a", now).is_none());
    }

    #[test]
    fn a_renewal_needs_an_identity_and_counts_generations() {
        let mut s = store();
        let now = Instant::now();
        assert!(s.begin_renewal("https://a", 0, now).is_err());
        s.begin(
            Some(Identity::Named {
                username: "u".into(),
                password: Zeroizing::new("pw".into()),
            }),
            TrustedHosts::default(),
        );
        assert_eq!(s.secrets.scrub("pw"), "[redacted]");
        let (_, generation) = s.begin_renewal("https://a", 0, now).unwrap().unwrap();
        assert_eq!(generation, 1);
        assert_eq!(s.next_renewal(), None);
        s.forget(false);
        assert_eq!(
            s.secrets.scrub("pw"),
            "pw",
            "the password is forgotten at once"
        );
    }
}
