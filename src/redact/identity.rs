//! The shapes of personal data and of credentials in text, for [`super::Secrets::redact`]:
//! user names and SIP addresses become stable short pseudonyms, anything that looks like a
//! credential (an `Authorization` scheme's blob, a `cwt=` token, a form's password, a cookie)
//! becomes `[redacted]` even when the scrubber never held it.
//!
//! A pseudonym is `~` and six hex digits of a keyed hash of the lower-cased name, keyed once
//! per process: the same user reads the same all through one log, and a log cannot be
//! reversed by hashing a list of names.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::OnceLock;

use super::REDACTED;

/// How many names of its user a client remembers (the user name, its parts, the SIP URI).
pub(crate) const MAX_KNOWN: usize = 16;
/// A known name shorter than this is not searched for alone (it would match inside words).
const MIN_KNOWN_LEN: usize = 3;
/// The shortest text after a scheme name that is taken for a credential (an NTLM NEGOTIATE
/// message is 40 base64 characters, a web ticket hundreds).
const MIN_BLOB: usize = 12;

/// The stable pseudonym of `name` in this process.
pub(crate) fn pseudonym(name: &str) -> String {
    static KEY: OnceLock<RandomState> = OnceLock::new();
    let h = KEY
        .get_or_init(RandomState::new)
        .hash_one(name.to_ascii_lowercase());
    format!("~{:06x}", h & 0xff_ffff)
}

/// The names that identify a client's user but have no address shape (`CONTOSO\alice`,
/// `alice`), lower-cased; addresses are found by their shape wherever they appear.
#[derive(Default)]
pub(crate) struct Known {
    names: Vec<String>,
}

impl Known {
    pub(crate) fn add(&mut self, name: &str) {
        let name = name.trim();
        let bare = name
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case("sip:"))
            .map_or(name, |_| &name[4..]);
        let mut forms = vec![bare.to_ascii_lowercase()];
        // DOMAIN\user and user@domain: the user part alone appears too (NTLM, UPN forms).
        if let Some((_, user)) = bare.rsplit_once('\\') {
            forms.push(user.to_ascii_lowercase());
        }
        if let Some((user, _)) = bare.split_once('@') {
            forms.push(user.to_ascii_lowercase());
        }
        for f in forms {
            if f.len() >= MIN_KNOWN_LEN && !self.names.contains(&f) && self.names.len() < MAX_KNOWN
            {
                self.names.push(f);
            }
        }
        // Longest first, so `contoso\alice` goes whole before `alice` could match inside it.
        self.names
            .sort_unstable_by_key(|n| std::cmp::Reverse(n.len()));
    }

    /// `text` with every known name, address and event-link key replaced by its pseudonym.
    pub(crate) fn pseudonymize(&self, text: &str) -> String {
        let mut out = text.to_string();
        for name in &self.names {
            out = replace_word(&out, name);
        }
        keys_out(&addresses_out(&out))
    }
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'\\' | b'.' | b'-')
}

/// Every whole-word, case-insensitive occurrence of `name` (lower-cased) replaced by its
/// pseudonym; an occurrence that is the user part of an address is left to `addresses_out`.
fn replace_word(text: &str, name: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let (tb, mut out, mut last) = (text.as_bytes(), String::new(), 0);
    let mut from = 0;
    while let Some(i) = lower[from..].find(name).map(|i| i + from) {
        let end = i + name.len();
        let before_ok = i == 0 || !is_word(tb[i - 1]);
        let after_ok = end == tb.len() || !(is_word(tb[end]) || tb[end] == b'@' || tb[end] == b'%');
        if before_ok && after_ok && text.is_char_boundary(i) && text.is_char_boundary(end) {
            out.push_str(&text[last..i]);
            out.push_str(&pseudonym(name));
            last = end;
        }
        from = end;
    }
    out.push_str(&text[last..]);
    out
}

fn is_local(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'+' | b'-' | b'\'')
}

fn is_domain(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-')
}

/// Addresses (`alice@contoso.com`, percent-encoded `alice%40contoso.com`, inside a SIP URI or
/// not) with their user part replaced by its pseudonym; the domain stays, it names the pool.
fn addresses_out(text: &str) -> String {
    let b = text.as_bytes();
    let (mut out, mut last, mut i) = (String::with_capacity(text.len()), 0, 0);
    while i < b.len() {
        let sep = if b[i] == b'@' {
            1
        } else if b[i] == b'%' && text.get(i + 1..i + 3) == Some("40") {
            3
        } else {
            i += 1;
            continue;
        };
        let mut start = i;
        while start > last && is_local(b[start - 1]) {
            start -= 1;
        }
        // `sip%3Aalice%40…`: the encoded colon is not part of the user.
        if start >= 1
            && b[start - 1] == b'%'
            && start + 2 < i
            && b[start..start + 2].eq_ignore_ascii_case(b"3a")
        {
            start += 2;
        }
        let domain_ok = b.get(i + sep).is_some_and(|c| c.is_ascii_alphanumeric());
        if start < i && domain_ok {
            out.push_str(&text[last..start]);
            out.push_str(&pseudonym(&text[start..i]));
            last = i;
            i += sep;
            while i < b.len() && is_domain(b[i]) {
                i += 1;
            }
        } else {
            i += sep;
        }
    }
    out.push_str(&text[last..]);
    out
}

