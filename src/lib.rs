//! # ucwa
//!
//! Sign a user in to an on-premises Skype for Business Server (UCWA 2.0), make the user
//! available, set and read presence (availability, note, location), and keep that presence
//! true for as long as the host wants it — from Rust, or from any language through the C ABI
//! in [`ffi`] (`include/ucwa.h`).
//!
//! Module map:
//! - [`client`]: the blocking public API ([`Client`]);
//! - `session`: one session's state and protocol operations with synchronous recovery;
//! - `resources`: the resource shapes the session and supervisor read (beside `hal`), and
//!   `batch`, the `multipart/batching` request and answer;
//! - `event_set`: the event channel's answer, read from its bytes through `lenient`'s readers
//!   into what happened, once;
//! - `connection`: the connection state machine (Connected, Recovering, Recovered, Lost) and
//!   its events, shared by the synchronous calls' recovery and the supervisor;
//! - `supervisor`: the keep-alive tasks (event channel, activity reports, token renewal);
//! - `discovery`, `auth`, `transport`, `hal`, `security`: protocol building blocks;
//! - `pacing` (every loop's pace and bounds) and `redact` (secrets out of server text);
//! - `transcript` (every HTTP exchange as a redacted JSON line, option `transcript`);
//! - `events` (the queue of events the host pulls) and `proxy` (which proxy carries a request);
//! - `engine`: the process-wide runtime and HTTP clients;
//! - [`error`], [`types`], [`options`]: the public value types;
//! - [`ffi`]: the C ABI; with `sys` (platform calls: Windows SSPI), the only places with
//!   `unsafe`.

#![deny(unsafe_code)]

pub mod client;
pub mod error;
// The C ABI needs `unsafe` (reading C strings, writing out-parameters); everything else but
// `sys` is safe Rust, and the compiler holds it to that.
#[allow(unsafe_code)]
pub mod ffi;
pub mod options;
pub mod types;

mod auth;
mod batch;
mod connection;
mod discovery;
mod engine;
mod event_set;
mod events;
mod hal;
mod lenient;
mod pacing;
mod proxy;
mod redact;
mod resources;
mod security;
mod session;
mod supervisor;
// Platform calls (on Windows, SSPI for the current user's sign-in) need `unsafe` too.
#[allow(unsafe_code)]
mod sys;
mod transcript;
mod transport;

pub use client::Client;
pub use error::{Error, ServerError, Status, Step};
pub use session::{
    MAX_BATCH_PARTS, MAX_CACHED_CONTACTS, MAX_CONTACTS_PER_CALL, MAX_SUBSCRIBED_CONTACTS,
    SUBSCRIPTION_MINUTES,
};
pub use session::{MAX_EXPIRY, MAX_LAYER_NOTE, MAX_SOURCES, MAX_SOURCE_NAME};
pub use types::{
    Availability, ConnectionState, Decider, EffectivePresence, Event, EventKind, Presence,
    PresenceCause, SourcePresence,
};

/// The library version, as in Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
