//! Presence sources (`ucwa source set|clear`) on a client.

use serde_json::Value;
use ucwa::Client;

use crate::ops::Request;

pub fn apply(_client: &Client, _req: &Request) -> Result<Value, String> {
    Err("presence sources are not available in this build of the library".into())
}

/// Applies the configuration's starting sources to a freshly signed-in client.
pub fn start(_client: &Client, sources: &[crate::config::SourceConfig]) -> Result<(), String> {
    if sources.is_empty() {
        return Ok(());
    }
    Err("presence sources are not available in this build of the library".into())
}

/// Adds the effective presence and its deciding source to an account's status.
pub fn add_effective(_status: &mut serde_json::Map<String, Value>, _client: &Client) {}
