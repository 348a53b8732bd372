//! The plain data types the simulator hands to tests (Rust and, as JSON, the HTTP control API):
//! request-log entries, token-endpoint log entries, per-user and per-application state snapshots, and injected faults.

use serde::{Deserialize, Serialize};

/// One request the simulator answered (control requests under `/_sim/` are not logged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Arrival order (the log is sorted by it).
    pub seq: u64,
    pub method: String,
    /// Path plus query, as sent.
    pub path: String,
    /// Logical route name, the same in both layouts (see the crate docs).
    pub route: String,
    /// Status answered; 0 when the connection was closed without an answer (fault `Close`).
    pub status: u16,
    /// `"pool1"`, `"pool2"` or `"foreign"`.
    pub pool: String,
    /// Whether an `Authorization` header was sent (its value is never recorded).
    pub authorization: bool,
    /// The authenticated user, or for the token endpoint the user name in the form.
    pub user: Option<String>,
    /// JSON request bodies only (never token-endpoint bodies), at most 4 KiB.
    pub body: Option<String>,
    /// The `X-Ms-Origin` header, when sent.
    pub x_ms_origin: Option<String>,
}

/// One token-endpoint request as the simulator saw it: which grant, and for the Windows grant
/// which HTTP scheme, NTLM leg and TCP connection, and how it ended. No secrets: neither
/// passwords, tokens nor NTLM responses are recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenLogEntry {
    /// The same `seq` as the request's [`LogEntry`].
    pub seq: u64,
    /// `"pool1"` or `"pool2"`.
    pub pool: String,
    /// The TCP (or TLS) connection the request arrived on: numbered from 1 in accept order,
    /// across all listeners. Two requests with the same `conn` shared one connection.
    pub conn: u64,
    /// The form's `grant_type`, when sent.
    pub grant: Option<String>,
    /// `"NTLM"` or `"Negotiate"` when the `Authorization` header used one of them (however
    /// spelled), otherwise `None`.
    pub scheme: Option<String>,
    /// The `Negotiate` token was SPNEGO (`NegTokenInit`/`NegTokenResp`), not raw NTLM.
    pub spnego: bool,
    /// Windows grant only: `"challenge"` (no `Authorization`: the schemes were offered),
    /// `"negotiate"` (an NTLM NEGOTIATE_MESSAGE, answered with a CHALLENGE_MESSAGE) or
    /// `"authenticate"` (an AUTHENTICATE_MESSAGE); `None` when the header held neither.
    pub leg: Option<String>,
    /// The user name of an AUTHENTICATE_MESSAGE, as sent.
    pub ntlm_user: Option<String>,
    /// The domain of an AUTHENTICATE_MESSAGE, as sent (may be empty).
    pub ntlm_domain: Option<String>,
    /// How it ended: `"offered Negotiate, NTLM"`, `"challenge sent"`, `"granted USER"` (the
    /// configured name), or `"refused: WHY"` (see the README for every WHY).
    pub outcome: String,
    /// Status answered.
    pub status: u16,
}

/// What the simulator knows about one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserState {
    pub name: String,
    /// The aggregated availability a GET presence would report; `Offline` when no endpoint is
    /// available and presence was never set from another device.
    pub availability: String,
    pub activity: Option<String>,
    pub note: Option<String>,
    pub location: Option<String>,
    /// Live applications, oldest first.
    pub applications: Vec<AppState>,
}

/// One live application (endpoint) of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppState {
    pub id: String,
    /// `"pool1"` or `"pool2"`.
    pub pool: String,
    pub user_agent: String,
    pub endpoint_id: String,
    pub made_available: bool,
    /// This endpoint's availability, including IdleOnline/IdleBusy/Away from the inactivity
    /// model; `None` before makeMeAvailable.
    pub availability: Option<String>,
    /// P-GETs parked on the event channel right now (0 or 1).
    pub parked_pgets: u32,
    /// reportMyActivity calls received.
    pub activity_reports: u64,
}

/// A fault to inject: matching requests get `action` instead of (or before) normal handling.
/// Every `Some` criterion must match; `count` 0 means every matching request until cleared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// Logical route name (as in [`LogEntry::route`]).
    #[serde(default)]
    pub route: Option<String>,
    /// Substring of path plus query.
    #[serde(default)]
    pub path_contains: Option<String>,
    /// HTTP method, case-insensitive.
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub count: u32,
    pub action: FaultAction,
}

/// What an injected fault does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultAction {
    /// Answer exactly this, nothing added.
    Respond {
        status: u16,
        #[serde(default)]
        headers: Vec<(String, String)>,
        #[serde(default)]
        body: String,
    },
    /// Wait, then handle the request normally.
    Delay { ms: u64 },
    /// Drop the connection without answering.
    Close,
    /// Answer `status` with `Content-Type: application/json`, a Content-Length of `bytes` and
    /// a body of exactly that many bytes, `{"pad":"aaa…"}`, streamed from one static 64 KiB
    /// buffer so that any size (hundreds of MiB) costs the simulator no memory. Below 10 bytes
    /// the body is `{}` padded with spaces (N ≥ 2) or N spaces.
    Oversized { status: u16, bytes: u64 },
    /// Answer `status` with `Content-Type: application/json` and a chunked body
    /// `{"pad":"aaa…` that never ends: 64 KiB chunks until the peer closes the connection or the
    /// simulator stops (constant memory).
    Endless { status: u16 },
    /// Answer `status` with `Content-Type: application/json`, an `X-Ms-diagnostics` header and
    /// a body `{"code":"BadRequest","subcode":"EchoedSecrets","message":M,
    /// "error":"invalid_request","error_description":M}`, where M quotes every secret the
    /// request carried: the whole `Authorization` value, the bare token after its scheme, and
    /// a form body's `password` both decoded and exactly as encoded on the wire. The header
    /// carries the same text with control characters replaced by spaces. Works on every
    /// route, `token` included: what a careless server that echoes its input would send.
    EchoSecrets { status: u16 },
}

/// A bearer token minted through the control API (`POST /_sim/tokens`) or
/// [`crate::Sim::mint_token`]: valid on pool 1 for its user for `expires_in` seconds, exactly
/// like one from the token endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MintedToken {
    pub access_token: String,
    /// Always `"Bearer"`.
    pub token_type: String,
    /// The lifetime asked for, in seconds.
    pub expires_in: f64,
    /// Pool 1's origin, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub resource: String,
}
