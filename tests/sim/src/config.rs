//! The simulator's configuration: [`SimConfig`] and its small enums, with the defaults the
//! command line documents and the validation both the library and the binary rely on.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

mod checks;

/// The settable availability values (UCWA `PreferredAvailability`), in their canonical spelling.
pub const SETTABLE_AVAILABILITIES: [&str; 6] = [
    "Online",
    "Busy",
    "DoNotDisturb",
    "BeRightBack",
    "Away",
    "Offwork",
];

/// The `grant_type` list of the `MsRtcOAuth` challenge on-prem pools send (every capture).
pub const DEFAULT_GRANTS: [&str; 3] = [
    "urn:microsoft.rtc:windows",
    "urn:microsoft.rtc:anonmeeting",
    "password",
];

/// Which URL layout the pools serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// The paths shown in Microsoft's documentation; UCWA hrefs are relative.
    #[default]
    Standard,
    /// Different paths everywhere (with a random segment), so that a client that builds URLs
    /// instead of following links fails. Hrefs inside resources stay host-relative as on real
    /// servers; [`SimConfig::absolute_hrefs`] makes them absolute.
    Alt,
}

impl FromStr for Layout {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "standard" => Ok(Layout::Standard),
            "alt" => Ok(Layout::Alt),
            other => Err(format!(
                "unknown layout {other:?} (expected standard or alt)"
            )),
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::Standard => "standard",
            Layout::Alt => "alt",
        })
    }
}

/// What requests to an application that expired for lack of a parked P-GET receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExpiredStatus {
    /// `404 {"code":"NotFound","subcode":"ApplicationNotFound"}`.
    #[default]
    NotFound,
    /// `410 {"code":"Gone","subcode":"InactiveApplicationExpired"}`.
    Gone,
}

impl ExpiredStatus {
    /// The HTTP status this choice answers with.
    pub fn status(self) -> u16 {
        match self {
            ExpiredStatus::NotFound => 404,
            ExpiredStatus::Gone => 410,
        }
    }
}

impl FromStr for ExpiredStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "404" | "notfound" => Ok(ExpiredStatus::NotFound),
            "410" | "gone" => Ok(ExpiredStatus::Gone),
            other => Err(format!(
                "unknown expired status {other:?} (expected 404 or 410)"
            )),
        }
    }
}

/// The shape of an event-channel answer that carries no events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmptyEvents {
    /// `"sender": []` next to `_links`: what field clients that index `sender`
    /// unconditionally evidently received.
    #[default]
    SenderEmpty,
    /// Only `_links`, as the documentation describes it.
    SenderAbsent,
}

impl FromStr for EmptyEvents {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "sender-empty" => Ok(EmptyEvents::SenderEmpty),
            "sender-absent" => Ok(EmptyEvents::SenderAbsent),
            other => Err(format!(
                "unknown empty-events shape {other:?} (expected sender-empty or sender-absent)"
            )),
        }
    }
}

impl fmt::Display for EmptyEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EmptyEvents::SenderEmpty => "sender-empty",
            EmptyEvents::SenderAbsent => "sender-absent",
        })
    }
}

/// The parameters of the `Bearer` challenge that precedes `MsRtcOAuth` in every 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BearerChallenge {
    /// `trusted_issuers="00000002-…@<domain>", client_id="00000004-…"` (the Lync 2013 capture).
    #[default]
    Standard,
    /// `trusted_issuers="", client_id="…"`: an on-prem pool without an OAuth server (captured).
    EmptyIssuers,
    /// Also `authorization_uri="https://login.windows.net/common/oauth2/authorize"`, as
    /// deployments with modern authentication add (captured Online).
    AuthorizationUri,
}

impl FromStr for BearerChallenge {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "standard" => Ok(BearerChallenge::Standard),
            "empty-issuers" => Ok(BearerChallenge::EmptyIssuers),
            "authorization-uri" => Ok(BearerChallenge::AuthorizationUri),
            other => Err(format!(
                "unknown bearer challenge {other:?} (expected standard, empty-issuers or authorization-uri)"
            )),
        }
    }
}

