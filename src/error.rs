//! The library's one error type: what went wrong, at which step, and what the server said.
//!
//! Every variant carries what a person needs to act on it (the step, the HTTP status, the UCWA
//! `code`/`subcode`/`message`, the `X-Ms-diagnostics` header, the URL path) and never a token or
//! a password: messages are built only from values that cannot hold a secret.

use std::fmt;

/// Where in the protocol an error happened; it starts every error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Discovery,
    Token,
    User,
    Application,
    MakeMeAvailable,
    GetPresence,
    SetPresence,
    Note,
    Location,
    ReportActivity,
    Contact,
    Subscription,
    Events,
    SignOut,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Discovery => "discovery",
            Step::Token => "token",
            Step::User => "user",
            Step::Application => "application",
            Step::MakeMeAvailable => "makeMeAvailable",
            Step::GetPresence => "get presence",
            Step::SetPresence => "set presence",
            Step::Note => "note",
            Step::Location => "location",
            Step::ReportActivity => "reportMyActivity",
            Step::Contact => "contact presence",
            Step::Subscription => "presence subscription",
            Step::Events => "event channel",
            Step::SignOut => "sign out",
        })
    }
}

/// The fixed status values of the C ABI (`ucwa_status`); never renumber or reuse one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Status {
    Ok = 0,
    InvalidArgument = 1,
    InvalidHandle = 2,
    InvalidState = 3,
    Network = 4,
    Timeout = 5,
    Tls = 6,
    Authentication = 7,
    Server = 8,
    Protocol = 9,
    Insecure = 10,
    Internal = 11,
}

impl Status {
    pub const ALL: [Status; 12] = [
        Status::Ok,
        Status::InvalidArgument,
        Status::InvalidHandle,
        Status::InvalidState,
        Status::Network,
        Status::Timeout,
        Status::Tls,
        Status::Authentication,
        Status::Server,
        Status::Protocol,
        Status::Insecure,
        Status::Internal,
    ];

    pub fn from_u32(value: u32) -> Option<Status> {
        Self::ALL.get(value as usize).copied()
    }

    /// A short fixed description, also served (NUL-terminated) by `ucwa_status_str`.
    pub fn c_description(self) -> &'static std::ffi::CStr {
        match self {
            Status::Ok => c"ok",
            Status::InvalidArgument => c"invalid argument",
            Status::InvalidHandle => c"invalid handle",
            Status::InvalidState => c"invalid state",
            Status::Network => c"network error",
            Status::Timeout => c"timed out",
            Status::Tls => c"TLS error",
            Status::Authentication => c"authentication failed",
            Status::Server => c"server error",
            Status::Protocol => c"protocol error",
            Status::Insecure => c"refused as insecure",
            Status::Internal => c"internal error",
        }
    }
}

