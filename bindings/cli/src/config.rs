//! The service's configuration file (TOML): accounts with their server, user, grant,
//! credential source, desired presence, starting sources, watched contacts and library
//! options, plus the control socket and log level. The whole file is checked before anything
//! starts; every problem is reported at once, naming the line (syntax, unknown keys, types)
//! or the account and key (meaning).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use ucwa::Availability;

use crate::creds::Source;
use crate::output::{parse_availability, parse_duration};

/// Largest configuration file read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// Most accounts one service keeps.
pub const MAX_ACCOUNTS: usize = 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    socket: Option<PathBuf>,
    log: Option<String>,
    #[serde(default)]
    account: Vec<RawAccount>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    name: String,
    server: String,
    user: Option<String>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    #[serde(default)]
    keyring: bool,
    #[serde(default)]
    current_user: bool,
    grant: Option<String>,
    availability: Option<String>,
    note: Option<String>,
    location: Option<String>,
    #[serde(default)]
    contacts: Vec<String>,
    #[serde(default)]
    options: BTreeMap<String, String>,
    #[serde(default)]
    sources: BTreeMap<String, RawSource>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    availability: String,
    note: Option<String>,
    #[serde(rename = "for")]
    duration: Option<String>,
}

/// A starting source of an account (`[account.sources.NAME]`).
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub name: String,
    pub availability: Availability,
    pub note: Option<String>,
    pub expires: Option<std::time::Duration>,
}

/// One account, checked.
#[derive(Debug, Clone)]
pub struct AccountConfig {
    pub name: String,
    pub server: String,
    pub user: String,
    pub credential: Source,
    pub availability: Option<Availability>,
    pub note: Option<String>,
    pub location: Option<String>,
    pub contacts: Vec<String>,
    /// Library options (`grant` included), applied with `Client::set_option`.
    pub options: Vec<(String, String)>,
    pub sources: Vec<SourceConfig>,
}

/// The whole file, checked.
#[derive(Debug)]
pub struct Config {
    pub socket: Option<PathBuf>,
    pub log: Option<String>,
    pub accounts: Vec<AccountConfig>,
}

const LOG_LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// Reads and checks the file at `path`.
pub fn load(path: &Path) -> Result<Config, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: {e}"))?;
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(format!("{shown}: larger than {MAX_CONFIG_BYTES} bytes"));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
    parse(&text).map_err(|e| format!("{shown}: {e}"))
}

