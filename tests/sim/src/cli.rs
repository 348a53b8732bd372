//! The `ucwa-sim` command line: parsed into a [`SimConfig`] here, in the library, so that the
//! binary and a program that starts a simulator from a printed command line (the doctor's
//! server profile, its tests) read it with the one parser.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

use crate::{
    BearerChallenge, EmptyEvents, ExpiredStatus, ForeignChallenge, Layout, SimConfig, WindowsAuth,
};

/// The configuration a `ucwa-sim` command line asks for; `args` without the program name.
/// `Err` holds clap's message (usage errors, `--help`, `--version`).
pub fn config_from_args<I, S>(args: I) -> Result<SimConfig, clap::Error>
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let argv = std::iter::once(std::ffi::OsString::from("ucwa-sim"))
        .chain(args.into_iter().map(Into::into));
    Cli::try_parse_from(argv).map(Cli::into_config)
}

/// A faithful UCWA 2.0 (Skype for Business Server) simulator. Prints the discovery root URL as
/// its first line on stdout, then serves until killed. Times are seconds (decimals allowed).
#[derive(Debug, Parser)]
#[command(name = "ucwa-sim", version)]
struct Cli {
    /// Address of pool 1 (discovery root and the /_sim/ control API); port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// A user NAME:PASSWORD (repeatable). Default: alice@contoso.com:alice-password and
    /// bob@contoso.com:bob-password.
    #[arg(long = "user", value_name = "NAME:PASSWORD", value_parser = parse_user)]
    users: Vec<(String, String)>,
    /// Serve HTTPS on every listener with a certificate from a CA generated at start.
    #[arg(long)]
    tls: bool,
    /// Write the generated CA certificate (PEM) to FILE (with --tls).
    #[arg(long, value_name = "FILE", requires = "tls")]
    ca_out: Option<PathBuf>,
    /// Root responses holding only a `redirect` link before the real root.
    #[arg(long, value_name = "N", default_value_t = 0)]
    discovery_redirects: u32,
    /// User homed on pool 2: pool 1's user resource answers a redirect (repeatable).
    #[arg(long = "pool2-user", value_name = "NAME")]
    pool2_users: Vec<String>,
    /// User whose applications href is on pool 2, without a redirect (repeatable).
    #[arg(long = "pool2-apps-user", value_name = "NAME")]
    pool2_apps_users: Vec<String>,
    /// User whose applications href is on a foreign origin (127.0.0.2) (repeatable).
    #[arg(long = "foreign-apps-user", value_name = "NAME")]
    foreign_apps_users: Vec<String>,
    /// What the foreign listener (127.0.0.2) answers a request without a token: own (its own
    /// MsRtcOAuth challenge) or reflect (pool 1's challenge, the reflected-challenge attack;
    /// requests with a token get 200 {}). reflect starts the foreign listener by itself.
    #[arg(long, value_name = "own|reflect", default_value = "own")]
    foreign_challenge: ForeignChallenge,
    /// URL layout: standard (documented paths) or alt (different paths everywhere).
    #[arg(long, value_name = "standard|alt", default_value = "standard")]
    layout: Layout,
    /// Hrefs inside UCWA resources are absolute URLs (real servers: host-relative paths).
    #[arg(long)]
    absolute_hrefs: bool,
    /// Match paths exactly: no doubled slashes, no case differences, reportMyActivity only
    /// where advertised (real IIS front ends tolerate all three).
    #[arg(long)]
    strict_paths: bool,
    /// Embed the resource in self me/presence/note/location events (real servers do not).
    #[arg(long)]
    embed_self_events: bool,
    /// No "revision":"2" on startMessaging (Lync 2013 sends none; SfB 2015+ a string).
    #[arg(long)]
    no_link_revisions: bool,
    /// Redirect roots hold only _links.redirect (a captured one also has self and xframe).
    #[arg(long)]
    bare_redirects: bool,
    /// Bearer challenge parameters: standard, empty-issuers (trusted_issuers="") or
    /// authorization-uri (adds an Azure AD authorization_uri).
    #[arg(
        long,
        value_name = "standard|empty-issuers|authorization-uri",
        default_value = "standard"
    )]
    bearer_challenge: BearerChallenge,
    /// The MsRtcOAuth challenge's grant_type list (comma-separated). Without password the
    /// token endpoint refuses the password grant with unsupported_grant_type.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password"
    )]
    grants: Vec<String>,
    /// The HTTP schemes the token endpoint offers for the Windows grant
    /// (urn:microsoft.rtc:windows), comma-separated from negotiate and ntlm, in the order of
    /// their WWW-Authenticate lines (IIS's default: negotiate,ntlm).
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "negotiate,ntlm"
    )]
    windows_auth: Vec<WindowsAuth>,
    /// Fold every challenge of a 401 (or 403) into one WWW-Authenticate line, Bearer first,
    /// as reverse proxies do (the pool itself sends one line per challenge).
    #[arg(long)]
    fold_challenges: bool,
    /// Modern authentication: a 401 carries only a Bearer challenge with an authorization_uri
    /// on the simulator; the pool takes the tokens minted by POST /_sim/tokens.
    #[arg(long)]
    modern_auth: bool,
    /// What an invalid or expired token gets: 401 (challenge) or 403 (Warning InvalidToken,
    /// 28055 and both challenges, as Online answered).
    #[arg(long, value_name = "401|403", default_value_t = 401)]
    invalid_token_status: u16,
    /// An event answer without events: sender-empty ("sender": []) or sender-absent (only
    /// _links, as documented).
    #[arg(
        long,
        value_name = "sender-empty|sender-absent",
        default_value = "sender-empty"
    )]
    empty_events: EmptyEvents,
    /// Never gzip responses (by default they are gzipped when Accept-Encoding asks for it).
    #[arg(long)]
    no_gzip: bool,
    /// Send X-MS-UcwaVersion: 2.0 on UCWA answers (documented, absent from every capture).
    #[arg(long)]
    ucwa_version_header: bool,
    /// application/json; charset=utf-8 on every JSON answer and no vnd echo, instead of the
    /// media types real servers send per resource family.
    #[arg(long)]
    uniform_content_type: bool,
    /// Status of a re-POST of applications with the same endpointId: 200 (real) or 201.
    #[arg(long, value_name = "200|201", default_value_t = 200)]
    repost_status: u16,
    /// Every password grant gets a new full-lifetime ticket (real servers report the
    /// remaining lifetime of a cached ticket).
    #[arg(long)]
    fresh_tickets: bool,
    /// Accept only user@domain (or sip:user@domain) user names at the token endpoint.
    #[arg(long)]
    upn_only: bool,
    /// NetBIOS domain accepted in DOMAIN\user user names.
    #[arg(long = "domain", value_name = "NAME", default_value = "CONTOSO")]
    netbios_domain: String,
    /// Token lifetime (expires_in); an expired token gets the 401 challenge.
    #[arg(long, value_name = "S", default_value_t = 28800.0)]
    token_lifetime: f64,
    /// What a pool answers to the other pool's token: 500 (28032, real servers) or 401.
    #[arg(long, value_name = "401|500", default_value_t = 500)]
    foreign_token_status: u16,
    /// Seconds without reportMyActivity before an endpoint goes IdleOnline/IdleBusy.
    #[arg(long = "inactive-s", value_name = "S", default_value_t = 300.0)]
    inactive_s: f64,
    /// Further seconds before an idle endpoint goes Away.
    #[arg(long = "away-s", value_name = "S", default_value_t = 300.0)]
    away_s: f64,
    /// Seconds without a parked P-GET before an application is ended.
    #[arg(long = "app-expiry-s", value_name = "S", default_value_t = 900.0)]
    app_expiry_s: f64,
    /// Seconds per minute of a presence subscription's duration (tests shrink it).
    #[arg(
        long = "subscription-minute-s",
        value_name = "S",
        default_value_t = 60.0
    )]
    subscription_minute_s: f64,
    /// What requests to an expired application get: 404 ApplicationNotFound or 410
    /// InactiveApplicationExpired.
    #[arg(long, value_name = "404|410", default_value = "404")]
    expired_status: ExpiredStatus,
    /// P-GET release time without a `timeout` parameter.
    #[arg(long = "event-timeout-s", value_name = "S", default_value_t = 180.0)]
    event_timeout_s: f64,
    /// Smallest `timeout` parameter honoured (clamped to [min, 1800]).
    #[arg(
        long = "event-timeout-min-s",
        value_name = "S",
        default_value_t = 180.0
    )]
    event_timeout_min_s: f64,
    /// How long medium-priority events are held before answering a parked P-GET.
    #[arg(long = "event-hold-s", value_name = "S", default_value_t = 5.0)]
    event_hold_s: f64,
    /// Live applications per user; one more gets 410 TooManyApplications.
    #[arg(long, value_name = "N", default_value_t = 10)]
    max_apps: u32,
    /// What GET presence reports after Offwork was set.
    #[arg(long, value_name = "AVAILABILITY[:ACTIVITY]", default_value = "Away:off-work",
          value_parser = SimConfig::parse_offwork)]
    offwork_reads_as: (String, Option<String>),
    /// An accepted X-Ms-Origin value (repeatable); requests without the header are accepted.
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    allowed_origins: Vec<String>,
    /// Request-log entries kept (oldest dropped first).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    log_limit: usize,
}

