//! A command that signs in itself (no service, or `--direct`): which server and user, which
//! credential, and the sign-in steps with their progress line. What it sets lasts only as long
//! as its application, which is deleted when the command exits.

use ucwa::{Availability, Client};

use crate::cli::Account;
use crate::creds::{self, Secret, Source};
use crate::output::Progress;

/// The server, user and credential source of a direct sign-in, from flags and environment.
pub struct Target {
    pub server: String,
    pub user: String,
    pub source: Source,
}

fn flag_or_env(flag: &Option<String>, var: &str, what: &str) -> Result<String, String> {
    match flag {
        Some(v) if !v.is_empty() => Ok(v.clone()),
        _ => match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(v),
            _ => Err(format!(
                "no {what}: give --{what} or set {var} (or start `ucwa serve`)"
            )),
        },
    }
}

impl Target {
    pub fn from_flags(a: &Account) -> Result<Target, String> {
        let server = flag_or_env(&a.server, "UCWA_SERVER", "server")?;
        let source = if a.current_user {
            Source::CurrentUser
        } else if let Some(v) = &a.password_env {
            Source::Env(v.clone())
        } else if let Some(p) = &a.password_file {
            Source::File(p.clone())
        } else {
            Source::Keyring
        };
        let user = if source == Source::CurrentUser {
            a.user.clone().unwrap_or_default()
        } else {
            flag_or_env(&a.user, "UCWA_USER", "user")?
        };
        Ok(Target {
            server,
            user,
            source,
        })
    }
}

/// Creates a client and signs it in (and makes it available when `available`), showing each
/// step on a terminal.
pub fn sign_in(t: &Target, available: bool) -> Result<Client, String> {
    let secret = creds::resolve(&t.source, &t.user)?;
    sign_in_with(t, &secret, available)
}

/// As [`sign_in`], with the secret in hand (`ucwa login` tries the one it is storing).
pub fn sign_in_with(t: &Target, secret: &Secret, available: bool) -> Result<Client, String> {
    let progress = Progress::new();
    let client = Client::new(&t.server).map_err(|e| format!("server {}: {e}", t.server))?;
    progress.step(&format!("signing in as {} at {}", t.user, t.server));
    let signed = match secret {
        Secret::Password(p) => client.sign_in(&t.user, p),
        Secret::CurrentUser => client.sign_in_current_user(),
    };
    if let Err(e) = signed {
        progress.done();
        return Err(format!("sign-in failed: {e}"));
    }
    if available {
        progress.step("making available");
        if let Err(e) = client.make_me_available(Availability::Unspecified) {
            progress.done();
            return Err(format!("makeMeAvailable failed: {e}"));
        }
    }
    progress.done();
    Ok(client)
}

/// Signs out within the library's bound (the application is deleted) and drops the client.
pub fn finish(client: Client) {
    let progress = Progress::new();
    progress.step("signing out");
    client.close();
    progress.done();
}