/// What a UCWA server said when it refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    pub step: Step,
    pub http_status: u16,
    pub code: Option<String>,
    pub subcode: Option<String>,
    pub message: Option<String>,
    pub diagnostics: Option<String>,
    pub path: String,
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: server answered {}", self.step, self.http_status)?;
        match (&self.code, &self.subcode) {
            (Some(c), Some(s)) => write!(f, " {c}/{s}")?,
            (Some(c), None) => write!(f, " {c}")?,
            _ => f.write_str(" (no UCWA error body)")?,
        }
        if let Some(m) = &self.message {
            write!(f, ": {m}")?;
        }
        write!(f, " [{}]", self.path)?;
        if let Some(d) = &self.diagnostics {
            write!(f, " (X-Ms-diagnostics: {d})")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in the library.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("invalid handle: {0}")]
    InvalidHandle(String),
    #[error("invalid state: {0}")]
    InvalidState(String),
    #[error("{step}: network error: {detail} [{path}]")]
    Network {
        step: Step,
        detail: String,
        path: String,
    },
    #[error("{step}: timed out: {detail} [{path}]")]
    Timeout {
        step: Step,
        detail: String,
        path: String,
    },
    #[error("{step}: TLS error: {detail} [{path}]")]
    Tls {
        step: Step,
        detail: String,
        path: String,
    },
    #[error("{step}: authentication failed: {detail}")]
    Authentication {
        step: Step,
        detail: String,
        http_status: Option<u16>,
        diagnostics: Option<String>,
    },
    /// Signed in with host-supplied tokens, and the server wants one this client does not
    /// have (or refused the one it had): the host should acquire a token for `resource`.
    #[error("{step}: authentication failed: {detail}")]
    NeedsToken {
        step: Step,
        detail: String,
        resource: String,
        authorization_uri: Option<String>,
    },
    #[error("{0}")]
    Server(Box<ServerError>),
    #[error("{step}: protocol error: {detail} [{path}]")]
    Protocol {
        step: Step,
        detail: String,
        http_status: Option<u16>,
        path: String,
    },
    #[error("{step}: refused as insecure: {detail}")]
    Insecure { step: Step, detail: String },
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn status(&self) -> Status {
        match self {
            Error::InvalidArgument(_) => Status::InvalidArgument,
            Error::InvalidHandle(_) => Status::InvalidHandle,
            Error::InvalidState(_) => Status::InvalidState,
            Error::Network { .. } => Status::Network,
            Error::Timeout { .. } => Status::Timeout,
            Error::Tls { .. } => Status::Tls,
            Error::Authentication { .. } | Error::NeedsToken { .. } => Status::Authentication,
            Error::Server(_) => Status::Server,
            Error::Protocol { .. } => Status::Protocol,
            Error::Insecure { .. } => Status::Insecure,
            Error::Internal(_) => Status::Internal,
        }
    }

    /// The same error with `note` added to what it says (e.g. what else was tried); errors
    /// that carry no free text stay as they are.
    pub(crate) fn with_note(mut self, note: &str) -> Error {
        match &mut self {
            Error::Network { detail, .. }
            | Error::Timeout { detail, .. }
            | Error::Tls { detail, .. }
            | Error::Protocol { detail, .. }
            | Error::Authentication { detail, .. }
            | Error::Insecure { detail, .. } => {
                detail.push_str("; ");
                detail.push_str(note);
            }
            Error::Server(s) => {
                let m = s.message.get_or_insert_with(String::new);
                if !m.is_empty() {
                    m.push_str("; ");
                }
                m.push_str(note);
            }
            _ => {}
        }
        self
    }

    /// The HTTP status of the response behind this error, if there was one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Server(s) => Some(s.http_status),
            Error::Authentication { http_status, .. } | Error::Protocol { http_status, .. } => {
                *http_status
            }
            Error::NeedsToken { .. } => Some(401),
            _ => None,
        }
    }

    /// For a sign-in with host-supplied tokens: the origin a token is needed for.
    pub fn auth_resource(&self) -> Option<&str> {
        match self {
            Error::NeedsToken { resource, .. } => Some(resource),
            _ => None,
        }
    }

    /// For a sign-in with host-supplied tokens: where the server says tokens come from (its
    /// Bearer challenge's `authorization_uri`), when it said.
    pub fn authorization_uri(&self) -> Option<&str> {
        match self {
            Error::NeedsToken {
                authorization_uri, ..
            } => authorization_uri.as_deref(),
            _ => None,
        }
    }

    /// The UCWA error `code` (e.g. `Conflict`), if the server sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Server(s) => s.code.as_deref(),
            _ => None,
        }
    }

    /// The UCWA error `subcode` (e.g. `MakeMeAvailableRequired`), if the server sent one.
    pub fn subcode(&self) -> Option<&str> {
        match self {
            Error::Server(s) => s.subcode.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn is_subcode(&self, http_status: u16, subcode: &str) -> bool {
        matches!(self, Error::Server(s) if s.http_status == http_status
            && s.subcode.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(subcode)))
    }

    /// 404 ApplicationNotFound: the server no longer knows our application.
    pub(crate) fn is_application_gone(&self) -> bool {
        self.is_subcode(404, "ApplicationNotFound")
    }

    /// A 410 ends the application for good: the host must be told, not silently recovered.
    pub(crate) fn is_gone(&self) -> bool {
        matches!(self, Error::Server(s) if s.http_status == 410)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
