//! UCWA's `multipart/batching`: the request of GETs ([`batch_body`]) and the reading of the
//! answer into its parts ([`parse_batch`]).
//!
//! The answer is server input read on whichever runtime made the call (the engine's, for the
//! event channel's follow-ups), and a parse never yields, so reading it is linear in its size
//! and every length taken from the server is bounded: the boundary (RFC 2046 §5.1.1: 1 to 70
//! characters of a fixed set), the parts (no more than were asked for) and each part's headers
//! (as many as hyper allows a response of its own). Delimiters are looked for only at line
//! starts, where RFC 2046 puts them, with a comparison no longer than the delimiter, so no byte
//! of the body is looked at more than twice.

use url::Url;

use crate::error::{Error, Result, Step};

/// The longest boundary RFC 2046 allows.
const MAX_BOUNDARY: usize = 70;

/// Most headers one part may carry: hyper's own bound on a response's headers.
const MAX_PART_HEADERS: usize = 100;

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

/// A boundary character (RFC 2046 §5.1.1 `bchars`; a space may not end it).
fn is_bchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&b)
}

/// The `boundary` parameter of a multipart content type, unquoted and checked against RFC 2046.
/// The error names the cause, never the server's text.
fn boundary(content_type: &str) -> std::result::Result<&str, String> {
    let value = content_type
        .split(';')
        .skip(1)
        .find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("boundary")
                .then_some(v.trim())
        })
        .ok_or("no multipart boundary")?;
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    if value.is_empty() {
        return Err("an empty multipart boundary".into());
    }
    if value.len() > MAX_BOUNDARY {
        return Err(format!(
            "a multipart boundary of {} bytes (RFC 2046 allows at most {MAX_BOUNDARY})",
            value.len()
        ));
    }
    if !value.bytes().all(is_bchar) || value.ends_with(' ') {
        return Err("a multipart boundary with a character RFC 2046 does not allow".into());
    }
    Ok(value)
}

/// The lines of a text in one pass, each without its LF or CRLF, with the bytes looked at so
/// far (`examined`): the measure of work the tests hold to the text's length.
struct Lines<'a> {
    text: &'a [u8],
    pos: usize,
    examined: usize,
}

/// One line: where it starts, its content, and where the next one starts.
struct Line<'a> {
    start: usize,
    text: &'a [u8],
    next: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a [u8]) -> Self {
        Lines {
            text,
            pos: 0,
            examined: 0,
        }
    }

    /// Whether `line` begins with `prefix`, counting the bytes compared. The comparison stops
    /// at the first difference, so it is never longer than the prefix nor than the line.
    fn starts_with(&mut self, line: &[u8], prefix: &[u8]) -> bool {
        let same = line.iter().zip(prefix).take_while(|(a, b)| a == b).count();
        self.examined += (same + 1).min(prefix.len()).min(line.len());
        same == prefix.len()
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Line<'a>;

    fn next(&mut self) -> Option<Line<'a>> {
        let start = self.pos;
        let rest = self.text.get(start..).filter(|r| !r.is_empty())?;
        let (len, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (i, start + i + 1),
            None => (rest.len(), self.text.len()),
        };
        self.examined += next - start;
        self.pos = next;
        let text = &rest[..len];
        Some(Line {
            start,
            text: text.strip_suffix(b"\r").unwrap_or(text),
            next,
        })
    }
}

/// What a line is to a multipart body with the delimiter `dash` (`--` and the boundary).
enum Delimiter {
    None,
    /// Starts a part.
    Part,
    /// Ends the last part.
    Close,
}

fn delimiter(lines: &mut Lines, line: &[u8], dash: &[u8]) -> Delimiter {
    if !lines.starts_with(line, dash) {
        return Delimiter::None;
    }
    let rest = &line[dash.len()..];
    lines.examined += rest.len();
    if rest.starts_with(b"--") {
        Delimiter::Close
    } else if rest.iter().all(|b| *b == b' ' || *b == b'\t') {
        // Transport padding: whitespace before the line break.
        Delimiter::Part
    } else {
        Delimiter::None
    }
}

