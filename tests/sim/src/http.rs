//! The simulator's own request/response values and their helpers: a buffered request
//! ([`Req`]), a response under construction ([`Resp`]), the UCWA error body, JSON property lookup
//! that ignores case, and the body type handed to hyper (complete, or the streamed hostile
//! bodies of fault injection).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame, SizeHint};
use hyper::HeaderMap;
use serde_json::{json, Map, Value};

/// The content type of UCWA resources, as real servers send it.
pub(crate) const JSON: &str = "application/json; charset=utf-8";
/// The content type of discovery, `user`, token and UCWA error bodies: no charset (captures).
pub(crate) const JSON_PLAIN: &str = "application/json";
/// What a client asking for the UCWA vendor type gets instead of [`JSON`].
pub(crate) const VND_JSON: &str = "application/vnd.microsoft.com.ucwa+json; charset=utf-8";

/// A request with its body already read.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Id of the connection the request arrived on (see `Shared::next_conn`).
    pub conn: u64,
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

    /// JSON with the bare media type, as discovery, `user`, the token endpoint and UCWA errors
    /// are answered.
    pub(crate) fn json_plain(status: u16, value: &Value) -> Resp {
        Resp {
            status,
            headers: vec![("Content-Type".into(), JSON_PLAIN.into())],
            body: Bytes::from(value.to_string()),
        }
    }

    /// An IIS page (`text/html`, as the captured 401 says).
    pub(crate) fn html(status: u16, html: &str) -> Resp {
        Resp {
            status,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: Bytes::from(html.to_owned()),
        }
    }

    /// A UCWA error body `{code, subcode?, message}` (bare `application/json`, as captured).
    pub(crate) fn error(status: u16, code: &str, subcode: Option<&str>, message: &str) -> Resp {
        let mut body = json!({ "code": code, "message": message });
        if let Some(sub) = subcode {
            body["subcode"] = Value::from(sub);
        }
        Resp::json_plain(status, &body)
    }

    /// The value of header `name` in this response, if set.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Replaces (or adds) header `name`.
    pub(crate) fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
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

/// Bytes of padding served by the streamed fault bodies: one static buffer, so that neither
/// `Oversized` (whatever its size) nor `Endless` ever allocates per chunk.
static PAD: [u8; STREAM_CHUNK] = [b'a'; STREAM_CHUNK];
/// Size of one streamed chunk.
const STREAM_CHUNK: usize = 64 * 1024;

/// A response body handed to hyper: complete in memory (exact size hint, so hyper sends
/// Content-Length), or one of the two streamed hostile bodies of fault injection.
#[derive(Debug)]
pub(crate) enum SimBody {
    Full(Option<Bytes>),
    /// `{"pad":"aaa…"}` of exactly `total` bytes, with Content-Length; `sent` so far.
    Oversized {
        total: u64,
        sent: u64,
    },
    /// `{"pad":"aaa…` forever, chunked; `started` once the prefix went out.
    Endless {
        started: bool,
    },
}

impl Default for SimBody {
    fn default() -> Self {
        SimBody::Full(None)
    }
}

/// The JSON prefix and suffix of the padded fault bodies.
const PAD_OPEN: &[u8] = b"{\"pad\":\"";
const PAD_CLOSE: &[u8] = b"\"}";

impl SimBody {
    pub(crate) fn new(bytes: Bytes) -> SimBody {
        if bytes.is_empty() {
            SimBody::Full(None)
        } else {
            SimBody::Full(Some(bytes))
        }
    }

    /// The next piece of an oversized body: the bytes in `[sent, sent + len)` of
    /// `{"pad":"` + `a`×(total − 10) + `"}`. Bodies shorter than that frame (N < 10) are `{}`
    /// followed by spaces (still valid JSON from N = 2), or N spaces.
    fn oversized_piece(total: u64, sent: u64) -> Bytes {
        let frame = (PAD_OPEN.len() + PAD_CLOSE.len()) as u64;
        let left = total - sent;
        if total < frame {
            // Tiny bodies go out in one piece; they are at most 9 bytes.
            let mut small = Vec::with_capacity(total as usize);
            if total >= 2 {
                small.extend_from_slice(b"{}");
            }
            small.resize(total as usize, b' ');
            return Bytes::from(small);
        }
        if sent == 0 {
            return Bytes::from_static(PAD_OPEN);
        }
        let close = PAD_CLOSE.len() as u64;
        if left <= close {
            // Only the closing `"}` (or its tail) remains.
            return Bytes::from_static(&PAD_CLOSE[(close - left) as usize..]);
        }
        let n = (left - close).min(STREAM_CHUNK as u64) as usize;
        Bytes::from_static(&PAD[..n])
    }
}

impl Body for SimBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        // hyper asks for the next frame only once the previous one is (nearly) written, so
        // the streamed bodies hold at most one static chunk in flight.
        let next = match &mut *self {
            SimBody::Full(b) => b.take(),
            SimBody::Oversized { total, sent } => {
                if *sent >= *total {
                    None
                } else {
                    let piece = SimBody::oversized_piece(*total, *sent);
                    *sent += piece.len() as u64;
                    Some(piece)
                }
            }
            SimBody::Endless { started } => {
                if *started {
                    Some(Bytes::from_static(&PAD))
                } else {
                    *started = true;
                    Some(Bytes::from_static(PAD_OPEN))
                }
            }
        };
        Poll::Ready(next.map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        match self {
            SimBody::Full(b) => b.is_none(),
            SimBody::Oversized { total, sent } => sent >= total,
            SimBody::Endless { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            SimBody::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            SimBody::Oversized { total, sent } => SizeHint::with_exact(total - sent),
            // No exact size: hyper sends it chunked.
            SimBody::Endless { .. } => SizeHint::default(),
        }
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