impl fmt::Display for BearerChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BearerChallenge::Standard => "standard",
            BearerChallenge::EmptyIssuers => "empty-issuers",
            BearerChallenge::AuthorizationUri => "authorization-uri",
        })
    }
}

/// What the foreign listener (127.0.0.2) answers a request that carries no token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForeignChallenge {
    /// Its own `MsRtcOAuth` challenge, naming a token endpoint on 127.0.0.2.
    #[default]
    Own,
    /// Pool 1's challenge (pool 1's absolute token href and grant list): the reflected
    /// challenge attack, where a hostile origin tries to make a client fetch a token from the
    /// real pool and hand it over. Requests that do carry a token get `200 {}`.
    Reflect,
}

impl FromStr for ForeignChallenge {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "own" => Ok(ForeignChallenge::Own),
            "reflect" => Ok(ForeignChallenge::Reflect),
            other => Err(format!(
                "unknown foreign challenge {other:?} (expected own or reflect)"
            )),
        }
    }
}

impl fmt::Display for ForeignChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ForeignChallenge::Own => "own",
            ForeignChallenge::Reflect => "reflect",
        })
    }
}

/// An HTTP authentication scheme the token endpoint offers for the Windows grant
/// (`urn:microsoft.rtc:windows`), as IIS's Windows authentication providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WindowsAuth {
    /// `Negotiate` (RFC 4559): SPNEGO carrying NTLM, or raw NTLM under that name.
    Negotiate,
    /// `NTLM`: the bare NTLM messages.
    Ntlm,
}

impl WindowsAuth {
    /// The scheme name as it appears in `WWW-Authenticate` and `Authorization`.
    pub fn scheme(self) -> &'static str {
        match self {
            WindowsAuth::Negotiate => "Negotiate",
            WindowsAuth::Ntlm => "NTLM",
        }
    }
}

impl FromStr for WindowsAuth {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "negotiate" => Ok(WindowsAuth::Negotiate),
            "ntlm" => Ok(WindowsAuth::Ntlm),
            other => Err(format!(
                "unknown Windows auth scheme {other:?} (expected negotiate or ntlm)"
            )),
        }
    }
}

impl fmt::Display for WindowsAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WindowsAuth::Negotiate => "negotiate",
            WindowsAuth::Ntlm => "ntlm",
        })
    }
}

/// IIS's default provider order for Windows authentication.
pub const DEFAULT_WINDOWS_AUTH: [WindowsAuth; 2] = [WindowsAuth::Negotiate, WindowsAuth::Ntlm];