/// Checks a configuration text; every problem found, one a line.
pub fn parse(text: &str) -> Result<Config, String> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?;
    let mut problems = Vec::new();
    if let Some(l) = &raw.log {
        if !LOG_LEVELS.contains(&l.to_ascii_lowercase().as_str()) {
            problems.push(format!(
                "key log: {l:?} is not one of {}",
                LOG_LEVELS.join(", ")
            ));
        }
    }
    if raw.account.is_empty() {
        problems.push("no [[account]]: the service needs at least one".to_string());
    }
    if raw.account.len() > MAX_ACCOUNTS {
        problems.push(format!(
            "{} accounts: at most {MAX_ACCOUNTS}",
            raw.account.len()
        ));
    }
    let mut accounts = Vec::new();
    let mut names = std::collections::HashSet::new();
    for (i, a) in raw.account.into_iter().enumerate() {
        let at = format!("[[account]] #{} ({:?})", i + 1, a.name);
        if !names.insert(a.name.clone()) {
            problems.push(format!("{at}: key name: {:?} is used twice", a.name));
        }
        match check_account(a) {
            Ok(acc) => accounts.push(acc),
            Err(ps) => problems.extend(ps.into_iter().map(|p| format!("{at}: {p}"))),
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    Ok(Config {
        socket: raw.socket,
        log: raw.log,
        accounts,
    })
}

fn credential(a: &RawAccount, problems: &mut Vec<String>) -> Source {
    let mut given = Vec::new();
    if let Some(v) = &a.password_env {
        given.push(Source::Env(v.clone()));
    }
    if let Some(p) = &a.password_file {
        given.push(Source::File(p.clone()));
    }
    if a.keyring {
        given.push(Source::Keyring);
    }
    if a.current_user {
        given.push(Source::CurrentUser);
    }
    if given.len() != 1 {
        problems.push(format!(
            "exactly one of password_env, password_file, keyring = true, current_user = true is needed ({} given)",
            given.len()
        ));
    }
    given.into_iter().next().unwrap_or(Source::Keyring)
}

fn check_account(a: RawAccount) -> Result<AccountConfig, Vec<String>> {
    let mut problems = Vec::new();
    let name_ok = !a.name.is_empty()
        && a.name.len() <= 64
        && a.name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
    if !name_ok {
        problems.push("key name: 1..64 of letters, digits and - _ . @".into());
    }
    if a.server.trim().is_empty() {
        problems.push("key server: empty".into());
    }
    let credential = credential(&a, &mut problems);
    let user = a.user.clone().unwrap_or_default();
    if user.is_empty() && credential != Source::CurrentUser {
        problems.push("key user: missing (only current_user = true may go without)".into());
    }
    let availability = a
        .availability
        .as_deref()
        .map(parse_availability)
        .transpose();
    let availability = availability.unwrap_or_else(|e| {
        problems.push(format!("key availability: {e}"));
        None
    });
    let mut options: Vec<(String, String)> = a.options.into_iter().collect();
    if let Some(g) = a.grant {
        if !["auto", "password", "windows"].contains(&g.as_str()) {
            problems.push(format!("key grant: {g:?} is not auto, password or windows"));
        }
        options.push(("grant".into(), g));
    }
    for (k, v) in &options {
        if let Err(e) = ucwa::Client::new("contoso.com").and_then(|c| c.set_option(k, v)) {
            problems.push(format!("options.{k}: {e}"));
        }
    }
    let sources = a
        .sources
        .into_iter()
        .filter_map(|(name, s)| {
            let av = parse_availability(&s.availability)
                .map_err(|e| problems.push(format!("sources.{name}.availability: {e}")))
                .ok()?;
            let expires = s.duration.as_deref().map(parse_duration).transpose();
            let expires = expires
                .map_err(|e| problems.push(format!("sources.{name}.for: {e}")))
                .ok()?;
            Some(SourceConfig {
                name,
                availability: av,
                note: s.note,
                expires,
            })
        })
        .collect();
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(AccountConfig {
        name: a.name,
        server: a.server,
        user,
        credential,
        availability,
        note: a.note,
        location: a.location,
        contacts: a.contacts,
        options,
        sources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_file_parses_with_its_accounts_and_sources() {
        let c = parse(
            r#"
log = "debug"
[[account]]
name = "work"
server = "http://127.0.0.1:1/"
user = "alice@contoso.com"
password_env = "PW"
availability = "dnd"
contacts = ["bob@contoso.com"]
options = { timeout_ms = "5000" }
[account.sources.phone]
availability = "Busy"
note = "On a call"
for = "2h"
"#,
        )
        .unwrap();
        let a = &c.accounts[0];
        assert_eq!(a.availability, Some(Availability::DoNotDisturb));
        assert_eq!(a.credential, Source::Env("PW".into()));
        assert_eq!(
            a.sources[0].expires,
            Some(std::time::Duration::from_secs(7200))
        );
    }

    #[test]
    fn syntax_errors_name_the_line_and_meaning_errors_name_account_and_key() {
        let e = parse(
            "[[account]]\nname = \"a\"\nserver = \"s\"\nuser = \"u\"\npassword_envv = \"X\"\n",
        )
        .unwrap_err();
        assert!(e.contains("line 5"), "{e}");
        assert!(e.contains("password_envv"), "{e}");
        let e = parse(
            "[[account]]\nname = \"a\"\nserver = \"s\"\nuser = \"u\"\navailability = \"Idle\"\n\
             [[account]]\nname = \"a\"\nserver = \"s\"\nuser = \"u\"\npassword_env = \"P\"\noptions = { timeout_ms = \"1\" }\n",
        )
        .unwrap_err();
        assert!(e.contains("#1 (\"a\"): exactly one of password_env"), "{e}");
        assert!(e.contains("#1 (\"a\"): key availability"), "{e}");
        assert!(
            e.contains("#2 (\"a\"): key name: \"a\" is used twice"),
            "{e}"
        );
        assert!(e.contains("options.timeout_ms"), "{e}");
    }
}
