//! The proxy's part of the control API, under `/_sim/proxy` (see the simulator's README):
//!
//! - `GET /_sim/proxy`: [`ProxyInfo`] (URL, mode, required user, connection counts)
//! - `GET /_sim/proxy/log`, `DELETE /_sim/proxy/log`: the proxy's request log
//! - `PUT /_sim/proxy/credentials` `{"user":..,"password":..}`, `DELETE` it: require Basic
//!   `Proxy-Authorization`, or stop requiring it
//! - `PUT /_sim/proxy/mode` `{"mode":"forward"|"refuse-and-echo"}`
//! - `POST /_sim/proxy/cut`: close every open client connection and tunnel

use serde::Deserialize;
use serde_json::{json, Value};

use super::{Proxy, ProxyInfo, ProxyMode};
use crate::http::Resp;

#[derive(Deserialize)]
struct CredentialsBody {
    user: String,
    password: String,
}

#[derive(Deserialize)]
struct ModeBody {
    mode: ProxyMode,
}

fn bad_request(why: &str) -> Resp {
    Resp::json(400, &json!({ "error": why }))
}

fn to_json<T: serde::Serialize>(value: &T) -> Resp {
    Resp::json(200, &serde_json::to_value(value).unwrap_or(Value::Null))
}

/// Answers a control request whose path below `/_sim/proxy` is `segments`.
pub(crate) fn handle(proxy: &Proxy, method: &str, segments: &[&str], body: &[u8]) -> Resp {
    match (method, segments) {
        ("GET", []) => to_json::<ProxyInfo>(&proxy.info()),
        ("GET", ["log"]) => to_json(&proxy.log()),
        ("DELETE", ["log"]) => {
            proxy.clear_log();
            Resp::empty(204)
        }
        ("PUT", ["credentials"]) => match serde_json::from_slice::<CredentialsBody>(body) {
            Ok(c) if !c.user.contains(':') => {
                proxy.require_credentials(Some((c.user, c.password)));
                Resp::empty(204)
            }
            Ok(_) => bad_request("a Basic user name cannot hold ':'"),
            Err(e) => bad_request(&format!("expected {{\"user\":..,\"password\":..}}: {e}")),
        },
        ("DELETE", ["credentials"]) => {
            proxy.require_credentials(None);
            Resp::empty(204)
        }
        ("PUT", ["mode"]) => match serde_json::from_slice::<ModeBody>(body) {
            Ok(m) => {
                proxy.set_mode(m.mode);
                Resp::empty(204)
            }
            Err(e) => bad_request(&format!(
                "expected {{\"mode\":\"forward\"|\"refuse-and-echo\"}}: {e}"
            )),
        },
        ("POST", ["cut"]) => {
            proxy.cut_connections();
            Resp::empty(204)
        }
        _ => Resp::json(404, &json!({ "error": "unknown proxy control endpoint" })),
    }
}