/// Everything that shapes one simulator instance. Times are seconds as decimals so that tests
/// can use sub-second timers.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address of pool 1 (the discovery root and the control API). Port 0 picks a free port.
    pub listen: SocketAddr,
    /// `(sign-in name, password)` pairs.
    pub users: Vec<(String, String)>,
    /// Serve HTTPS on every listener with a certificate from a CA generated at start.
    pub tls: bool,
    /// Where to write the generated CA certificate (PEM) when `tls` is on.
    pub ca_out: Option<PathBuf>,
    /// How many root responses holding only a `redirect` link precede the real root.
    pub discovery_redirects: u32,
    /// Users homed on pool 2: pool 1's `user` resource answers a `redirect` link.
    pub pool2_users: Vec<String>,
    /// Users whose `applications` href (given by pool 1) is on pool 2, without a redirect.
    pub pool2_apps_users: Vec<String>,
    /// Users whose `applications` href points at a foreign origin (127.0.0.2).
    pub foreign_apps_users: Vec<String>,
    /// What the foreign listener answers without a token. `Reflect` also starts the foreign
    /// listener when `foreign_apps_users` is empty.
    pub foreign_challenge: ForeignChallenge,
    /// URL layout of every pool.
    pub layout: Layout,
    /// Hrefs inside UCWA resources are absolute URLs instead of host-relative paths (real
    /// servers use absolute hrefs only in discovery, `user`, the token href and `applications`).
    pub absolute_hrefs: bool,
    /// Paths must match exactly: no doubled slashes, no case differences, and
    /// `reportMyActivity` only where the layout advertises it. Real IIS front ends tolerate all
    /// three, so the default does too.
    pub strict_paths: bool,
    /// Self `me`/`presence`/`note`/`location` events carry the resource in `_embedded` (the
    /// docs' reading). Real servers send them without, and the client must GET the resource.
    pub embed_self_events: bool,
    /// No `"revision":"2"` on the links SfB 2015+ marks with one (`startMessaging`), as
    /// Lync 2013 sends them.
    pub no_link_revisions: bool,
    /// Redirect roots hold only `_links.redirect` (the docs), instead of also `self` and
    /// `xframe` as a captured redirect root does.
    pub bare_redirects: bool,
    /// The parameters of the `Bearer` challenge.
    pub bearer_challenge: BearerChallenge,
    /// The `grant_type` list the `MsRtcOAuth` challenge advertises. Without `password` the
    /// token endpoint refuses the password grant with `unsupported_grant_type`, as a pool that
    /// does not offer it answers.
    pub grants: Vec<String>,
    /// The schemes the token endpoint offers for the Windows grant, in the order of their
    /// `WWW-Authenticate` lines (IIS's default: Negotiate, then NTLM). At least one, no repeats.
    pub windows_auth: Vec<WindowsAuth>,
    /// Every 401 (and Online-style 403) carries its challenges folded into one
    /// `WWW-Authenticate` line, Bearer first, as reverse proxies and HTTP stacks merge them,
    /// instead of one line per challenge as the pool itself sends.
    pub fold_challenges: bool,
    /// Modern authentication (ADFS or Azure AD in front of the pool): every 401 carries only
    /// a Bearer challenge whose `authorization_uri` is on the simulator, and the pool takes the
    /// bearer tokens the control API mints (`POST /_sim/tokens`).
    pub modern_auth: bool,
    /// What an invalid or expired token gets: 401 (the challenge, on-prem) or 403 with
    /// `Warning: 120 … "InvalidToken"`, diagnostic 28055 and both challenges (captured Online).
    pub invalid_token_status: u16,
    /// The shape of an event answer without events.
    pub empty_events: EmptyEvents,
    /// gzip responses when the request sends `Accept-Encoding: gzip` (as IIS does).
    pub gzip: bool,
    /// Send `X-MS-UcwaVersion: 2.0` on UCWA answers (only the docs mention it; no capture has it).
    pub ucwa_version_header: bool,
    /// `application/json; charset=utf-8` on every JSON answer, never echoing the vnd type
    /// (instead of the per-family media types real servers send).
    pub uniform_content_type: bool,
    /// Status of a re-POST of `applications` with the same endpointId, userAgent and culture
    /// and no instanceId: 200 (real servers) or 201.
    pub repost_status: u16,
    /// Every password grant starts a new web ticket with the full lifetime, instead of real
    /// servers' cached ticket whose remaining lifetime later grants report in `expires_in`.
    pub fresh_tickets: bool,
    /// Accept only `user@domain` (and `sip:user@domain`) as the token endpoint's user name,
    /// refusing `DOMAIN\user`.
    pub upn_only: bool,
    /// The NetBIOS domain accepted in `DOMAIN\user` user names (case-insensitive).
    pub netbios_domain: String,
    /// Token lifetime (`expires_in`).
    pub token_lifetime_s: f64,
    /// What a pool answers to a token issued by the other pool: 500 with diagnostic 28032 and an
    /// IIS HTML page (real servers), or 401 (a fresh challenge).
    pub foreign_token_status: u16,
    /// Seconds without reportMyActivity before an endpoint turns idle.
    pub inactive_s: f64,
    /// Further seconds before an idle endpoint turns Away.
    pub away_s: f64,
    /// Seconds without a parked P-GET before an application is ended.
    pub app_expiry_s: f64,
    /// Seconds per minute of a presence subscription's `duration` (60; tests shrink it).
    pub subscription_minute_s: f64,
    /// What requests to an expired application receive.
    pub expired_status: ExpiredStatus,
    /// P-GET release time when the request has no `timeout` parameter.
    pub event_timeout_s: f64,
    /// Smallest `timeout` parameter honoured (values are clamped to `[min, 1800]`).
    pub event_timeout_min_s: f64,
    /// How long medium-priority events are held before a parked P-GET is answered.
    pub event_hold_s: f64,
    /// Live applications allowed per user; one more gets 410 TooManyApplications.
    pub max_apps: u32,
    /// What GET presence reports after `Offwork` was set: availability and optional activity.
    pub offwork_reads_as: (String, Option<String>),
    /// Values of `X-Ms-Origin` that are accepted; a request without the header is always allowed.
    pub allowed_origins: Vec<String>,
    /// How many request-log entries are kept (oldest dropped first), bounding memory under load.
    pub log_limit: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            users: vec![
                ("alice@contoso.com".to_owned(), "alice-password".to_owned()),
                ("bob@contoso.com".to_owned(), "bob-password".to_owned()),
            ],
            tls: false,
            ca_out: None,
            discovery_redirects: 0,
            pool2_users: Vec::new(),
            pool2_apps_users: Vec::new(),
            foreign_apps_users: Vec::new(),
            foreign_challenge: ForeignChallenge::Own,
            layout: Layout::Standard,
            absolute_hrefs: false,
            strict_paths: false,
            embed_self_events: false,
            no_link_revisions: false,
            bare_redirects: false,
            bearer_challenge: BearerChallenge::Standard,
            grants: DEFAULT_GRANTS.map(str::to_owned).to_vec(),
            windows_auth: DEFAULT_WINDOWS_AUTH.to_vec(),
            fold_challenges: false,
            modern_auth: false,
            invalid_token_status: 401,
            empty_events: EmptyEvents::SenderEmpty,
            gzip: true,
            ucwa_version_header: false,
            uniform_content_type: false,
            repost_status: 200,
            fresh_tickets: false,
            upn_only: false,
            netbios_domain: "CONTOSO".to_owned(),
            token_lifetime_s: 28800.0,
            foreign_token_status: 500,
            inactive_s: 300.0,
            away_s: 300.0,
            app_expiry_s: 900.0,
            subscription_minute_s: 60.0,
            expired_status: ExpiredStatus::NotFound,
            event_timeout_s: 180.0,
            event_timeout_min_s: 180.0,
            event_hold_s: 5.0,
            max_apps: 10,
            offwork_reads_as: ("Away".to_owned(), Some("off-work".to_owned())),
            allowed_origins: Vec::new(),
            log_limit: 10_000,
        }
    }
}

