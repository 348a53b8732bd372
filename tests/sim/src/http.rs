//! The simulator's own request/response values and their helpers: a buffered request
//! ([`Req`]), a response under construction ([`Resp`]), the UCWA error body, JSON property lookup
//! that ignores case, and the tiny complete-body type handed to hyper.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame, SizeHint};
use hyper::HeaderMap;
use serde_json::{json, Map, Value};

/// The content type of every JSON answer, as real servers send it.
pub(crate) const JSON: &str = "application/json; charset=utf-8";

/// A request with its body already read.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Req {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first value of query parameter `name` (names compared case-insensitively).
    pub(crate) fn query_param(&self, name: &str) -> Option<String> {
        let q = self.query.as_deref()?;
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.into_owned())
    }

    pub(crate) fn body_is_blank(&self) -> bool {
        self.body.iter().all(u8::is_ascii_whitespace)
    }

    pub(crate) fn content_type(&self) -> String {
        self.header("content-type")
            .unwrap_or("")
            .to_ascii_lowercase()
    }

    /// Parses a JSON body. `Ok(None)` for a blank body; `Err` carries the 4xx to answer.
    pub(crate) fn json_body(&self) -> Result<Option<Map<String, Value>>, Resp> {
        if self.body_is_blank() {
            return Ok(None);
        }
        let ct = self.content_type();
        if !ct.is_empty() && !ct.contains("json") {
            return Err(Resp::error(
                415,
                "UnsupportedMediaType",
                Some("UnsupportedMediaType"),
                "The request body must be JSON.",
            ));
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(map)) => Ok(Some(map)),
            Ok(_) | Err(_) => Err(Resp::error(
                400,
                "BadRequest",
                Some("DeserializationFailure"),
                "The request body could not be deserialized.",
            )),
        }
    }
}

/// A response being built.
#[derive(Debug, Clone)]
pub(crate) struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Resp {
    pub(crate) fn empty(status: u16) -> Resp {
        Resp {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    pub(crate) fn json(status: u16, value: &Value) -> Resp {
        Resp {
            status,
            headers: vec![("Content-Type".into(), JSON.into())],
            body: Bytes::from(value.to_string()),
        }
    }

    pub(crate) fn html(status: u16, html: &str) -> Resp {
        Resp {
            status,
            headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
            body: Bytes::from(html.to_owned()),
        }
    }

    /// A UCWA error body `{code, subcode?, message}`.
    pub(crate) fn error(status: u16, code: &str, subcode: Option<&str>, message: &str) -> Resp {
        let mut body = json!({ "code": code, "message": message });
        if let Some(sub) = subcode {
            body["subcode"] = Value::from(sub);
        }
        Resp::json(status, &body)
    }

    /// 400 ParameterValidationFailure naming the offending properties.
    pub(crate) fn parameter_failure(names: &[&str], reason: &str) -> Resp {
        let params: Vec<Value> = names
            .iter()
            .map(|n| json!({ "name": n, "reason": reason }))
            .collect();
        let body = json!({
            "code": "BadRequest",
            "subcode": "ParameterValidationFailure",
            "message": "Please check what you entered and try again.",
            "parameters": params,
        });
        Resp::json(400, &body)
    }

    pub(crate) fn method_not_allowed(allow: &str) -> Resp {
        Resp::error(
            405,
            "MethodNotAllowed",
            None,
            "The HTTP method is not supported.",
        )
        .with_header("Allow", allow)
    }

    pub(crate) fn not_found() -> Resp {
        Resp::error(
            404,
            "NotFound",
            Some("ResourceNotFound"),
            "The requested resource could not be found.",
        )
    }

    pub(crate) fn with_header(mut self, name: &str, value: &str) -> Resp {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// Looks a property up ignoring the case of its name: clients send both `userAgent` and
/// `UserAgent` (the docs show both).
pub(crate) fn get_ci<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// A string property, ignoring name case; `Err(())` when present but not a string.
pub(crate) fn get_str_ci(map: &Map<String, Value>, name: &str) -> Result<Option<String>, ()> {
    match get_ci(map, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(()),
    }
}

/// `{"href": ...}`.
pub(crate) fn href(h: String) -> Value {
    json!({ "href": h })
}

/// A complete in-memory body; exact size hint so hyper sends Content-Length.
#[derive(Debug, Default)]
pub(crate) struct SimBody(Option<Bytes>);

impl SimBody {
    pub(crate) fn new(bytes: Bytes) -> SimBody {
        if bytes.is_empty() {
            SimBody(None)
        } else {
            SimBody(Some(bytes))
        }
    }
}

impl Body for SimBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.take().map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.as_ref().map_or(0, |b| b.len() as u64))
    }
}

/// Reads a whole request body, refusing more than `limit` bytes.
pub(crate) async fn read_body<B>(mut body: B, limit: usize) -> Result<Bytes, ()>
where
    B: Body<Data = Bytes> + Unpin,
{
    let mut buf: Vec<u8> = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|_| ())?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(());
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

/// Decodes one percent-encoded path segment.
pub(crate) fn decode_segment(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_segment_handles_escapes_and_stray_percent() {
        assert_eq!(decode_segment("alice%40contoso.com"), "alice@contoso.com");
        assert_eq!(decode_segment("100%"), "100%");
        assert_eq!(decode_segment("a%zzb"), "a%zzb");
    }

    #[test]
    fn case_insensitive_lookup_finds_pascal_case() {
        let v: Value = serde_json::from_str(r#"{"UserAgent":"x"}"#).unwrap();
        let map = v.as_object().unwrap();
        assert_eq!(get_str_ci(map, "userAgent"), Ok(Some("x".into())));
    }
}
