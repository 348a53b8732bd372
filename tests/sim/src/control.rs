//! The HTTP control API under `/_sim/` on pool 1 (no authentication, never logged): the same
//! operations as the Rust [`crate::Sim`] handle, for tests written in C, Python or C#. The
//! forward proxy's part (`/_sim/proxy/...`) is answered by `proxy::control`.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::http::{decode_segment, Req, Resp};
use crate::paths::Route;
use crate::state::{user_key, Shared};
use crate::types::Fault;

fn bad_request(why: &str) -> Resp {
    Resp::json(400, &json!({ "error": why }))
}

fn not_found(why: &str) -> Resp {
    Resp::json(404, &json!({ "error": why }))
}

#[derive(Deserialize)]
struct MintBody {
    user: String,
    lifetime_s: f64,
}

#[derive(Deserialize)]
struct PresenceBody {
    availability: String,
    #[serde(default)]
    activity: Option<String>,
}

/// Answers one control request.
pub(crate) fn handle(shared: &Shared, req: &Req) -> Resp {
    let rest = req.path.strip_prefix("/_sim/").unwrap_or("");
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode_segment)
        .collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = req.method.as_str();
    match (method, segs.as_slice()) {
        ("GET", ["info"]) => Resp::json(200, &shared.info()),
        (_, ["proxy", rest @ ..]) => {
            crate::proxy::control::handle(&shared.proxy, method, rest, &req.body)
        }
        ("GET", ["log"]) => {
            let log: Vec<_> = shared.lock().log.iter().cloned().collect();
            Resp::json(200, &serde_json::to_value(log).unwrap_or(Value::Null))
        }
        ("GET", ["token-log"]) => {
            let log: Vec<_> = shared.lock().token_log.iter().cloned().collect();
            Resp::json(200, &serde_json::to_value(log).unwrap_or(Value::Null))
        }
        ("DELETE", ["log"]) => {
            let mut st = shared.lock();
            st.log.clear();
            st.token_log.clear();
            Resp::empty(204)
        }
        ("GET", ["state"]) => Resp::json(
            200,
            &serde_json::to_value(shared.all_users()).unwrap_or(Value::Null),
        ),
        ("GET", ["users", name]) => {
            let st = shared.lock();
            match shared.user_state(&st, &user_key(name)) {
                Some(u) => Resp::json(200, &serde_json::to_value(u).unwrap_or(Value::Null)),
                None => not_found("unknown user"),
            }
        }
        ("POST", ["expire-tokens"]) => {
            shared.expire_tokens(None);
            Resp::empty(204)
        }
        ("POST", ["users", name, action]) => user_operation(shared, req, name, action),
        ("POST", ["tokens"]) => mint(shared, req),
        ("GET", ["faults"]) => {
            let faults = shared.lock().faults.clone();
            Resp::json(200, &serde_json::to_value(faults).unwrap_or(Value::Null))
        }
        ("POST", ["faults"]) => match serde_json::from_slice::<Fault>(&req.body) {
            Ok(f) => {
                shared.lock().faults.push(f);
                Resp::empty(204)
            }
            Err(e) => bad_request(&format!("not a Fault: {e}")),
        },
        ("DELETE", ["faults"]) => {
            shared.lock().faults.clear();
            Resp::empty(204)
        }
        _ => not_found("unknown control endpoint"),
    }
}

/// `POST /_sim/users/<name>/<action>`: an operation on one configured user.
fn user_operation(shared: &Shared, req: &Req, name: &str, action: &str) -> Resp {
    if !shared.lock().users.contains_key(&user_key(name)) {
        return not_found("unknown user");
    }
    match action {
        "expire-tokens" => {
            shared.expire_tokens(Some(name));
            Resp::empty(204)
        }
        "delete-applications" => {
            shared.delete_applications(name);
            Resp::empty(204)
        }
        "presence" => set_presence(shared, req, name),
        "note" | "location" => set_text(shared, req, name, action),
        _ => not_found("unknown control operation"),
    }
}

/// `{"availability":..,"activity":..}`: presence set from another device.
fn set_presence(shared: &Shared, req: &Req, name: &str) -> Resp {
    match serde_json::from_slice::<PresenceBody>(&req.body) {
        Ok(p) if !p.availability.trim().is_empty() => {
            shared.set_presence_elsewhere(name, p.availability.trim(), p.activity.as_deref());
            Resp::empty(204)
        }
        Ok(_) => bad_request("availability must not be empty"),
        Err(e) => bad_request(&format!(
            "expected {{\"availability\":..,\"activity\":..}}: {e}"
        )),
    }
}

/// `{"message":..}` or `{"location":..}` (a string, or null to clear): set from another device.
fn set_text(shared: &Shared, req: &Req, name: &str, action: &str) -> Resp {
    let (route, field) = if action == "note" {
        (Route::Note, "message")
    } else {
        (Route::Location, "location")
    };
    let text = match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(body)) => match body.get(field) {
            Some(Value::String(text)) => Some(text.clone()),
            Some(Value::Null) | None => None,
            Some(_) => return bad_request(&format!("{field} must be a string or null")),
        },
        _ => return bad_request(&format!("expected {{\"{field}\":..}}")),
    };
    shared.set_text_elsewhere(name, route, text.as_deref());
    Resp::empty(204)
}

/// `POST /_sim/tokens`: a pool-1 token with its own lifetime.
fn mint(shared: &Shared, req: &Req) -> Resp {
    let m = match serde_json::from_slice::<MintBody>(&req.body) {
        Ok(m) => m,
        Err(e) => return bad_request(&format!("expected {{\"user\":..,\"lifetime_s\":..}}: {e}")),
    };
    match shared.mint_token(&m.user, m.lifetime_s) {
        Ok(t) => {
            // `expires_in` echoes the number asked for: an integer stays an integer.
            let expires_in = if t.expires_in.fract() == 0.0 {
                json!(t.expires_in as u64)
            } else {
                json!(t.expires_in)
            };
            Resp::json(
                200,
                &json!({
                    "access_token": t.access_token,
                    "token_type": t.token_type,
                    "expires_in": expires_in,
                    "resource": t.resource,
                }),
            )
        }
        Err((404, why)) => not_found(why),
        Err((_, why)) => bad_request(why),
    }
}
