//! Resource shapes the session and the supervisor read, beside `hal`: the application's links
//! ([`App`]), the two free-text parts of presence ([`TextField`]), presence itself
//! ([`presence_from`]), a contact's links ([`ContactLinks`]), and the `multipart/batching`
//! request and answer ([`batch_body`], [`parse_batch`]). The event-channel answer is read by
//! `event_set`.

use std::collections::HashMap;

use url::Url;

use crate::error::{Error, Result, Step};
use crate::hal::Resource;
use crate::types::{Availability, Presence};

/// The links of our application that operations follow; replaced whole on recovery.
#[derive(Debug, Clone)]
pub struct App {
    pub generation: u64,
    pub self_url: Url,
    pub events_url: Url,
    links: HashMap<String, Url>,
}

impl App {
    /// Collects links from the application and its embedded resources. Where the same rel
    /// appears twice, `me` wins, as the docs place presence links there.
    pub fn from_resource(res: &Resource, generation: u64) -> Result<App> {
        let self_url = res.require_link(Step::Application, "self")?;
        let events_url = res.require_link(Step::Application, "events")?;
        let mut links = HashMap::new();
        let rels = [
            "makeMeAvailable",
            "presence",
            "note",
            "location",
            "reportMyActivity",
            "batch",
        ];
        let me = res.embedded("me");
        let sources = [
            me.as_ref(),
            Some(res),
            res.embedded("communication").as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|r| {
            rels.iter()
                .filter_map(|rel| r.link(rel).map(|u| (rel.to_string(), u)))
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>();
        for found in sources.into_iter().rev() {
            links.extend(found);
        }
        // Contacts are reached below `people` (its own `self`), not from a link of the
        // application itself.
        if let Some(people) = res.embedded("people") {
            for (rel, key) in [
                ("self", "people"),
                ("presenceSubscriptions", "presenceSubscriptions"),
            ] {
                if let Some(url) = people.link(rel) {
                    links.insert(key.to_string(), url);
                }
            }
        }
        Ok(App {
            generation,
            self_url,
            events_url,
            links,
        })
    }

    pub fn link(&self, rel: &str) -> Option<&Url> {
        self.links.get(rel)
    }
}

/// The two free-text parts of presence, which work alike: a link, one property, POST to set,
/// an empty value to clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    Note,
    Location,
}

impl TextField {
    pub fn rel(self) -> &'static str {
        match self {
            TextField::Note => "note",
            TextField::Location => "location",
        }
    }

    pub fn property(self) -> &'static str {
        match self {
            TextField::Note => "message",
            TextField::Location => "location",
        }
    }

    pub fn step(self) -> Step {
        match self {
            TextField::Note => Step::Note,
            TextField::Location => Step::Location,
        }
    }

    /// The text a resource holds; empty means none.
    pub fn read(self, res: &Resource) -> Option<String> {
        text_of(res.str_prop(self.property()))
    }
}

/// A note's or location's text as the server sent it; empty means none.
pub fn text_of(value: Option<&str>) -> Option<String> {
    value.filter(|t| !t.is_empty()).map(str::to_string)
}

pub fn presence_from(step: Step, res: &Resource) -> Result<Presence> {
    let availability = res
        .str_prop("availability")
        .ok_or_else(|| Error::Protocol {
            step,
            detail: "presence has no availability".into(),
            http_status: None,
            path: res.base().path().to_string(),
        })?;
    Ok(presence_of(availability, res.str_prop("activity")))
}

/// Presence from its two properties as the server sent them; an empty activity is none.
pub fn presence_of(availability: &str, activity: Option<&str>) -> Presence {
    Presence {
        availability: Availability::from_wire(availability),
        activity: activity.filter(|a| !a.is_empty()).map(str::to_string),
    }
}

/// The links of one contact resource (`people/<address>`), as the contact gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactLinks {
    pub presence: Url,
    pub note: Url,
    pub location: Url,
}

impl ContactLinks {
    pub fn from_resource(step: Step, res: &Resource) -> Result<ContactLinks> {
        Ok(ContactLinks {
            presence: res.require_link(step, "contactPresence")?,
            note: res.require_link(step, "contactNote")?,
            location: res.require_link(step, "contactLocation")?,
        })
    }

    pub fn text(&self, field: TextField) -> &Url {
        match field {
            TextField::Note => &self.note,
            TextField::Location => &self.location,
        }
    }
}

