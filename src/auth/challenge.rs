//! The challenges a 401 (or 403) carries: one RFC 7235 parser for every `WWW-Authenticate`
//! line, however proxies fold them, and what UCWA reads from them (the `MsRtcOAuth` challenge:
//! where the token endpoint is and which grants it takes; the `Bearer` one: where a pool with
//! modern authentication says tokens come from). Every line, challenge and parameter count is
//! bounded here, and so is everything read from a challenge, the Windows grant's server tokens
//! included.

use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};

/// The longest `WWW-Authenticate` line read. A longer one is ignored whole: real challenges are
/// a few hundred bytes, and a partial read could pick a truncated href.
pub(crate) const MAX_CHALLENGE_LINE: usize = 8 * 1024;
/// The most challenges kept over all `WWW-Authenticate` lines of one response.
pub(crate) const MAX_CHALLENGES: usize = 16;
/// The most auth-params kept per challenge (real ones have two or three).
pub(crate) const MAX_PARAMS: usize = 32;

/// One challenge of a `WWW-Authenticate` list (RFC 7235 §4.1): a scheme with either a token68
/// or auth-params. Parameter names are kept in ASCII lower case (they are case-insensitive);
/// the scheme is kept as sent and compared with [`AuthChallenge::is`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthChallenge {
    pub scheme: String,
    pub token68: Option<String>,
    pub params: Vec<(String, String)>,
}

impl AuthChallenge {
    fn new(scheme: &[u8]) -> AuthChallenge {
        AuthChallenge {
            scheme: String::from_utf8_lossy(scheme).into_owned(),
            token68: None,
            params: Vec::new(),
        }
    }

    /// Whether this challenge has the scheme `name` (case-insensitive).
    pub fn is(&self, name: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(name)
    }

    /// The first value of parameter `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// RFC 7230 `tchar`: what a scheme or a parameter name is made of.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 7235 `token68` characters, before its trailing `=` padding.
fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

/// A position in one header line.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn at_element_end(&self) -> bool {
        matches!(self.peek(), None | Some(b','))
    }

    /// Skips optional whitespace; says whether there was any.
    fn ows(&mut self) -> bool {
        let start = self.i;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
        self.i > start
    }

    fn run(&mut self, f: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.i;
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
        &self.s[start..self.i]
    }

    fn token(&mut self) -> Option<&'a [u8]> {
        Some(self.run(is_tchar)).filter(|t| !t.is_empty())
    }

    fn token68(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        if self.run(is_token68_char).is_empty() {
            return None;
        }
        self.run(|b| b == b'=');
        Some(&self.s[start..self.i])
    }

    /// A quoted-string at the cursor, unescaped; `None` when it never ends.
    fn quoted(&mut self) -> Option<String> {
        debug_assert_eq!(self.peek(), Some(b'"'));
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(String::from_utf8_lossy(&out).into_owned());
                }
                b'\\' => {
                    self.i += 1;
                    out.push(self.peek()?);
                }
                b => out.push(b),
            }
            self.i += 1;
        }
    }

    /// An unquoted value. Wider than RFC `token` on purpose: Microsoft's documentation shows
    /// the href unquoted (`href=https://contoso.com/WebTicket/oauthtoken,grant_type=…`), so a
    /// value runs to the next comma, whitespace or quote.
    fn bare(&mut self) -> Option<String> {
        let v = self.run(|b| b > b' ' && b != 0x7f && b != b',' && b != b'"');
        (!v.is_empty()).then(|| String::from_utf8_lossy(v).into_owned())
    }

    /// Skips optional whitespace and empty list elements (`, ,`, allowed by the list rule).
    fn skip_empty_elements(&mut self) {
        loop {
            self.ows();
            if self.peek() != Some(b',') {
                return;
            }
            self.i += 1;
        }
    }

    /// After a malformed element: on to the next comma that is not inside a quoted string.
    fn skip_element(&mut self) {
        let mut quoted = false;
        while let Some(b) = self.peek() {
            match b {
                b',' if !quoted => return,
                b'"' => quoted = !quoted,
                b'\\' if quoted => self.i += 1,
                _ => {}
            }
            self.i += 1;
        }
    }
}

