//! The world's records: users and their chosen presence, tokens, applications with their
//! event channels and presence subscriptions. Plain data: [`super::Shared`] changes them under
//! its one lock.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use hyper::body::Bytes;
use tokio::sync::Notify;

use super::PoolKind;

/// An availability with its optional activity token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Presence {
    pub availability: String,
    pub activity: Option<String>,
}

impl Presence {
    pub(crate) fn new(availability: &str, activity: Option<&str>) -> Presence {
        Presence {
            availability: availability.to_owned(),
            activity: activity.map(str::to_owned),
        }
    }
}

/// Where an endpoint is in the inactivity model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stage {
    Active,
    Idle,
    Away,
}

/// Why an application id no longer answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GoneReason {
    /// DELETE by the client or server-side delete: 404 ApplicationNotFound.
    Deleted,
    /// No P-GET parked for too long: the configured expired status.
    Expired,
}

#[derive(Debug)]
pub(crate) struct User {
    pub name: String,
    pub password: String,
    /// What the user last asked for (presence POST, signInAs, or another device).
    pub chosen: Presence,
    pub note: Option<String>,
    pub location: Option<String>,
    /// Live application ids, oldest first.
    pub apps: Vec<String>,
    /// Presence was set "from another device", so the user is not Offline without apps.
    pub elsewhere: bool,
}

#[derive(Debug)]
pub(crate) struct Token {
    pub user_key: String,
    pub pool: PoolKind,
    pub expires_at: Instant,
}

/// Whose `sender` block an event goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sender {
    Me,
    Communication,
    /// Contact changes (`contactPresence`, `contactNote`, `contactLocation`).
    People,
}

/// A presence subscription of one application: the contacts it watches until `expires_at`.
#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    pub id: String,
    /// User keys (lower-case e-mail addresses), in the order they were added.
    pub members: Vec<String>,
    /// The `duration` asked for, in minutes.
    pub duration_min: u64,
    pub expires_at: Instant,
}

#[derive(Debug)]
pub(crate) struct PendingEvent {
    pub sender: Sender,
    /// The event entry as compact JSON text: kept serialized because a `Value` tree costs
    /// several times more memory, and a thousand idle channels should stay cheap.
    pub event: Box<str>,
}

/// One application's event channel. Event sets are numbered; `GET events?ack=N` asks for set N
/// and acknowledges every set below N.
#[derive(Debug)]
pub(crate) struct Channel {
    /// Lowest set number not yet acknowledged.
    pub acked_below: u64,
    /// Number the next formed set gets.
    pub next_set: u64,
    /// Formed sets not yet acknowledged (resent when asked again).
    pub sets: VecDeque<(u64, Bytes)>,
    pub pending: Vec<PendingEvent>,
    /// When the oldest pending event was queued (the medium-priority hold counts from it).
    pub pending_since: Option<Instant>,
    /// Id of the parked P-GET, if one is parked.
    pub parked: Option<u64>,
    /// Creation or last P-GET release: the application-expiry clock.
    pub last_release: Instant,
}

#[derive(Debug)]
pub(crate) struct App {
    pub id: String,
    pub user_key: String,
    pub pool: PoolKind,
    pub user_agent: String,
    pub endpoint_id: String,
    pub culture: String,
    pub instance_id: Option<String>,
    pub made_available: bool,
    pub modalities: Vec<String>,
    pub message_formats: Vec<String>,
    pub last_activity: Instant,
    pub stage: Stage,
    pub activity_reports: u64,
    pub channel: Channel,
    pub notify: Arc<Notify>,
    /// Name of the "please pass this in a PUT request" property of `communication`.
    pub comm_guid: String,
    pub comm_version: u64,
    /// Live presence subscriptions (expired ones are dropped by the tick).
    pub subscriptions: Vec<Subscription>,
}
