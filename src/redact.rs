//! Secrets never leave in text: the one scrubber that every piece of server-provided text passes
//! through before it can become part of an error or an event (see `transport::Reply`).
//!
//! A server may echo what it was sent — the password in an OAuth `error_description`, the
//! bearer token in a UCWA `message` or in `X-Ms-diagnostics`, a proxy the `Proxy-Authorization`
//! on its 407 page, a token endpoint an NTLM AUTHENTICATE message. Each secret the client has
//! held is registered here together with the encodings it can come back in (as sent in a form,
//! as percent-encoded in a URL, either hex case), and every occurrence is replaced with
//! `[redacted]`.
//!
//! How long a secret is known is decided here, in one place:
//! - what the session holds now ([`Secrets::sync`]): the password, every token in use;
//! - a token no longer held (replaced, refused, dropped) until it would have expired: it still
//!   works where it came from, and the server that refused it may quote it again later;
//! - material kept for a while ([`Secrets::keep_until`]): each leg of a Windows-grant handshake;
//! - the client's settings ([`Secrets::set_standing`]): the proxy's credentials, for as long as
//!   that proxy is configured, across sign-outs.
//!
//! Sign-out forgets the session's secrets ([`Secrets::clear`]), free everything
//! ([`Secrets::wipe`]). At most [`MAX_KEPT`] secrets no longer held are kept; past that, those
//! that expire soonest go first.
//!
//! Log records (and any other text meant for people, such as a transcript) go through
//! [`Secrets::redact`]: the secrets above, anything shaped like a credential (`identity`'s
//! patterns), and the user's identity — user names, SIP URIs and addresses, the `key` of event
//! links — as stable short pseudonyms unless the host opted in (`UCWA_LOG_IDENTITY=1`, `ucwa_log_show_identity`). The
//! scrubber also carries the client's log id, so a record knows whose it is.

mod identity;

use std::cmp::Reverse;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use zeroize::Zeroizing;

/// Whether user names and SIP URIs are shown as they are (the host opted in) instead of as
/// pseudonyms; process-wide, like the log switch that sets it.
static SHOW_IDENTITY: AtomicBool = AtomicBool::new(false);

pub(crate) fn set_identity_shown(show: bool) {
    SHOW_IDENTITY.store(show, Ordering::Relaxed);
}

pub(crate) fn identity_shown() -> bool {
    SHOW_IDENTITY.load(Ordering::Relaxed)
}

/// What a secret is replaced with.
pub(crate) const REDACTED: &str = "[redacted]";

/// The most secrets kept after the session stopped holding them (old tokens, handshake legs):
/// a server that has the client renew or drop tokens in a loop cannot grow the set, or the
/// cost of every scrub, without bound.
pub(crate) const MAX_KEPT: usize = 64;

/// Why a secret is known.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kept {
    /// Held by the session now; once it is not, kept until `expires` (a token), or forgotten
    /// at once (`None`: the password).
    Held { expires: Option<Instant> },
    /// No longer held (or never held: handshake material), kept until this instant.
    Until(Instant),
    /// A setting's secret: kept until the setting changes or the client is freed.
    Standing,
}

/// One secret and the forms it can be echoed in, all wiped from memory when dropped.
struct Entry {
    secret: Zeroizing<String>,
    forms: Vec<Zeroizing<String>>,
    kept: Kept,
}

impl Entry {
    fn new(secret: &str, kept: Kept) -> Entry {
        let mut forms: Vec<Zeroizing<String>> = [
            secret.to_string(),
            percent_encoded(secret, true, true),
            percent_encoded(secret, false, true),
            percent_encoded(secret, true, false),
            percent_encoded(secret, false, false),
            // What form_urlencoded (and so our own token request) puts on the wire.
            url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
        ]
        .into_iter()
        .map(Zeroizing::new)
        .collect();
        forms.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
        // Duplicates are wiped as they go; most secrets have one or two distinct forms.
        forms.dedup_by(|a, b| a.as_str() == b.as_str());
        forms.shrink_to_fit();
        Entry {
            secret: Zeroizing::new(secret.to_string()),
            forms,
            kept,
        }
    }

    fn is_standing(&self) -> bool {
        self.kept == Kept::Standing
    }
}

/// The secrets of one client, shared by every exchange of its session, with the names that
/// identify its user and the client's log id. Cloning shares the same set.
#[derive(Clone, Default)]
pub struct Secrets(Arc<Inner>);

#[derive(Default)]
struct Inner {
    entries: Mutex<Vec<Entry>>,
    identities: Mutex<identity::Known>,
    log_id: AtomicU64,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets([redacted])")
    }
}

