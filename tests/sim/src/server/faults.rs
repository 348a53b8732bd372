//! The injected faults' answers that are not a handler's: the ones given before the request
//! body is read (a canned answer, a cut connection, a delay, a streamed oversized or endless
//! body) and the `EchoSecrets` error that quotes the request's credentials.

use std::time::Duration;

use hyper::header::HeaderValue;
use hyper::{Response, StatusCode};
use serde_json::json;

use crate::http::{Req, Resp, SimBody};
use crate::types::FaultAction;

use super::to_hyper;

/// What a fault does before the request body is read.
pub(super) enum Early {
    /// Answer with this status (as logged) and response.
    Answer(u16, Response<SimBody>),
    /// Drop the connection without an answer (logged with status 0).
    Close,
}

/// Acts on a fault that does not need the body: `Some` ends the request, `None` goes on (after
/// the delay of a `Delay` fault). `EchoSecrets` needs the body (a form's password), so it is
/// answered once the body is read.
pub(super) async fn before_body(fault: Option<&FaultAction>) -> Option<Early> {
    match fault? {
        FaultAction::Respond {
            status,
            headers,
            body,
        } => {
            let resp = Resp {
                status: *status,
                headers: headers.clone(),
                body: body.clone().into(),
            };
            Some(Early::Answer(*status, to_hyper(resp)))
        }
        FaultAction::Close => Some(Early::Close),
        FaultAction::Delay { ms } => {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
            None
        }
        FaultAction::Oversized { status, bytes } => {
            let body = SimBody::Oversized {
                total: *bytes,
                sent: 0,
            };
            Some(Early::Answer(*status, streamed(*status, body)))
        }
        FaultAction::Endless { status } => Some(Early::Answer(
            *status,
            streamed(*status, SimBody::Endless { started: false }),
        )),
        FaultAction::EchoSecrets { .. } => None,
    }
}

/// A response whose body is one of the streamed fault bodies.
fn streamed(status: u16, body: SimBody) -> Response<SimBody> {
    let mut out = Response::new(body);
    *out.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    out.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    out
}

/// The `EchoSecrets` fault: an error that quotes every secret of the request, as a careless
/// server echoing its input would.
pub(super) fn echo_secrets(status: u16, req: &Req) -> Resp {
    let mut quoted = Vec::new();
    if let Some(auth) = req.header("authorization") {
        quoted.push(format!("Authorization \"{auth}\""));
        if let Some((_, token)) = auth.trim().split_once(' ') {
            quoted.push(format!("token \"{}\"", token.trim()));
        }
    }
    // The raw form pair as it travelled, and its decoded value.
    for pair in req.body.split(|b| *b == b'&') {
        let (key, raw) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => continue,
        };
        let key_decoded: String = form_urlencoded::parse(key)
            .map(|(k, v)| format!("{k}{v}"))
            .collect();
        if !key_decoded.eq_ignore_ascii_case("password") {
            continue;
        }
        let decoded: String = form_urlencoded::parse(&[b"p=", raw].concat())
            .map(|(_, v)| v.into_owned())
            .collect();
        quoted.push(format!("password \"{decoded}\""));
        quoted.push(format!(
            "password as sent \"{}\"",
            String::from_utf8_lossy(raw)
        ));
    }
    let message = if quoted.is_empty() {
        "The request was refused; it carried no credentials.".to_owned()
    } else {
        format!("The request was refused: {}.", quoted.join(", "))
    };
    let header: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    Resp {
        status,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            (
                "X-Ms-diagnostics".into(),
                format!("1000;source=\"pool1.contoso.com\";reason=\"{header}\""),
            ),
        ],
        body: json!({
            "code": "BadRequest",
            "subcode": "EchoedSecrets",
            "message": message,
            "error": "invalid_request",
            "error_description": message,
        })
        .to_string()
        .into(),
    }
}