/// The body parts of a multipart body, in order, without the preamble, the epilogue and the
/// line break that belongs to each delimiter; a part counts only once a delimiter ends it. More
/// than `most` parts is an error, found without reading further. Also returns the bytes
/// examined, at most twice the body's length.
fn split_parts<'a>(
    body: &'a [u8],
    boundary: &str,
    most: usize,
) -> std::result::Result<(Vec<&'a [u8]>, usize), String> {
    let dash = format!("--{boundary}");
    let mut lines = Lines::new(body);
    let mut parts = Vec::new();
    // Where the current part's content starts, once a delimiter opened one.
    let mut open: Option<usize> = None;
    while let Some(line) = lines.next() {
        let kind = delimiter(&mut lines, line.text, dash.as_bytes());
        if matches!(kind, Delimiter::None) {
            continue;
        }
        if let Some(from) = open {
            // The line break before a delimiter is part of the delimiter (RFC 2046 §5.1.1).
            let content = &body[from..line.start];
            let content = content.strip_suffix(b"\n").unwrap_or(content);
            parts.push(content.strip_suffix(b"\r").unwrap_or(content));
            if parts.len() > most {
                return Err(format!("more than {most} parts for {most} requests"));
            }
        }
        if matches!(kind, Delimiter::Close) {
            break;
        }
        open = Some(line.next);
    }
    Ok((parts, lines.examined))
}

/// Splits a text at its first blank line (CRLF or LF), in one pass.
fn split_head(text: &[u8]) -> (&[u8], &[u8]) {
    Lines::new(text)
        .find(|l| l.text.is_empty())
        .map_or((text, &[][..]), |l| (&text[..l.start], &text[l.next..]))
}

/// One part: its own headers, then the HTTP response it carries.
fn read_part(part: &[u8], base: &Url) -> Result<BatchPart> {
    let (_part_headers, http) = split_head(part);
    let (head, content) = split_head(http);
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|c| (100..600).contains(c))
        .ok_or_else(|| batch_error("a part has no status line", base))?;
    let mut headers = reqwest::header::HeaderMap::new();
    for (n, (k, v)) in lines.filter_map(|l| l.split_once(':')).enumerate() {
        if n == MAX_PART_HEADERS {
            return Err(batch_error(
                &format!("a part has more than {MAX_PART_HEADERS} headers"),
                base,
            ));
        }
        if let (Ok(k), Ok(v)) = (
            reqwest::header::HeaderName::from_bytes(k.trim().as_bytes()),
            reqwest::header::HeaderValue::from_str(v.trim()),
        ) {
            headers.append(k, v);
        }
    }
    Ok(BatchPart {
        status,
        headers,
        body: content.to_vec(),
    })
}