/// Bytes that stay as they are in a percent-encoded URL component (RFC 3986 unreserved).
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// `secret` percent-encoded with `%XX` escapes in the given hex case; `space_plus` writes a
/// space as `+`, as HTML forms do.
fn percent_encoded(secret: &str, upper: bool, space_plus: bool) -> String {
    let kept = |b: u8| is_unreserved(b) || (space_plus && matches!(b, b'*' | b' '));
    // Exactly the room the form takes: every client keeps a few of these per token for as
    // long as it holds it (three times the token was ~2.7 KiB a client), and growing the
    // string instead would leave unwiped copies behind.
    let len = secret.bytes().map(|b| if kept(b) { 1 } else { 3 }).sum();
    let mut out = String::with_capacity(len);
    for &b in secret.as_bytes() {
        if is_unreserved(b) || (space_plus && b == b'*') {
            out.push(b as char);
        } else if space_plus && b == b' ' {
            out.push('+');
        } else if upper {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

/// Forgets what has expired, then, past [`MAX_KEPT`] secrets no longer held, those that
/// expire soonest.
fn prune(list: &mut Vec<Entry>, now: Instant) {
    list.retain(|e| !matches!(e.kept, Kept::Until(t) if t <= now));
    let mut order: Vec<(Instant, usize)> = list
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e.kept {
            Kept::Until(t) => Some((t, i)),
            _ => None,
        })
        .collect();
    if order.len() <= MAX_KEPT {
        return;
    }
    order.sort_unstable();
    let mut gone = vec![false; list.len()];
    for &(_, i) in &order[..order.len() - MAX_KEPT] {
        gone[i] = true;
    }
    let mut i = 0;
    list.retain(|_| {
        i += 1;
        !gone[i - 1]
    });
}

/// The session's entry for `secret` (a setting's is another entry).
fn session_entry<'l>(list: &'l mut [Entry], secret: &str) -> Option<&'l mut Entry> {
    list.iter_mut()
        .find(|e| !e.is_standing() && e.secret.as_str() == secret)
}

impl Secrets {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.0.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn identities(&self) -> std::sync::MutexGuard<'_, identity::Known> {
        self.0.identities.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The id the client's log records carry (0 until the client has one).
    pub fn log_id(&self) -> u64 {
        self.0.log_id.load(Ordering::Relaxed)
    }

    pub fn set_log_id(&self, id: u64) {
        self.0.log_id.store(id, Ordering::Relaxed);
    }

    /// `name` identifies the user (the user name signed in with, the SIP URI the server gave):
    /// [`Secrets::redact`] replaces it with its pseudonym wherever it appears, whatever its
    /// shape. Kept until the client is freed, at most `identity::MAX_KNOWN`.
    pub fn add_identity(&self, name: &str) {
        self.identities().add(name);
    }

    /// Text for people (a log record, a transcript line): every known secret and anything
    /// shaped like a credential replaced by `[redacted]`, and, unless identity is shown
    /// (`log::show_identity`), user names, SIP URIs, addresses and event-link keys replaced by
    /// stable short pseudonyms (`~1a2b3c`).
    pub fn redact(&self, text: &str) -> String {
        self.redact_with(text, identity_shown())
    }

    /// [`Secrets::redact`] with the identity choice given.
    pub fn redact_with(&self, text: &str, show_identity: bool) -> String {
        let scrubbed = identity::credentials_out(&self.scrub(text));
        if show_identity {
            scrubbed
        } else {
            self.identities().pseudonymize(&scrubbed)
        }
    }