impl SimConfig {
    /// Checks the values that would otherwise make the simulator misbehave silently.
    pub fn validate(&self) -> io::Result<()> {
        checks::times(self)
            .and_then(|()| checks::statuses(self))
            .and_then(|()| checks::netbios_domain(self))
            .and_then(|()| checks::grants(self))
            .and_then(|()| checks::windows_auth(self))
            .and_then(|()| checks::users(self))
            .and_then(|()| checks::offwork(self))
            .map_err(|msg| io::Error::new(io::ErrorKind::InvalidInput, msg))
    }

    /// Parses `AVAILABILITY[:ACTIVITY]` as taken by `--offwork-reads-as`.
    pub fn parse_offwork(s: &str) -> Result<(String, Option<String>), String> {
        let (avail, act) = match s.split_once(':') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        if avail.is_empty() {
            return Err("expected AVAILABILITY[:ACTIVITY]".to_owned());
        }
        Ok((
            avail.to_owned(),
            act.filter(|a| !a.is_empty()).map(str::to_owned),
        ))
    }

    /// Whether the foreign listener on 127.0.0.2 is wanted.
    pub(crate) fn wants_foreign(&self) -> bool {
        !self.foreign_apps_users.is_empty() || self.foreign_challenge == ForeignChallenge::Reflect
    }

    /// The SIP domain used for `originalDomain` parameters: the first user's domain.
    pub(crate) fn domain(&self) -> String {
        self.users
            .first()
            .and_then(|(name, _)| name.split_once('@').map(|(_, d)| d.to_owned()))
            .unwrap_or_else(|| "contoso.com".to_owned())
    }
}
