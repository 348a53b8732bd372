//! Where a password comes from, never the command line: an environment variable, a private
//! file (0600 and owned by the user, refused otherwise), the OS credential store (`keyring`),
//! or none at all with the Windows grant as the current user. Error texts name the source,
//! never the secret.

use std::path::Path;

/// The keyring service name every entry is stored under.
pub const KEYRING_SERVICE: &str = "ucwa";

/// Largest password file read (a password is short; anything bigger is the wrong file).
const MAX_PASSWORD_FILE: u64 = 4096;

/// How an account signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Env(String),
    File(std::path::PathBuf),
    Keyring,
    CurrentUser,
}

/// A password, or the current Windows user. Its Debug never shows the password.
pub enum Secret {
    Password(String),
    CurrentUser,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Password(_) => f.write_str("Password(<redacted>)"),
            Secret::CurrentUser => f.write_str("CurrentUser"),
        }
    }
}

/// Reads the secret of `source` for `user`.
pub fn resolve(source: &Source, user: &str) -> Result<Secret, String> {
    match source {
        Source::Env(var) => match std::env::var(var) {
            Ok(p) if !p.is_empty() => Ok(Secret::Password(p)),
            Ok(_) => Err(format!("password environment variable {var} is empty")),
            Err(_) => Err(format!("password environment variable {var} is not set")),
        },
        Source::File(path) => read_private_file(path).map(Secret::Password),
        Source::Keyring => keyring_get(user).map(Secret::Password),
        Source::CurrentUser => Ok(Secret::CurrentUser),
    }
}

/// A password file's first line, once the file is proven private.
pub fn read_private_file(path: &Path) -> Result<String, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("password file {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("password file {shown}: not a regular file"));
    }
    if meta.len() > MAX_PASSWORD_FILE {
        return Err(format!(
            "password file {shown}: larger than {MAX_PASSWORD_FILE} bytes"
        ));
    }
    check_private(path, &meta)?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("password file {shown}: {e}"))?;
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if line.is_empty() {
        return Err(format!("password file {shown} is empty"));
    }
    Ok(line.to_string())
}

#[cfg(unix)]
fn check_private(path: &Path, meta: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let shown = path.display();
    if meta.uid() != crate::sys::euid() {
        return Err(format!(
            "password file {shown} is not owned by you (uid {}): refused; chown it to yourself and chmod 600 it",
            meta.uid()
        ));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "password file {shown} is readable by others (mode {:o}): refused; run chmod 600 {shown}",
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

/// Windows files carry ACLs, not modes; the file's place (the user's profile) keeps it private.
#[cfg(not(unix))]
fn check_private(_path: &Path, _meta: &std::fs::Metadata) -> Result<(), String> {
    Ok(())
}

fn keyring_entry(user: &str) -> Result<keyring::Entry, String> {
    keyring::Entry::new(KEYRING_SERVICE, user).map_err(|e| keyring_error(user, &e))
}

fn keyring_error(user: &str, e: &keyring::Error) -> String {
    match e {
        keyring::Error::NoEntry => format!(
            "no password stored for {user} in the OS credential store: run `ucwa login --user {user}`, or use --password-env VAR or --password-file FILE"
        ),
        keyring::Error::NoStorageAccess(_) | keyring::Error::PlatformFailure(_) => format!(
            "the OS credential store is not available here ({e}): use --password-env VAR or --password-file FILE (mode 0600) instead"
        ),
        _ => format!("OS credential store: {e}"),
    }
}

pub fn keyring_get(user: &str) -> Result<String, String> {
    keyring_entry(user)?
        .get_password()
        .map_err(|e| keyring_error(user, &e))
}

/// Stores a password. A store that refuses (keyutils answers a refused link as "no entry",
/// e.g. in a container without a persistent keyring) is reported as unavailable.
pub fn keyring_set(user: &str, password: &str) -> Result<(), String> {
    keyring_entry(user)?
        .set_password(password)
        .map_err(|e| match e {
            keyring::Error::NoEntry => "the OS credential store refused to store the password (no usable keyring for this user here): use --password-env VAR or --password-file FILE (mode 0600) instead".to_string(),
            e => keyring_error(user, &e),
        })
}

pub fn keyring_delete(user: &str) -> Result<(), String> {
    keyring_entry(user)?
        .delete_credential()
        .map_err(|e| keyring_error(user, &e))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn temp_file(name: &str, mode: u32) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ucwa-cli-creds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, "s3cret\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn a_private_password_file_is_read_and_a_loose_one_refused_without_its_content() {
        let ok = temp_file("ok.pw", 0o600);
        assert_eq!(read_private_file(&ok).unwrap(), "s3cret");
        let loose = temp_file("loose.pw", 0o644);
        let err = read_private_file(&loose).unwrap_err();
        assert!(err.contains("chmod 600"), "{err}");
        assert!(!err.contains("s3cret"));
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let s = format!("{:?}", Secret::Password("hunter2".into()));
        assert!(!s.contains("hunter2"));
    }
}
