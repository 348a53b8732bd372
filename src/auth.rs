//! OAuth as UCWA does it, one concern a file:
//! - `challenge`: the `WWW-Authenticate` challenges (one RFC 7235 parser, however proxies fold
//!   the lines), yielding the `MsRtcOAuth` and `Bearer` challenges;
//! - `grant`: the one choice of grant (option `grant` against the server's `grant_type` list);
//! - `token`: the tokens we hold (one per origin, since a web ticket is valid only on the pool
//!   that issued it), token endpoints' answers and the password grant;
//! - `windows`: the Windows grant (NTLM or Negotiate on one connection of its own), with
//!   `spnego` reading the server's verdict.
//!
//! This file maps them and holds who signs in ([`Identity`]), which both grants read.

use zeroize::Zeroizing;

mod challenge;
mod grant;
mod spnego;
mod token;
mod windows;

// What the rest of the crate uses; the parts' other items stay theirs.
pub use challenge::{parse_challenge, Challenge};
pub use grant::{choose_grant, UsableGrant};
pub(crate) use token::{authorization_value, MAX_TOKEN_LEN};
pub use token::{password_grant, Token};
pub use windows::{windows_grant, CURRENT_USER_ELSEWHERE};

/// Who a grant signs in as.
#[derive(Clone)]
pub enum Identity {
    /// A user name (`DOMAIN\user`, a UPN or the SIP address) and its password: the password
    /// grant, or the Windows grant with explicit credentials.
    Named {
        username: String,
        password: Zeroizing<String>,
    },
    /// The logged-on Windows user, through the system's SSPI: the Windows grant only.
    CurrentUser,
}

impl Identity {
    /// The password held, for the scrubber.
    pub fn password(&self) -> Option<&str> {
        match self {
            Identity::Named { password, .. } => Some(password.as_str()),
            Identity::CurrentUser => None,
        }
    }
}
