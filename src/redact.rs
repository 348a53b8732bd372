//! Secrets never leave in text: the one scrubber that every piece of server-provided text passes
//! through before it can become part of an error or an event (see `transport::Reply`).
//!
//! A server may echo what it was sent — the password in an OAuth `error_description`, the
//! bearer token in a UCWA `message` or in `X-Ms-diagnostics`. Each secret the session holds is
//! registered here together with the encodings it can come back in (as sent in a form, as
//! percent-encoded in a URL, either hex case), and every occurrence is replaced with
//! `[redacted]`.

use std::sync::{Arc, Mutex};

use zeroize::Zeroizing;

/// What a secret is replaced with.
pub(crate) const REDACTED: &str = "[redacted]";

/// The secrets of one session (its password and every token it holds), shared by every
/// exchange of that session. Cloning shares the same set.
#[derive(Clone, Default)]
pub struct Secrets(Arc<Mutex<Vec<Zeroizing<String>>>>);

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
    let mut out = String::with_capacity(secret.len() * 3);
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

impl Secrets {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Zeroizing<String>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a secret and the forms it can be echoed in. Empty strings are ignored.
    pub fn add(&self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let mut forms = vec![
            secret.to_string(),
            percent_encoded(secret, true, true),
            percent_encoded(secret, false, true),
            percent_encoded(secret, true, false),
            percent_encoded(secret, false, false),
            // What form_urlencoded (and so our own token request) puts on the wire.
            url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
        ];
        let mut list = self.lock();
        forms.retain(|f| !list.iter().any(|s| s.as_str() == f.as_str()));
        forms.sort();
        forms.dedup();
        list.extend(forms.into_iter().map(Zeroizing::new));
        // Longest first, so a secret that contains another is replaced whole.
        list.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// Replaces the whole set: the secrets a session holds right now (its password and
    /// current tokens), so replaced tokens do not accumulate.
    pub fn replace_all<'a>(&self, secrets: impl IntoIterator<Item = &'a str>) {
        self.clear();
        for s in secrets {
            self.add(s);
        }
    }

    /// Forgets every secret (sign-out, free, a session that ended).
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// `text` with every registered secret replaced by `[redacted]`.
    pub fn scrub(&self, text: &str) -> String {
        let list = self.lock();
        let mut out = text.to_string();
        for s in list.iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_encoding_of_a_secret_is_redacted() {
        let s = Secrets::default();
        s.add("p@ss word/ä");
        s.add("cwt=AAEB+/x==");
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
        s.add("abc");
        s.add("Bearer abcdef");
        assert_eq!(
            s.scrub("x Bearer abcdef y abc"),
            "x [redacted] y [redacted]"
        );
    }
}
