//! The command line's shape: every subcommand, flag and help text (clap derive). Parsing only;
//! what each command does lives in its own module.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXIT_CODES: &str = "\
EXIT CODES:
  0  success
  1  failure: a one-line reason on stderr (sign-in refused, server unreachable, service error)
  2  usage error: unknown command or flag, missing or bad argument";

const ENVIRONMENT: &str = "\
ENVIRONMENT:
  UCWA_SERVER     default for --server (discovery URL or SIP domain)
  UCWA_USER       default for --user
  UCWA_SOCKET     the service's control socket (default $XDG_RUNTIME_DIR/ucwa/control.sock,
                  else /tmp/ucwa-UID/control.sock)
  UCWA_LOG        library log level (error, warn, info, debug, trace); --verbose sets debug
  UCWA_LOG_FILE   write the library's log to this file instead of stderr
  NO_COLOR        when set, no colour in any output";

const FILES: &str = "\
FILES:
  $XDG_RUNTIME_DIR/ucwa/control.sock   the running service's control socket (0600, dir 0700)
  /etc/ucwa/ucwa.toml                  the usual place of the service's configuration";

/// Set Skype for Business presence from the shell, and keep it with a headless service.
#[derive(Parser, Debug)]
#[command(
    name = "ucwa",
    version,
    about = "Skype for Business presence from the shell, and a headless presence service",
    long_about = "Skype for Business presence from the shell, and a headless presence service.\n\n\
One-shot commands (presence, note, location, source) go to the running `ucwa serve` service \
when there is one, so what they set stays after the command exits; without a service they sign \
in themselves, and what they set lasts only as long as that sign-in (the command says so on \
stderr). Read commands (get, contacts, watch) sign in themselves unless a service answers.\n\n\
Credentials are never taken from the command line: --password-env VAR, --password-file FILE \
(must be 0600 and yours), the OS credential store (`ucwa login`), or the Windows grant as the \
current user (--current-user, Windows only).",
    after_long_help = concat!(
        "EXAMPLES:\n",
        "  ucwa login --server contoso.com --user alice@contoso.com\n",
        "  ucwa presence set Busy\n",
        "  ucwa note set 'Back at 3'\n",
        "  ucwa source set phone Busy --note 'On a call' --for 2h\n",
        "  ucwa watch --contacts sip:bob@contoso.com --json | mosquitto_pub -l -t presence\n",
        "  ucwa serve --config /etc/ucwa/ucwa.toml\n\n",
        "EXIT CODES:\n",
        "  0  success\n",
        "  1  failure: a one-line reason on stderr\n",
        "  2  usage error\n\n",
        "Every subcommand has its own --help with examples, environment and files."
    )
)]
pub struct Cli {
    /// Library log at debug level on stderr (sets UCWA_LOG=debug unless UCWA_LOG is set)
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Get, set or reset your availability
    #[command(after_long_help = presence_help())]
    Presence {
        #[command(subcommand)]
        action: PresenceAction,
    },
    /// Get, set or clear your personal note
    #[command(after_long_help = text_help("note", "'Back at 3'"))]
    Note {
        #[command(subcommand)]
        action: TextAction,
    },
    /// Get, set or clear your location
    #[command(after_long_help = text_help("location", "'Building 7'"))]
    Location {
        #[command(subcommand)]
        action: TextAction,
    },
    /// Read contacts' presence
    #[command(after_long_help = contacts_help())]
    Contacts {
        #[command(subcommand)]
        action: ContactsAction,
    },
    /// Named presence sources with expiry (phone, calendar, lock), kept by the service
    #[command(after_long_help = source_help())]
    Source {
        #[command(subcommand)]
        action: SourceAction,
    },
    /// Print one JSON object per event (own presence, contacts', connection), forever
    #[command(after_long_help = watch_help())]
    Watch(WatchArgs),
    /// Run the presence service: keep accounts signed in, available and true
    #[command(after_long_help = serve_help())]
    Serve(ServeArgs),
    /// Show the running service's accounts: connection, presence, deciding source, last error
    #[command(after_long_help = status_help())]
    Status(StatusArgs),
    /// Store a password in the OS credential store (Keychain, Credential Manager, keyutils)
    #[command(after_long_help = login_help())]
    Login(LoginArgs),
    /// Diagnose a sign-in step by step (see `ucwa doctor --help`)
    #[command(disable_help_flag = true, after_long_help = doctor_help())]
    Doctor {
        /// Arguments passed to the doctor (run `ucwa doctor --help` for them)
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// Who to sign in as, when a command signs in itself (no service, or --direct).
#[derive(Args, Debug, Clone, Default)]
pub struct Account {
    /// Discovery URL or SIP domain [env: UCWA_SERVER]
    #[arg(long)]
    pub server: Option<String>,
    /// User to sign in as, user@domain or DOMAIN\user [env: UCWA_USER]
    #[arg(long)]
    pub user: Option<String>,
    /// Read the password from this environment variable
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// Read the password from this file (must be mode 0600 and owned by you)
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Sign in as the logged-on Windows user (Windows only; no password)
    #[arg(long)]
    pub current_user: bool,
    /// Which of the service's accounts (when it runs several)
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// Sign in directly even when a service is running
    #[arg(long)]
    pub direct: bool,
    /// The service's control socket [env: UCWA_SOCKET]
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum PresenceAction {
    /// Print your availability (and activity)
    Get {
        #[command(flatten)]
        account: Account,
        /// One JSON object on stdout
        #[arg(long)]
        json: bool,
    },
    /// Set your availability: Online, Busy, DoNotDisturb, BeRightBack, Away, OffWork
    Set {
        /// Online, Busy, DoNotDisturb (dnd), BeRightBack (brb), Away, OffWork
        #[arg(value_parser = crate::output::parse_availability)]
        availability: ucwa::Availability,
        /// Your choice expires after this (90s, 30m, 2h, 1d); then the sources decide again
        #[arg(long = "for", value_name = "DURATION", value_parser = crate::output::parse_duration)]
        duration: Option<std::time::Duration>,
        #[command(flatten)]
        account: Account,
    },
    /// Clear your choice: the sources (or the server) decide again
    Reset {
        #[command(flatten)]
        account: Account,
    },
}

#[derive(Subcommand, Debug)]
pub enum TextAction {
    /// Print it (empty output when there is none)
    Get {
        #[command(flatten)]
        account: Account,
        /// One JSON object on stdout
        #[arg(long)]
        json: bool,
    },
    /// Set it
    Set {
        text: String,
        /// Expires after this (90s, 30m, 2h, 1d; note only): the note before it comes back
        #[arg(long = "for", value_name = "DURATION", value_parser = crate::output::parse_duration)]
        duration: Option<std::time::Duration>,
        #[command(flatten)]
        account: Account,
    },
    /// Clear it
    Clear {
        #[command(flatten)]
        account: Account,
    },
}

#[derive(Subcommand, Debug)]
pub enum ContactsAction {
    /// Print each contact's availability, activity, note and location
    Get {
        /// sip:user@domain or user@domain (at most 100)
        #[arg(required = true, num_args = 1..)]
        contacts: Vec<String>,
        #[command(flatten)]
        account: Account,
        /// One JSON object per contact, one a line
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum SourceAction {
    /// Set a source's availability, with an optional note and expiry
    Set {
        /// Source name (printable, e.g. phone, calendar, lock)
        name: String,
        /// Online, Busy, DoNotDisturb, BeRightBack, Away, OffWork
        #[arg(value_parser = crate::output::parse_availability)]
        availability: ucwa::Availability,
        /// Note shown while this source decides
        #[arg(long)]
        note: Option<String>,
        /// Expiry: 90s, 30m, 2h, 1d, or plain seconds (default: until cleared)
        #[arg(long = "for", value_name = "DURATION", value_parser = crate::output::parse_duration)]
        duration: Option<std::time::Duration>,
        #[command(flatten)]
        account: Account,
    },
    /// Remove a source
    Clear {
        name: String,
        #[command(flatten)]
        account: Account,
    },
}

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Contacts to watch as well (sip:user@domain or user@domain)
    #[arg(long, num_args = 1..)]
    pub contacts: Vec<String>,
    /// One JSON object per line (the default when stdout is not a terminal)
    #[arg(long)]
    pub json: bool,
    /// Stop after this many events (default: forever)
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    #[command(flatten)]
    pub account: Account,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The configuration file (TOML)
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Only check the configuration file and exit
    #[arg(long)]
    pub check: bool,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// One JSON object per account, one a line
    #[arg(long)]
    pub json: bool,
    /// Wait up to SECONDS for the service to answer and every account to be connected (for
    /// scripts that start the service); exit 1 if they are not by then
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub wait: Option<u32>,
    /// The service's control socket [env: UCWA_SOCKET]
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// Discovery URL or SIP domain [env: UCWA_SERVER]
    #[arg(long)]
    pub server: Option<String>,
    /// User whose password to store [env: UCWA_USER]
    #[arg(long)]
    pub user: Option<String>,
    /// Store without trying the password first
    #[arg(long)]
    pub no_verify: bool,
    /// Remove the stored password instead
    #[arg(long)]
    pub forget: bool,
}

fn presence_help() -> String {
    format!(
        "EXAMPLES:\n  ucwa presence get\n  ucwa presence get --json\n  ucwa presence set Busy\n  \
ucwa presence set dnd --account work\n  ucwa presence set Away --for 1h\n  ucwa presence reset\n\n\
`set` and `reset` go to the running service when there is one (the service keeps the state); \
without one they sign in, set, and sign out, and say on stderr that the state lasts only as \
long as that application did. Availability names are case-insensitive; dnd and brb work too.\n\n\
OUTPUT:\n  get: `Online` or `Online (in-a-meeting)`; --json: {{\"availability\":\"Online\",\"activity\":null}}\n\n\
{EXIT_CODES}\n\n{ENVIRONMENT}\n\n{FILES}"
    )
}

fn text_help(what: &str, example: &str) -> String {
    format!(
        "EXAMPLES:\n  ucwa {what} get\n  ucwa {what} set {example}\n  ucwa {what} clear\n\n\
`set` and `clear` go to the running service when there is one; otherwise they sign in \
themselves and the {what} lasts only as long as that application.\n\n\
OUTPUT:\n  get: the text alone (nothing when none); --json: {{\"{what}\":\"…\"}} or {{\"{what}\":null}}\n\n\
{EXIT_CODES}\n\n{ENVIRONMENT}\n\n{FILES}"
    )
}

fn contacts_help() -> String {
    format!(
        "EXAMPLES:\n  ucwa contacts get sip:bob@contoso.com carol@contoso.com\n  \
ucwa contacts get bob@contoso.com --json | jq -r .availability\n\n\
OUTPUT:\n  a table: CONTACT, AVAILABILITY, ACTIVITY, NOTE, LOCATION; --json: one object a line,\n  \
{{\"contact\":\"sip:bob@contoso.com\",\"availability\":\"Away\",\"activity\":null,\"note\":null,\"location\":null}}\n  \
An unknown contact reads Unknown.\n\n{EXIT_CODES}\n\n{ENVIRONMENT}"
    )
}

fn source_help() -> String {
    format!(
        "A source is one reason for a presence (a phone call, a meeting, a locked screen). The \
service composes them: your own choice (`ucwa presence set`) decides while it lasts, else the \
highest of the live sources (DoNotDisturb > Busy > BeRightBack > Online > Away > OffWork), \
else the server's own state. Clearing a source, or its expiry, restores what was before.\n\n\
EXAMPLES:\n  ucwa source set phone Busy --note 'On a call' --for 2h\n  ucwa source clear phone\n  \
ucwa source set calendar Busy --for 45m --account work\n\n\
DURATION: 90s, 30m, 2h, 1d or plain seconds.\n\n{EXIT_CODES}\n\n{ENVIRONMENT}\n\n{FILES}"
    )
}

fn watch_help() -> String {
    format!(
        "With a service running (and no --contacts or --direct), streams the service's events: \
every account's, or --account's, each line with an `account` field. Otherwise signs in, makes \
you available (the server keeps or chooses your availability), subscribes the contacts, and \
prints one line per event. Lines go to stdout, flushed at once, until killed (or --count events). With --json (or stdout not a terminal) each line is one JSON object:\n\n\
  ts          seconds since 1970 (float)\n  \
account     the service's account name (streams from the service only)\n  \
event       presence | note | location | connection | application_recreated | signed_out |\n              \
contact_presence | contact_note | contact_location | effective_presence\n  \
contact     the contact's SIP URI (contact_* events only)\n  \
availability, activity   presence events\n  \
note, location           note / location events (null: cleared)\n  \
state       connection: connected | recovering | recovered | lost\n  \
source      effective_presence: the deciding source (null: your choice or none)\n  \
decider     effective_presence: source | preferred | nobody\n  \
cause       effective_presence: set | cleared | expired | changed_elsewhere\n  \
reason      connection / signed_out: why (null when none)\n\n\
Signing in itself, the first lines are the state at start: one presence event for you and one \
contact_presence per watched contact.\n\n\
EXAMPLES:\n  ucwa watch --json\n  ucwa watch --contacts sip:bob@contoso.com --json | mosquitto_pub -l -t ucwa/presence\n  \
ucwa watch --json | jq -r 'select(.event==\"presence\") | .availability'\n\n\
{EXIT_CODES}\n\n{ENVIRONMENT}"
    )
}

fn serve_help() -> String {
    format!(
        "Keeps every account of the configuration signed in, available and true for as long as it \
runs: the library's keep-alive recovers lost connections and deleted applications, and an \
account whose sign-in fails is retried (every 5 s at first, then up to every 5 minutes). One-shot \
commands and scripts reach it on a Unix domain socket (mode 0600 in a 0700 directory; peers \
of another user are refused). SIGTERM or SIGINT signs every account out (its application \
deleted) within the library's bounded time and exits 0. On Windows `serve` is refused: run \
one-shot commands from a scheduled task instead (see the README).\n\n\
CONFIGURATION (TOML):\n\
  socket = \"/run/ucwa/control.sock\"   # optional\n  log = \"info\"                         # optional: error|warn|info|debug|trace\n\n  \
[[account]]\n  name = \"work\"                      # unique; --account NAME\n  \
server = \"https://lyncdiscover.contoso.com\"\n  user = \"alice@contoso.com\"\n  \
password_env = \"UCWA_WORK_PASSWORD\"   # or password_file = \"/etc/ucwa/work.pw\" (0600)\n  \
                                      # or keyring = true, or current_user = true (Windows)\n  \
grant = \"password\"                  # optional: password | windows\n  \
availability = \"Online\"             # desired presence (optional)\n  note = \"Reachable by chat\"          # optional\n  \
location = \"Office\"                 # optional\n  contacts = [\"sip:bob@contoso.com\"]  # watched\n  \
[account.sources.phone]             # optional starting sources\n  availability = \"Busy\"\n  note = \"On a call\"\n\n\
EXAMPLES:\n  ucwa serve --config /etc/ucwa/ucwa.toml\n  ucwa serve --config ucwa.toml --check\n  \
systemctl enable --now ucwa     # bindings/cli/systemd/ucwa.service\n\n\
{EXIT_CODES}\n\n{ENVIRONMENT}\n\n{FILES}"
    )
}

fn status_help() -> String {
    format!(
        "Asks the running service. One block per account: its connection state (signing-in, \
connected, recovering, recovered, lost, failed, signed-out), the availability on the server, \
the effective presence and which source decides it, and the last error.\n\n\
EXAMPLES:\n  ucwa status\n  ucwa status --json | jq -r '.account + \" \" + .state'\n  \
ucwa status --wait 30     # after starting the service: on once every account is connected\n\n\
{EXIT_CODES}\n  (1 also when no service is running)\n\n{ENVIRONMENT}\n\n{FILES}"
    )
}

fn login_help() -> String {
    format!(
        "Reads the password from the terminal without echo (or one line from standard input \
when it is not a terminal), tries it (unless --no-verify) and stores it in the OS credential \
store under service `ucwa` and the user name. Later commands and the service (keyring = true) \
use it. Backends: macOS Keychain, Windows Credential Manager, and on Linux the kernel's keyutils \
(no desktop needed; it lasts until reboot, so for a service that must survive a reboot use \
password_file with mode 0600, or systemd's LoadCredential=).\n\n\
EXAMPLES:\n  ucwa login --server contoso.com --user alice@contoso.com\n  \
printf '%%s\\n' \"$PW\" | ucwa login --user alice@contoso.com --no-verify\n  ucwa login --user alice@contoso.com --forget\n\n\
{EXIT_CODES}\n\n{ENVIRONMENT}"
    )
}

fn doctor_help() -> String {
    format!(
        "Runs the diagnosis of the library's doctor with the arguments given; `ucwa doctor --help` \
prints its own options.\n\nEXAMPLES:\n  ucwa doctor --help\n\n{EXIT_CODES}\n\n{ENVIRONMENT}"
    )
}
