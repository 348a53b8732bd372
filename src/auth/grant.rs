//! The one choice of grant: option `grant` against the `grant_type` list of the server's
//! `MsRtcOAuth` challenge and who signs in, made before anything is sent.

use crate::options::Grant;

/// The grant a sign-in runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsableGrant {
    Password,
    /// Windows integrated authentication: NTLM or Negotiate on the token request.
    Windows,
}

impl UsableGrant {
    /// The `grant_type` value of this grant.
    pub fn grant_type(self) -> &'static str {
        match self {
            UsableGrant::Password => "password",
            UsableGrant::Windows => "urn:microsoft.rtc:windows",
        }
    }
}

/// Why no grant can be used: the server's list, what this sign-in could have used, and why a
/// grant that was asked for cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoUsableGrant {
    pub offered: Option<Vec<String>>,
    pub usable: Vec<&'static str>,
    pub wanted: Grant,
    /// Signing in as the current user (no password to send).
    pub current_user: bool,
}

impl NoUsableGrant {
    /// The error text; `server_text` passes the server's grant names through the scrubber.
    pub fn detail(&self, server_text: impl Fn(&str) -> String) -> String {
        let offered = match &self.offered {
            None => "the server names no grant_type".to_string(),
            Some(list) if list.is_empty() => "the server offers no grant".to_string(),
            Some(list) => format!("the server offers {}", server_text(&list.join(", "))),
        };
        let usable = if self.usable.is_empty() {
            "none".to_string()
        } else {
            self.usable.join(", ")
        };
        let mut detail = format!("{offered}; this sign-in can use {usable}");
        if self.current_user && self.wanted == Grant::Password {
            detail.push_str(
                " (grant=password: signing in as the current user has no password to send; set grant to auto or windows)",
            );
        }
        detail
    }
}

/// The one decision of which grant a sign-in runs: option `grant` against the challenge's
/// `grant_type` list and who signs in. Nothing is sent when this fails, so a server that does
/// not offer the password grant never receives the password. `auto` prefers the password grant
/// (one request) and falls back to the Windows grant with the same credentials; the current
/// user has only the Windows grant.
///
/// A challenge that names no `grant_type` at all restricts nothing; the first usable grant is
/// tried then (no capture lacks the list, and the token endpoint still refuses a grant it does
/// not take with `unsupported_grant_type`).
pub fn choose_grant(
    wanted: Grant,
    offered: Option<&[String]>,
    current_user: bool,
) -> Result<UsableGrant, NoUsableGrant> {
    let candidates: &[UsableGrant] = match (wanted, current_user) {
        (Grant::Password, true) => &[],
        (Grant::Auto | Grant::Windows, true) | (Grant::Windows, false) => &[UsableGrant::Windows],
        (Grant::Password, false) => &[UsableGrant::Password],
        (Grant::Auto, false) => &[UsableGrant::Password, UsableGrant::Windows],
    };
    let offers =
        |g: &str| offered.is_none_or(|list| list.iter().any(|o| o.eq_ignore_ascii_case(g)));
    if let Some(g) = candidates.iter().find(|g| offers(g.grant_type())) {
        return Ok(*g);
    }
    Err(NoUsableGrant {
        offered: offered.map(<[String]>::to_vec),
        usable: candidates.iter().map(|g| g.grant_type()).collect(),
        wanted,
        current_user,
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The grants an on-premises pool offers, as its `MsRtcOAuth` challenge lists them.
    pub(crate) const ON_PREM_GRANTS: [&str; 3] = [
        "urn:microsoft.rtc:windows",
        "urn:microsoft.rtc:anonmeeting",
        "password",
    ];

    fn offered(list: &[&str]) -> Vec<String> {
        list.iter().map(|g| g.to_string()).collect()
    }

    #[test]
    fn the_password_grant_is_preferred_when_offered_and_allowed() {
        let on_prem = offered(&ON_PREM_GRANTS);
        for wanted in [Grant::Auto, Grant::Password] {
            let pick = |list: Option<&[String]>| choose_grant(wanted, list, false);
            assert_eq!(pick(Some(&on_prem)), Ok(UsableGrant::Password));
            assert_eq!(pick(None), Ok(UsableGrant::Password));
            assert_eq!(
                pick(Some(&offered(&["PASSWORD"]))),
                Ok(UsableGrant::Password)
            );
        }
    }

    #[test]
    fn auto_falls_back_to_the_windows_grant_when_password_is_not_offered() {
        let windows_only = offered(&["urn:microsoft.rtc:windows", "urn:microsoft.rtc:anonmeeting"]);
        assert_eq!(
            choose_grant(Grant::Auto, Some(&windows_only), false),
            Ok(UsableGrant::Windows)
        );
        let none = choose_grant(Grant::Password, Some(&windows_only), false).unwrap_err();
        assert_eq!(
            none.detail(str::to_string),
            "the server offers urn:microsoft.rtc:windows, urn:microsoft.rtc:anonmeeting; this sign-in can use password"
        );
        let empty = choose_grant(Grant::Auto, Some(&[]), false).unwrap_err();
        assert_eq!(
            empty.detail(str::to_string),
            "the server offers no grant; this sign-in can use password, urn:microsoft.rtc:windows"
        );
    }

    #[test]
    fn grant_windows_runs_only_the_windows_grant() {
        for current_user in [false, true] {
            let on_prem = offered(&ON_PREM_GRANTS);
            assert_eq!(
                choose_grant(Grant::Windows, Some(&on_prem), current_user),
                Ok(UsableGrant::Windows)
            );
            let none = choose_grant(Grant::Windows, Some(&offered(&["password"])), current_user)
                .unwrap_err();
            // The server's names go through the scrubber it is given.
            assert_eq!(
                none.detail(|t| t.replace("password", "[x]")),
                "the server offers [x]; this sign-in can use urn:microsoft.rtc:windows"
            );
        }
    }

    #[test]
    fn the_current_user_never_runs_the_password_grant() {
        let on_prem = offered(&ON_PREM_GRANTS);
        assert_eq!(
            choose_grant(Grant::Auto, Some(&on_prem), true),
            Ok(UsableGrant::Windows)
        );
        let none = choose_grant(Grant::Password, Some(&on_prem), true).unwrap_err();
        let detail = none.detail(str::to_string);
        assert!(detail.contains("this sign-in can use none"), "{detail}");
        assert!(detail.contains("no password to send"), "{detail}");
        let none = choose_grant(Grant::Auto, None, true);
        assert_eq!(none, Ok(UsableGrant::Windows));
    }
}
