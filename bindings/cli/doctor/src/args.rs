//! The doctor's command line. The flags `--server`, `--user`, `--password-env`, `--grant`,
//! `--ca-file`, `--contact` and `--transcript` are fixed (scripts and checks use them).

use std::path::PathBuf;
use std::time::Duration;

/// `--help`.
pub const HELP: &str = "\
ucwa-doctor: check a Skype for Business Server deployment the way the ucwa library uses it,
step by step, explain each failure, and print the server's profile as a ucwa-sim command line.

USAGE:
  ucwa-doctor --server URL-or-domain --user NAME --password-env VAR [options]

REQUIRED:
  --server URL|DOMAIN   discovery URL (https://lyncdiscover.contoso.com) or SIP domain
                        (contoso.com: lyncdiscoverinternal.<domain>, then lyncdiscover.<domain>)
  --user NAME           user@domain, DOMAIN\\user or sip:user@domain
  --password-env VAR    read the password from environment variable VAR
  (or --password-file FILE: the first line of FILE)

OPTIONS:
  --grant auto|password|windows   OAuth grant (default auto: password when offered, else Windows)
  --ca-file FILE        PEM file of the CA that issued the pool's certificate (internal CA)
  --contact URI         also read this second user's presence (sip:bob@contoso.com)
  --transcript FILE     write the redacted transcript of every exchange (JSON lines) to FILE,
                        and the server profile beside it (FILE.ucwa-sim)
  --domain NAME         the NetBIOS domain, to try DOMAIN\\user at the token endpoint too
                        (default: the domain the Windows grant's NTLM challenge names)
  --max-wait-s N        longest wait for the event channel and for a P-GET to be released
                        without events, 1..600 (default 20)
  --quick               the same as --max-wait-s 5
  --timeout-s N         longest single HTTP exchange, 1..600 (default 15)
  -h, --help            this text
  -V, --version         the doctor's version and the library's

WHAT IT DOES:
  discovery (each hop and its host), TLS trust (with and without --ca-file), the challenge and
  the grants offered, the token (lifetime, scope), the pool (and a pool change), application
  creation, makeMeAvailable, presence set and read back, note and location, reportMyActivity,
  the event channel (first events, how long a P-GET is held), the contact's presence, and
  sign-out with the application's DELETE. It leaves presence, note and location as it found
  them and deletes its application. The password never appears in the output.

OUTPUT:
  one checklist line per step ([ok], [FAIL] with the likely cause and the fix, [skip], [info]);
  then the server profile: comment lines (# not observed: ...) and, as the last line, a
  ucwa-sim command line that starts a simulator behaving like this server.

EXIT STATUS:
  0 every step passed; 1 a step failed; 2 usage error (bad flag, no password).
";

/// The parsed command line.
#[derive(Debug, Clone)]
pub struct Args {
    pub server: String,
    pub user: String,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    pub grant: String,
    pub ca_file: Option<PathBuf>,
    pub contact: Option<String>,
    pub transcript: Option<PathBuf>,
    /// `--domain`: the NetBIOS domain of `DOMAIN\user` names.
    pub domain: Option<String>,
    pub max_wait: Duration,
    pub timeout: Duration,
}

fn seconds(flag: &str, v: &str) -> Result<Duration, String> {
    match v.parse::<f64>() {
        Ok(n) if n.is_finite() && (1.0..=600.0).contains(&n) => Ok(Duration::from_secs_f64(n)),
        _ => Err(format!(
            "{flag} {v:?}: must be a number of seconds from 1 to 600"
        )),
    }
}

impl Args {
    /// `Ok(None)`: `--help` was asked for.
    pub fn parse(args: &[String]) -> Result<Option<Args>, String> {
        let mut a = Args {
            server: String::new(),
            user: String::new(),
            password_env: None,
            password_file: None,
            grant: "auto".into(),
            ca_file: None,
            contact: None,
            transcript: None,
            domain: None,
            max_wait: Duration::from_secs(20),
            timeout: Duration::from_secs(15),
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            if flag == "-h" || flag == "--help" {
                return Ok(None);
            }
            if flag == "--quick" {
                a.max_wait = Duration::from_secs(5);
                continue;
            }
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
                _ => (flag.as_str(), None),
            };
            let known = [
                "--server",
                "--user",
                "--password-env",
                "--password-file",
                "--grant",
                "--ca-file",
                "--contact",
                "--transcript",
                "--domain",
                "--max-wait-s",
                "--timeout-s",
            ];
            if !known.contains(&name) {
                return Err(format!("unknown option {name:?}"));
            }
            let v = match inline.or_else(|| it.next().cloned()) {
                Some(v) if !v.is_empty() => v,
                _ => return Err(format!("{name} needs a value")),
            };
            match name {
                "--server" => a.server = v,
                "--user" => a.user = v,
                "--password-env" => a.password_env = Some(v),
                "--password-file" => a.password_file = Some(v.into()),
                "--grant" => match v.to_ascii_lowercase().as_str() {
                    g @ ("auto" | "password" | "windows") => a.grant = g.to_string(),
                    _ => return Err(format!("--grant {v:?}: must be auto, password or windows")),
                },
                "--ca-file" => a.ca_file = Some(v.into()),
                "--contact" => a.contact = Some(v),
                "--transcript" => a.transcript = Some(v.into()),
                "--domain" if v.contains('\\') => {
                    return Err(format!(
                        "--domain {v:?}: a NetBIOS domain without a backslash"
                    ))
                }
                "--domain" => a.domain = Some(v),
                "--max-wait-s" => a.max_wait = seconds(name, &v)?,
                _ => a.timeout = seconds(name, &v)?,
            }
        }
        if a.server.is_empty() || a.user.is_empty() {
            return Err("--server and --user are required".into());
        }
        if a.password_env.is_none() == a.password_file.is_none() {
            return Err(
                "give the password with exactly one of --password-env VAR or --password-file FILE"
                    .into(),
            );
        }
        Ok(Some(a))
    }

    /// The password, from the variable or the file named.
    pub fn password(&self) -> Result<String, String> {
        if let Some(var) = &self.password_env {
            return match std::env::var(var) {
                Ok(p) if !p.is_empty() => Ok(p),
                _ => Err(format!(
                    "the environment variable {var} (--password-env) is not set or empty"
                )),
            };
        }
        let path = self.password_file.as_ref().expect("checked in parse");
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--password-file {}: {e}", path.display()))?;
        match text.lines().next() {
            Some(p) if !p.is_empty() => Ok(p.to_string()),
            _ => Err(format!(
                "--password-file {}: the first line is empty",
                path.display()
            )),
        }
    }
}