/// Reads a `multipart/batching` answer into its parts, in order. `expected` parts must come
/// back: responses keep request order, so a short or long answer cannot be matched up.
pub fn parse_batch(
    content_type: &str,
    body: &[u8],
    base: &Url,
    expected: usize,
) -> Result<Vec<BatchPart>> {
    let boundary = boundary(content_type).map_err(|d| batch_error(&d, base))?;
    let (parts, _) = split_parts(body, boundary, expected).map_err(|d| batch_error(&d, base))?;
    if parts.len() != expected {
        return Err(batch_error(
            &format!("{} parts for {expected} requests", parts.len()),
            base,
        ));
    }
    parts.into_iter().map(|p| read_part(p, base)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn base() -> Url {
        Url::parse("http://127.0.0.1/ucwa/oauth/v1/applications/1/batch").unwrap()
    }

    #[test]
    fn a_batch_answer_is_split_into_its_parts_in_order() {
        let base = base();
        let a = base.join("people/a@x/presence").unwrap();
        let (ct, body) = batch_body(&[&a, &a]);
        let text = String::from_utf8(body).unwrap();
        assert!(ct.starts_with("multipart/batching;boundary="));
        assert_eq!(
            text.matches("GET /ucwa/oauth/v1/applications/1/people/a@x/presence HTTP/1.1")
                .count(),
            2
        );
        let answer = "preamble\r\n--q\r\nContent-Type: application/http; msgtype=response\r\n\r\n\
            HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"availability\":\"Busy\"}\r\n\
            --q \r\nContent-Type: application/http; msgtype=response\r\n\r\n\
            HTTP/1.1 404 Not Found\r\n\r\n{}\r\n--q--\r\nepilogue\r\n--q\r\n";
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
        assert_eq!(parts[0].headers["content-type"], "application/json");
        assert_eq!(parts[1].body, b"{}");
        for n in [1, 3] {
            assert!(parse_batch(
                "multipart/batching; boundary=q",
                answer.as_bytes(),
                &base,
                n
            )
            .is_err());
        }
        assert!(parse_batch("multipart/batching", answer.as_bytes(), &base, 2).is_err());
    }

    #[test]
    fn lf_only_answers_and_a_boundary_inside_a_line_are_read_as_rfc_2046_says() {
        let answer =
            "--q\nContent-Type: application/http\n\nHTTP/1.1 200 OK\n\nx --q y\n--qq\n--q--";
        let parts = parse_batch(
            "multipart/batching;boundary=q",
            answer.as_bytes(),
            &base(),
            1,
        )
        .ok()
        .unwrap();
        assert_eq!(parts[0].body, b"x --q y\n--qq");
    }

    #[test]
    fn a_boundary_over_70_characters_or_with_a_foreign_character_is_refused_naming_why() {
        let seventy = "b".repeat(70);
        let answer = format!("--{seventy}\r\n\r\nHTTP/1.1 200 OK\r\n\r\n{{}}\r\n--{seventy}--\r\n");
        let ct = |b: &str| format!("multipart/batching; boundary={b}");
        assert!(parse_batch(&ct(&seventy), answer.as_bytes(), &base(), 1).is_ok());
        for (boundary, why) in [
            ("b".repeat(71), "of 71 bytes (RFC 2046 allows at most 70)"),
            ("b".repeat(200_000), "of 200000 bytes"),
            ("\"\"".into(), "an empty multipart boundary"),
            ("a\u{1}b".into(), "a character RFC 2046 does not allow"),
            ("\"a \"".into(), "a character RFC 2046 does not allow"),
            ("é".into(), "a character RFC 2046 does not allow"),
        ] {
            let e = parse_batch(&ct(&boundary), answer.as_bytes(), &base(), 1)
                .err()
                .unwrap();
            assert_eq!(e.status(), crate::Status::Protocol);
            assert!(e.to_string().contains(why), "{e}");
            assert!(e.to_string().len() < 200, "the boundary is not quoted");
        }
    }

    #[test]
    fn a_part_with_more_headers_than_a_response_may_have_is_refused_without_a_panic() {
        let mut answer = String::from("--q\r\n\r\nHTTP/1.1 200 OK\r\n");
        for i in 0..30_000 {
            answer.push_str(&format!("h{i}: x\r\n"));
        }
        answer.push_str("\r\n{}\r\n--q--\r\n");
        let e = parse_batch(
            "multipart/batching;boundary=q",
            answer.as_bytes(),
            &base(),
            1,
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("more than 100 headers"), "{e}");
    }

    #[test]
    fn more_parts_than_requests_stop_the_reading_at_once() {
        let answer = "--q\r\n\r\nHTTP/1.1 200 OK\r\n\r\n{}\r\n".repeat(100_000);
        let e = split_parts(answer.as_bytes(), "q", 3).err().unwrap();
        assert_eq!(e, "more than 3 parts for 3 requests");
    }

    /// Bodies built against a delimiter search: near-misses of a 70-character boundary at every
    /// line start, at every position of one endless line, lines of one byte, and parts of one
    /// line each; every one the size of the default body cap.
    #[test]
    fn maximal_adversarial_bodies_are_read_with_at_most_two_looks_per_byte() {
        const CAP: usize = 4 * 1024 * 1024;
        let boundary = format!("{}x", "-".repeat(69));
        let near = format!("--{}\r\n", &boundary[..69]);
        let bodies = [
            near.repeat(CAP / near.len()),
            "-".repeat(CAP),
            "\n".repeat(CAP),
            format!("--{boundary}\n").repeat(CAP / (boundary.len() + 3)),
        ];
        for body in bodies {
            let (_, examined) = split_parts(body.as_bytes(), &boundary, usize::MAX).unwrap();
            assert!(
                examined <= 2 * body.len(),
                "{examined} looks for {} bytes",
                body.len()
            );
        }
    }

    proptest! {
        #[test]
        fn any_body_is_read_in_linear_work_and_never_panics(
            body in proptest::collection::vec(prop_oneof![Just(b'-'), Just(b'\r'), Just(b'\n'), Just(b'q'), any::<u8>()], 0..2000),
            boundary in "[a-q'()+_,./:=?-]{1,70}",
            expected in 0usize..5,
        ) {
            if let Ok((parts, examined)) = split_parts(&body, &boundary, expected) {
                prop_assert!(examined <= 2 * body.len());
                prop_assert!(parts.len() <= expected);
            }
            let ct = format!("multipart/batching; boundary=\"{boundary}\"");
            let _ = parse_batch(&ct, &body, &base(), expected);
        }
    }
}