/// Finds `marker` (ASCII, case-insensitive) and replaces what follows it, up to a byte
/// `stop` says ends it, with `with(value)`.
fn replace_after(
    text: &str,
    marker: &str,
    stop: fn(u8) -> bool,
    with: fn(&str) -> String,
) -> String {
    let lower = text.to_ascii_lowercase();
    let (b, mut out, mut last, mut from) = (text.as_bytes(), String::new(), 0, 0);
    while let Some(i) = lower[from..].find(marker).map(|i| i + from + marker.len()) {
        let mut end = i;
        while end < b.len() && !stop(b[end]) {
            end += 1;
        }
        if end > i && text.is_char_boundary(i) && text.is_char_boundary(end) {
            out.push_str(&text[last..i]);
            out.push_str(&with(&text[i..end]));
            last = end;
        }
        from = end.max(i);
    }
    out.push_str(&text[last..]);
    out
}

fn ends_param(c: u8) -> bool {
    c.is_ascii_whitespace()
        || matches!(
            c,
            b'&' | b'"' | b'\'' | b'<' | b'>' | b'#' | b',' | b';' | b')'
        )
}

/// The `key` parameter of event links (it encodes the SIP URI).
fn keys_out(text: &str) -> String {
    let mut out = text.to_string();
    for marker in ["?key=", "&key="] {
        out = replace_after(&out, marker, ends_param, pseudonym);
    }
    out
}

fn ends_token(c: u8) -> bool {
    c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b',' | b';' | b'&' | b'<' | b'>' | b')')
}

fn ends_line(c: u8) -> bool {
    c == b'\n' || c == b'\r'
}

fn redacted(_: &str) -> String {
    REDACTED.to_string()
}

/// After an `Authorization` scheme's name: a credential is a long run of token characters;
/// a word (`NTLM for the Windows grant`, in an error that names the scheme) stays.
fn blob(value: &str) -> String {
    if value.len() >= MIN_BLOB {
        REDACTED.to_string()
    } else {
        value.to_string()
    }
}

/// Anything shaped like a credential replaced by `[redacted]`, whether or not the scrubber
/// ever held it: the blob after an `Authorization` scheme, a `cwt=` token, a form's password
/// or token fields, a JSON token field, a cookie header's value.
pub(crate) fn credentials_out(text: &str) -> String {
    let mut out = text.to_string();
    for marker in ["bearer ", "negotiate ", "ntlm ", "basic "] {
        out = replace_after(&out, marker, ends_token, blob);
    }
    for marker in [
        "cwt=",
        "password=",
        "access_token=",
        "refresh_token=",
        "\"access_token\":\"",
        "\"refresh_token\":\"",
        "\"password\":\"",
    ] {
        out = replace_after(&out, marker, ends_token, redacted);
    }
    for marker in ["cookie: ", "cookie:"] {
        out = replace_after(&out, marker, ends_line, redacted);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_keys_become_the_same_pseudonym_wherever_they_appear() {
        let p = pseudonym("alice");
        let k = Known::default();
        assert_eq!(
            k.pseudonymize("sip:alice@contoso.com and /people/sip%3AAlice%40contoso.com/x"),
            format!("sip:{p}@contoso.com and /people/sip%3A{p}%40contoso.com/x")
        );
        let key = pseudonym("c2lwOmFsaWNl");
        assert_eq!(
            k.pseudonymize("/events?ack=2&key=c2lwOmFsaWNl&x=1"),
            format!("/events?ack=2&key={key}&x=1")
        );
        assert_eq!(k.pseudonymize("no one here: a@ b"), "no one here: a@ b");
    }

    #[test]
    fn known_user_names_are_replaced_as_whole_words_only() {
        let mut k = Known::default();
        k.add("CONTOSO\\alice");
        let out = k.pseudonymize("user CONTOSO\\alice (alice) aliceX malice");
        let (whole, user) = (pseudonym("contoso\\alice"), pseudonym("alice"));
        assert_eq!(out, format!("user {whole} ({user}) aliceX malice"));
    }

    #[test]
    fn credential_shapes_are_redacted_without_being_known() {
        let out = credentials_out(
            "Authorization: Bearer cwt=AAEBHAEFAAAAAAAFFQAAAC, NTLM TlRMTVNTUAAB; a=1&password=hunter2&b=2\nCookie: s=1; t=2\nok",
        );
        assert!(!out.contains("AAEB") && !out.contains("TlRM") && !out.contains("hunter2"));
        assert!(!out.contains("s=1") && out.ends_with("\nok"), "{out}");
        let words = "the pool offers neither Negotiate nor NTLM for the Windows grant";
        assert_eq!(credentials_out(words), words);
    }
}