    /// The session holds exactly `held` now: each secret with the instant it stops working
    /// where it came from (`None`: the password, forgotten as soon as it is not held). A secret
    /// held before and not now is kept until that instant. Empty strings are ignored.
    pub fn sync<'a>(&self, held: impl IntoIterator<Item = (&'a str, Option<Instant>)>) {
        let now = Instant::now();
        let mut list = self.lock();
        for e in list.iter_mut() {
            if let Kept::Held { expires } = e.kept {
                e.kept = Kept::Until(expires.unwrap_or(now));
            }
        }
        for (secret, expires) in held {
            if secret.is_empty() {
                continue;
            }
            match session_entry(&mut list, secret) {
                Some(e) => e.kept = Kept::Held { expires },
                None => list.push(Entry::new(secret, Kept::Held { expires })),
            }
        }
        prune(&mut list, now);
    }

    /// Keeps `secret` known until `until` (or longer, if it already was), whatever the session
    /// holds: material that is sent but never held, such as a handshake's legs.
    pub fn keep_until(&self, secret: &str, until: Instant) {
        if secret.is_empty() {
            return;
        }
        let mut list = self.lock();
        match session_entry(&mut list, secret) {
            Some(e) => {
                e.kept = match e.kept {
                    Kept::Held { expires } => Kept::Held {
                        expires: expires.max(Some(until)),
                    },
                    Kept::Until(t) => Kept::Until(t.max(until)),
                    Kept::Standing => Kept::Standing,
                }
            }
            None => list.push(Entry::new(secret, Kept::Until(until))),
        }
        prune(&mut list, Instant::now());
    }

    /// The secrets of the client's settings (the proxy's credentials) are exactly `secrets`
    /// now; they outlive sign-out, since the setting does.
    pub fn set_standing<'a>(&self, secrets: impl IntoIterator<Item = &'a str>) {
        let mut list = self.lock();
        list.retain(|e| !e.is_standing());
        for s in secrets {
            let known = list
                .iter()
                .any(|e| e.is_standing() && e.secret.as_str() == s);
            if !s.is_empty() && !known {
                list.push(Entry::new(s, Kept::Standing));
            }
        }
    }

    /// Forgets the session's secrets, held or kept (sign-out, a session that ended); the
    /// settings' stay.
    pub fn clear(&self) {
        self.lock().retain(Entry::is_standing);
    }

    /// Forgets every secret and every identity (the client is freed).
    pub fn wipe(&self) {
        self.lock().clear();
        *self.identities() = identity::Known::default();
    }

    /// `text` with every known secret replaced by `[redacted]`.
    pub fn scrub(&self, text: &str) -> String {
        let mut list = self.lock();
        prune(&mut list, Instant::now());
        let mut forms: Vec<&str> = list
            .iter()
            .flat_map(|e| e.forms.iter().map(|f| f.as_str()))
            .collect();
        // Longest first, so a secret that contains another is replaced whole.
        forms.sort_unstable_by_key(|f| Reverse(f.len()));
        let mut out = text.to_string();
        for f in forms {
            if out.contains(f) {
                out = out.replace(f, REDACTED);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn held(s: &Secrets, secrets: &[&str]) {
        s.sync(secrets.iter().map(|x| (*x, None)));
    }

    #[test]
    fn every_encoding_of_a_secret_is_redacted() {
        let s = Secrets::default();
        held(&s, &["p@ss word/ä", "cwt=AAEB+/x=="]);
        for echoed in [
            "p@ss word/ä",
            "p%40ss+word%2F%C3%A4",
            "p%40ss%20word%2F%C3%A4",
            "p%40ss%20word%2f%c3%a4",
            "cwt=AAEB+/x==",
            "cwt%3DAAEB%2B%2Fx%3D%3D",
        ] {
            let out = s.scrub(&format!("you sent {echoed}, refused"));
            assert_eq!(out, "you sent [redacted], refused", "{echoed}");
        }
        assert_eq!(s.scrub("nothing secret"), "nothing secret");
        s.clear();
        assert_eq!(s.scrub("p@ss word/ä"), "p@ss word/ä");
    }

    #[test]
    fn a_secret_inside_a_longer_one_does_not_leave_a_remainder() {
        let s = Secrets::default();
        held(&s, &["abc"]);
        s.keep_until("Bearer abcdef", Instant::now() + Duration::from_secs(60));
        assert_eq!(
            s.scrub("x Bearer abcdef y abc"),
            "x [redacted] y [redacted]"
        );
    }

    #[test]
    fn a_token_no_longer_held_is_known_until_it_would_have_expired() {
        let s = Secrets::default();
        let soon = Instant::now() + Duration::from_millis(200);
        let later = Instant::now() + Duration::from_secs(600);
        s.sync([
            ("pw", None),
            ("old-token", Some(soon)),
            ("long-token", Some(later)),
        ]);
        // Replaced: the password and the new token are held, the old ones only kept.
        s.sync([("pw", None), ("new-token", Some(later))]);
        let all = "pw old-token long-token new-token";
        assert_eq!(s.scrub(all), "[redacted] [redacted] [redacted] [redacted]");
        // The password goes as soon as it is not held; the tokens stay until they expire.
        s.sync([]);
        assert_eq!(s.scrub(all), "pw [redacted] [redacted] [redacted]");
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(s.scrub(all), "pw old-token [redacted] [redacted]");
        // Held again, a kept token is held until it is dropped again.
        s.sync([("long-token", Some(later))]);
        s.clear();
        assert_eq!(s.scrub(all), all);
    }

    #[test]
    fn the_settings_secrets_outlive_sign_out_and_are_replaced_whole() {
        let s = Secrets::default();
        s.set_standing(["agent", "agent:pr0xy"]);
        held(&s, &["pw"]);
        s.clear();
        assert_eq!(s.scrub("agent:pr0xy pw"), "[redacted] pw");
        s.set_standing(["other:pass"]);
        assert_eq!(s.scrub("agent:pr0xy other:pass"), "agent:pr0xy [redacted]");
        // A session secret equal to a setting's does not take the setting's away.
        held(&s, &["other:pass"]);
        s.clear();
        assert_eq!(s.scrub("other:pass"), "[redacted]");
        s.wipe();
        assert_eq!(s.scrub("other:pass"), "other:pass");
    }

    #[test]
    fn past_the_bound_the_secrets_that_expire_soonest_go_first() {
        let s = Secrets::default();
        let now = Instant::now();
        held(&s, &["pw"]);
        for i in 0..MAX_KEPT + 10 {
            s.keep_until(
                &format!("leg-{i:03}"),
                now + Duration::from_secs(60 + i as u64),
            );
        }
        let known = (0..MAX_KEPT + 10)
            .filter(|i| s.scrub(&format!("leg-{i:03}")) == REDACTED)
            .collect::<Vec<_>>();
        assert_eq!(known, (10..MAX_KEPT + 10).collect::<Vec<_>>());
        assert_eq!(s.scrub("pw"), REDACTED, "what is held is never dropped");
    }
}