fn parse_user(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((name, password)) if !name.is_empty() => Ok((name.to_owned(), password.to_owned())),
        _ => Err("expected NAME:PASSWORD".to_owned()),
    }
}

impl Cli {
    fn into_config(self) -> SimConfig {
        let defaults = SimConfig::default();
        SimConfig {
            listen: self.listen,
            users: if self.users.is_empty() {
                defaults.users
            } else {
                self.users
            },
            tls: self.tls,
            ca_out: self.ca_out,
            discovery_redirects: self.discovery_redirects,
            pool2_users: self.pool2_users,
            pool2_apps_users: self.pool2_apps_users,
            foreign_apps_users: self.foreign_apps_users,
            foreign_challenge: self.foreign_challenge,
            layout: self.layout,
            absolute_hrefs: self.absolute_hrefs,
            strict_paths: self.strict_paths,
            embed_self_events: self.embed_self_events,
            no_link_revisions: self.no_link_revisions,
            bare_redirects: self.bare_redirects,
            bearer_challenge: self.bearer_challenge,
            grants: self.grants,
            windows_auth: self.windows_auth,
            fold_challenges: self.fold_challenges,
            modern_auth: self.modern_auth,
            invalid_token_status: self.invalid_token_status,
            empty_events: self.empty_events,
            gzip: !self.no_gzip,
            ucwa_version_header: self.ucwa_version_header,
            uniform_content_type: self.uniform_content_type,
            repost_status: self.repost_status,
            fresh_tickets: self.fresh_tickets,
            upn_only: self.upn_only,
            netbios_domain: self.netbios_domain,
            token_lifetime_s: self.token_lifetime,
            foreign_token_status: self.foreign_token_status,
            inactive_s: self.inactive_s,
            away_s: self.away_s,
            app_expiry_s: self.app_expiry_s,
            subscription_minute_s: self.subscription_minute_s,
            expired_status: self.expired_status,
            event_timeout_s: self.event_timeout_s,
            event_timeout_min_s: self.event_timeout_min_s,
            event_hold_s: self.event_hold_s,
            max_apps: self.max_apps,
            offwork_reads_as: self.offwork_reads_as,
            allowed_origins: self.allowed_origins,
            log_limit: self.log_limit,
        }
    }
}