/// A `multipart/batching` request of GETs, each part a whole HTTP request naming its target by
/// path (every target is on the batch's own origin; the caller checks). Returns the content
/// type (with the boundary) and the body.
pub fn batch_body(targets: &[&Url]) -> (String, Vec<u8>) {
    let boundary = uuid::Uuid::new_v4().simple().to_string();
    let mut out = String::new();
    for url in targets {
        let mut target = url.path().to_string();
        if let Some(q) = url.query() {
            target.push('?');
            target.push_str(q);
        }
        let host = url.host_str().unwrap_or_default();
        let host = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        out.push_str(&format!(
            "--{boundary}\r\nContent-Type: application/http; msgtype=request\r\n\r\n\
             GET {target} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n\r\n"
        ));
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    (
        format!("multipart/batching;boundary={boundary}"),
        out.into_bytes(),
    )
}

/// One answer of a batch: its status, headers and body.
pub struct BatchPart {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

fn batch_error(detail: &str, base: &Url) -> Error {
    Error::Protocol {
        step: Step::Contact,
        detail: format!("batch answer: {detail}"),
        http_status: Some(200),
        path: base.path().to_string(),
    }
}

/// Splits text at its first blank line (CRLF or LF).
fn split_head(text: &[u8]) -> (&[u8], &[u8]) {
    for sep in [&b"\r\n\r\n"[..], b"\n\n"] {
        if let Some(i) = text.windows(sep.len()).position(|w| w == sep) {
            return (&text[..i], &text[i + sep.len()..]);
        }
    }
    (text, &[])
}

/// Reads a `multipart/batching` answer into its parts, in order. `expected` parts must come
/// back: responses keep request order, so a short or long answer cannot be matched up.
pub fn parse_batch(
    content_type: &str,
    body: &[u8],
    base: &Url,
    expected: usize,
) -> Result<Vec<BatchPart>> {
    let boundary = content_type
        .split(';')
        .skip(1)
        .find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("boundary")
                .then(|| v.trim().trim_matches('"').to_owned())
        })
        .filter(|b| !b.is_empty())
        .ok_or_else(|| batch_error("no multipart boundary", base))?;
    let delim = format!("--{boundary}");
    let delim = delim.as_bytes();
    let mut chunks = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.windows(delim.len()).position(|w| w == delim) {
        chunks.push(&rest[..i]);
        rest = &rest[i + delim.len()..];
        if rest.starts_with(b"--") {
            break;
        }
    }
    let mut parts = Vec::new();
    // The first chunk is the preamble before the first delimiter.
    for chunk in chunks.into_iter().skip(1) {
        let chunk = chunk.strip_prefix(b"\r\n").unwrap_or(chunk);
        let (_part_headers, http) = split_head(chunk);
        let (head, mut content) = split_head(http);
        if let Some(c) = content.strip_suffix(b"\r\n") {
            content = c;
        }
        let head = String::from_utf8_lossy(head);
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|c| c.parse::<u16>().ok())
            .filter(|c| (100..600).contains(c))
            .ok_or_else(|| batch_error("a part has no status line", base))?;
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in lines.filter_map(|l| l.split_once(':')) {
            if let (Ok(k), Ok(v)) = (
                reqwest::header::HeaderName::from_bytes(k.trim().as_bytes()),
                reqwest::header::HeaderValue::from_str(v.trim()),
            ) {
                headers.append(k, v);
            }
        }
        parts.push(BatchPart {
            status,
            headers,
            body: content.to_vec(),
        });
    }
    if parts.len() != expected {
        return Err(batch_error(
            &format!("{} parts for {expected} requests", parts.len()),
            base,
        ));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_answer_is_split_into_its_parts_in_order() {
        let base = Url::parse("http://127.0.0.1/ucwa/oauth/v1/applications/1/batch").unwrap();
        let a = base.join("people/a@x/presence").unwrap();
        let (ct, body) = batch_body(&[&a, &a]);
        let text = String::from_utf8(body).unwrap();
        assert!(ct.starts_with("multipart/batching;boundary="));
        assert_eq!(
            text.matches("GET /ucwa/oauth/v1/applications/1/people/a@x/presence HTTP/1.1")
                .count(),
            2
        );
        let answer = "--q\r\nContent-Type: application/http; msgtype=response\r\n\r\n\
            HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"availability\":\"Busy\"}\r\n\
            --q\r\nContent-Type: application/http; msgtype=response\r\n\r\n\
            HTTP/1.1 404 Not Found\r\n\r\n{}\r\n--q--\r\n";
        let parts = parse_batch(
            "multipart/batching; boundary=\"q\"",
            answer.as_bytes(),
            &base,
            2,
        )
        .ok()
        .unwrap();
        assert_eq!((parts[0].status, parts[1].status), (200, 404));
        assert_eq!(parts[0].body, br#"{"availability":"Busy"}"#);
        assert!(parse_batch(
            "multipart/batching; boundary=q",
            answer.as_bytes(),
            &base,
            3
        )
        .is_err());
        assert!(parse_batch("multipart/batching", answer.as_bytes(), &base, 2).is_err());
    }
}