/// Parses one `WWW-Authenticate` line (a comma-separated list of challenges) onto `out`,
/// keeping at most [`MAX_CHALLENGES`] in `out` and [`MAX_PARAMS`] per challenge. A line over
/// [`MAX_CHALLENGE_LINE`] bytes is ignored. A malformed element is skipped up to the next
/// comma and the rest still counts, since proxies fold unrelated challenges together and one
/// odd challenge must not hide the `MsRtcOAuth` one.
pub fn parse_challenge_line(line: &[u8], out: &mut Vec<AuthChallenge>) {
    if line.len() > MAX_CHALLENGE_LINE {
        return;
    }
    let mut c = Cursor { s: line, i: 0 };
    let mut current: Option<AuthChallenge> = None;
    let finish = |current: &mut Option<AuthChallenge>, out: &mut Vec<AuthChallenge>| {
        if let Some(ch) = current.take() {
            if out.len() < MAX_CHALLENGES {
                out.push(ch);
            }
        }
    };
    loop {
        c.skip_empty_elements();
        if c.peek().is_none() || out.len() >= MAX_CHALLENGES {
            break;
        }
        let Some(name) = c.token() else {
            // Neither a scheme nor a parameter name: skipped. Only a new scheme ends the
            // current challenge, so a broken parameter does not cost it its other ones.
            c.skip_element();
            continue;
        };
        let gap = c.ows();
        match c.peek() {
            Some(b'=') => {
                c.i += 1;
                auth_param(&mut c, name, current.as_mut());
            }
            None | Some(b',') => {
                // A scheme alone.
                finish(&mut current, out);
                current = Some(AuthChallenge::new(name));
            }
            Some(_) if gap => {
                finish(&mut current, out);
                current = Some(scheme_then_more(&mut c, name));
            }
            // A token glued to something else (`name"x"`): skipped like any broken element.
            Some(_) => c.skip_element(),
        }
    }
    finish(&mut current, out);
}

/// An auth-param (`name BWS "=" BWS value`, the cursor after its `=`) of the current challenge.
/// One with no scheme before it, after a token68, or with a malformed value is skipped.
fn auth_param(c: &mut Cursor<'_>, name: &[u8], current: Option<&mut AuthChallenge>) {
    c.ows();
    let value = if c.peek() == Some(b'"') {
        c.quoted()
    } else {
        c.bare()
    };
    c.ows();
    match (value, current) {
        (Some(v), Some(ch)) if c.at_element_end() && ch.token68.is_none() => {
            if ch.params.len() < MAX_PARAMS {
                ch.params
                    .push((String::from_utf8_lossy(name).to_ascii_lowercase(), v));
            }
        }
        _ => c.skip_element(),
    }
}

/// A scheme followed by whitespace: a new challenge with its token68 when one follows, else
/// the cursor is left on its first auth-param.
fn scheme_then_more(c: &mut Cursor<'_>, name: &[u8]) -> AuthChallenge {
    let mut ch = AuthChallenge::new(name);
    let start = c.i;
    if let Some(t) = c.token68() {
        c.ows();
        if c.at_element_end() {
            ch.token68 = Some(String::from_utf8_lossy(t).into_owned());
        } else {
            c.i = start;
        }
    }
    ch
}

/// Every challenge of every `WWW-Authenticate` line, in order, within the bounds above.
pub fn challenges(headers: &HeaderMap) -> Vec<AuthChallenge> {
    let mut out = Vec::new();
    for line in headers.get_all(WWW_AUTHENTICATE) {
        parse_challenge_line(line.as_bytes(), &mut out);
    }
    out
}

/// The `MsRtcOAuth` challenge: where the token endpoint is and which grants it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub href: String,
    /// The `grant_type` list; `None` when the challenge names none.
    pub grant_types: Option<Vec<String>>,
}

/// The `Bearer` challenge of a pool with modern authentication (or Online): where it says
/// tokens come from, which the host is told when it must acquire one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BearerChallenge {
    pub authorization_uri: Option<String>,
}

/// What one 401 (or 403) offers: the `MsRtcOAuth` challenge and the `Bearer` one, wherever in
/// the `WWW-Authenticate` lines they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Challenges {
    pub ms_rtc_oauth: Option<Challenge>,
    pub bearer: Option<BearerChallenge>,
}

/// Reads what a server offers among all challenges of all `WWW-Authenticate` lines (separate
/// lines, or folded into one by a proxy, in any order): the first `MsRtcOAuth` with an href,
/// and the first `Bearer`.
pub fn parse_challenge(headers: &HeaderMap) -> Challenges {
    let all = challenges(headers);
    let ms_rtc_oauth = all.iter().filter(|c| c.is("MsRtcOAuth")).find_map(|c| {
        let href = c.param("href").filter(|h| !h.trim().is_empty())?;
        Some(Challenge {
            href: href.trim().to_string(),
            grant_types: c.param("grant_type").map(|g| {
                g.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            }),
        })
    });
    let bearer = all
        .iter()
        .find(|c| c.is("Bearer"))
        .map(|c| BearerChallenge {
            authorization_uri: c.param("authorization_uri").map(str::to_string),
        });
    Challenges {
        ms_rtc_oauth,
        bearer,
    }
}

#[cfg(test)]
mod tests;
