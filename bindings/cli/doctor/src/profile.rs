//! The server profile: which of the behaviours ucwa-sim can play this server showed, as a
//! ready `ucwa-sim` command line. Each option is observed (at its default: left out; otherwise
//! written) or not observed in this run (listed as such, never guessed).

/// What the run saw, option by option; `None`: not observed.
#[derive(Debug, Default, Clone)]
pub struct Observed {
    pub tls: bool,
    pub discovery_redirects: Option<u32>,
    pub bare_redirects: Option<bool>,
    /// The user was redirected to another pool (`Some(true)`), or not.
    pub pool2_user: Option<bool>,
    /// The `applications` href was on another pool without a redirect.
    pub pool2_apps_user: Option<bool>,
    pub absolute_hrefs: Option<bool>,
    pub embed_self_events: Option<bool>,
    pub empty_events: Option<&'static str>,
    pub gzip: Option<bool>,
    pub uniform_content_type: Option<bool>,
    pub ucwa_version_header: Option<bool>,
    pub link_revisions: Option<bool>,
    pub repost_status: Option<u16>,
    pub fold_challenges: Option<bool>,
    pub grants: Option<Vec<String>>,
    pub windows_auth: Option<Vec<String>>,
    pub modern_auth: Option<bool>,
    pub bearer_challenge: Option<&'static str>,
    pub invalid_token_status: Option<u16>,
    pub foreign_token_status: Option<u16>,
    pub token_lifetime: Option<u64>,
    pub fresh_tickets: Option<bool>,
    /// Whole seconds a P-GET without `timeout` was held before an empty answer.
    pub event_timeout: Option<u64>,
    /// `DOMAIN\user` refused while the UPN form works (`Some(true)`), or accepted.
    pub upn_only: Option<bool>,
    /// The NetBIOS domain: the NTLM challenge's target name, or one `DOMAIN\user` was accepted in.
    pub domain: Option<String>,
}

/// ucwa-sim's defaults for what the profile compares with.
const DEFAULT_GRANTS: [&str; 3] = [
    "urn:microsoft.rtc:windows",
    "urn:microsoft.rtc:anonmeeting",
    "password",
];
const DEFAULT_WINDOWS_AUTH: [&str; 2] = ["negotiate", "ntlm"];
const DEFAULT_TOKEN_LIFETIME: u64 = 28_800;
const DEFAULT_EVENT_TIMEOUT: u64 = 180;
const DEFAULT_DOMAIN: &str = "CONTOSO";

/// Options a run of the doctor cannot observe (they take minutes, or another account, or
/// would change the user's standing with the server). `--expired-status` is only ever shown
/// by an application that expired, never by one that was deleted (that one is 404 either way).
const NEVER_OBSERVED: [&str; 13] = [
    "--layout",
    "--strict-paths",
    "--expired-status",
    "--app-expiry-s",
    "--inactive-s",
    "--away-s",
    "--event-timeout-min-s",
    "--event-hold-s",
    "--max-apps",
    "--offwork-reads-as",
    "--allowed-origin",
    "--subscription-minute-s",
    "--foreign-apps-user",
];

/// One option: `None` not observed; `Some(None)` observed at the default; `Some(Some(args))`
/// observed and written.
type Item = (&'static str, Option<Option<Vec<String>>>);

fn flag(name: &'static str, seen: Option<bool>) -> Item {
    (name, seen.map(|on| on.then(Vec::new)))
}

fn value<T: PartialEq + ToString>(name: &'static str, seen: Option<T>, default: T) -> Item {
    (
        name,
        seen.map(|v| (v != default).then(|| vec![v.to_string()])),
    )
}

impl Observed {
    fn items(&self, user: &str) -> Vec<Item> {
        let list = |v: &Option<Vec<String>>, default: &[&str]| {
            v.as_ref().map(|l| {
                (l.iter().map(String::as_str).ne(default.iter().copied()))
                    .then(|| vec![l.join(",")])
            })
        };
        vec![
            ("--tls", Some(self.tls.then(Vec::new))),
            value("--discovery-redirects", self.discovery_redirects, 0),
            flag("--bare-redirects", self.bare_redirects),
            (
                "--pool2-user",
                self.pool2_user.map(|p| p.then(|| vec![user.to_string()])),
            ),
            (
                "--pool2-apps-user",
                self.pool2_apps_user
                    .map(|p| p.then(|| vec![user.to_string()])),
            ),
            flag("--absolute-hrefs", self.absolute_hrefs),
            flag("--embed-self-events", self.embed_self_events),
            value("--empty-events", self.empty_events, "sender-empty"),
            flag("--no-gzip", self.gzip.map(|g| !g)),
            flag("--uniform-content-type", self.uniform_content_type),
            flag("--ucwa-version-header", self.ucwa_version_header),
            flag("--no-link-revisions", self.link_revisions.map(|r| !r)),
            value("--repost-status", self.repost_status, 200),
            flag("--fold-challenges", self.fold_challenges),
            ("--grants", list(&self.grants, &DEFAULT_GRANTS)),
            (
                "--windows-auth",
                list(&self.windows_auth, &DEFAULT_WINDOWS_AUTH),
            ),
            flag("--modern-auth", self.modern_auth),
            value("--bearer-challenge", self.bearer_challenge, "standard"),
            value("--invalid-token-status", self.invalid_token_status, 401),
            value("--foreign-token-status", self.foreign_token_status, 500),
            value(
                "--token-lifetime",
                self.token_lifetime,
                DEFAULT_TOKEN_LIFETIME,
            ),
            flag("--fresh-tickets", self.fresh_tickets),
            value(
                "--event-timeout-s",
                self.event_timeout,
                DEFAULT_EVENT_TIMEOUT,
            ),
            flag("--upn-only", self.upn_only),
            (
                "--domain",
                self.domain
                    .as_ref()
                    .map(|d| (!d.eq_ignore_ascii_case(DEFAULT_DOMAIN)).then(|| vec![d.clone()])),
            ),
        ]
    }

    /// The profile's lines: comments first, the `ucwa-sim` command line last.
    pub fn lines(&self, user: &str) -> Vec<String> {
        let items = self.items(user);
        let mut not_seen: Vec<&str> = items
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(n, _)| *n)
            .collect();
        not_seen.extend(NEVER_OBSERVED);
        let mut cmd = vec!["ucwa-sim".to_string()];
        for (name, v) in &items {
            if let Some(Some(args)) = v {
                cmd.push(name.to_string());
                cmd.extend(args.iter().map(|a| quote(a)));
            }
        }
        vec![
            "# ucwa-sim profile of this server, written by ucwa-doctor (options at their default left out)".to_string(),
            "# add --user NAME:PASSWORD for your test accounts (default: alice@contoso.com, bob@contoso.com)".to_string(),
            format!("# not observed: {}", not_seen.join(" ")),
            cmd.join(" "),
        ]
    }
}

/// A shell word: quoted when it holds anything but safe characters.
fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@.,:_-/+=".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_left_out_and_what_was_not_seen_is_listed() {
        let o = Observed {
            gzip: Some(true),
            grants: Some(vec!["urn:microsoft.rtc:windows".into()]),
            fold_challenges: Some(true),
            token_lifetime: Some(28_800),
            ..Observed::default()
        };
        let lines = o.lines("alice@contoso.com");
        let cmd = lines.last().unwrap();
        assert_eq!(
            cmd,
            "ucwa-sim --fold-challenges --grants urn:microsoft.rtc:windows"
        );
        let not_seen = &lines[lines.len() - 2];
        assert!(not_seen.contains("--repost-status") && not_seen.contains("--event-timeout-s"));
        assert!(!not_seen.contains("--no-gzip") && !not_seen.contains("--grants "));
    }
}
