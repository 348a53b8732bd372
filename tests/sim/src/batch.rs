//! `multipart/batching`: splitting a batch into its embedded HTTP requests, running each through
//! the ordinary handlers with the outer request's credentials, and packing the answers in order.

use hyper::body::Bytes;
use hyper::{HeaderMap, StatusCode};

use crate::handlers::{authorize_app, handle_sync, Outcome};
use crate::http::{Req, Resp};
use crate::paths::{Classified, Route};
use crate::state::{Pool, Shared};

/// The `boundary` parameter of a multipart content type, unquoted.
fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty())
    })
}

/// Splits `text` into header lines and the rest at the first blank line (CRLF or LF).
fn split_head(text: &str) -> (&str, &str) {
    for sep in ["\r\n\r\n", "\n\n"] {
        if let Some(i) = text.find(sep) {
            return (&text[..i], &text[i + sep.len()..]);
        }
    }
    (text, "")
}

fn parse_headers(head: &str) -> Vec<(String, String)> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// The parts between boundaries, each still holding its own part headers.
fn parts<'a>(body: &'a str, boundary: &str) -> Vec<&'a str> {
    let delim = format!("--{boundary}");
    let mut out = Vec::new();
    for chunk in body.split(delim.as_str()).skip(1) {
        if chunk.starts_with("--") {
            break;
        }
        out.push(chunk.trim_start_matches(['\r', '\n']));
    }
    out
}

/// One embedded request as a [`Req`], inheriting the outer credentials and origin.
fn sub_request(part: &str, outer: &Req, pool: &Pool) -> Result<Req, String> {
    let (_part_headers, http) = split_head(part);
    let (head, body) = split_head(http);
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or("").trim();
    let mut words = request_line.split_whitespace();
    let (Some(method), Some(target)) = (words.next(), words.next()) else {
        return Err("missing request line".to_owned());
    };
    let target = if let Some(rest) = target.strip_prefix(pool.paths.origin()) {
        rest.to_owned()
    } else if target.starts_with('/') {
        target.to_owned()
    } else {
        return Err(format!("{target} is not on this server"));
    };
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target, None),
    };
    let mut headers = HeaderMap::new();
    for (k, v) in parse_headers(lines.collect::<Vec<_>>().join("\n").as_str()) {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(k.as_bytes()),
            hyper::header::HeaderValue::from_str(&v),
        ) {
            headers.append(name, value);
        }
    }
    for name in ["authorization", "x-ms-origin"] {
        if !headers.contains_key(name) {
            if let Some(v) = outer.headers.get(name) {
                headers.insert(name, v.clone());
            }
        }
    }
    let body = body.trim_end_matches(['\r', '\n']);
    Ok(Req {
        method: method.to_ascii_uppercase(),
        path,
        query,
        headers,
        body: Bytes::from(body.to_owned()),
        conn: outer.conn,
    })
}

fn render_part(out: &mut String, boundary: &str, resp: &Resp) {
    let reason = StatusCode::from_u16(resp.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    out.push_str(&format!(
        "--{boundary}\r\nContent-Type: application/http; msgtype=response\r\n\r\nHTTP/1.1 {} {reason}\r\n",
        resp.status
    ));
    for (k, v) in &resp.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&String::from_utf8_lossy(&resp.body));
    out.push_str("\r\n");
}

/// Handles `POST <batch>`.
pub(crate) fn run(shared: &Shared, pool: &Pool, req: &Req, c: &Classified) -> Outcome {
    let app_id = c.app_id.as_deref().unwrap_or_default();
    let user = {
        let mut st = shared.lock();
        match authorize_app(shared, &mut st, pool, req, app_id) {
            Ok((_, name)) => name,
            Err(o) => return o,
        }
    };
    let answer = |resp: Resp| Outcome::new(resp, Some(user.clone()));
    if req.method != "POST" {
        return answer(Resp::method_not_allowed("POST"));
    }
    let ct = req.content_type();
    let Some(b) = boundary(&ct).filter(|_| ct.starts_with("multipart/batching")) else {
        return answer(Resp::error(
            415,
            "UnsupportedMediaType",
            Some("UnsupportedMediaType"),
            "A batch must be multipart/batching with a boundary.",
        ));
    };
    let text = String::from_utf8_lossy(&req.body).into_owned();
    // Part boundaries are case-sensitive; the content type was lowercased, so take the
    // boundary's original spelling from the header.
    let b = boundary(req.header("content-type").unwrap_or("")).unwrap_or(b);
    let out_boundary = uuid::Uuid::new_v4().to_string();
    let mut out = String::new();
    for part in parts(&text, &b) {
        let resp = match sub_request(part, req, pool) {
            Err(why) => Resp::error(400, "BadRequest", None, &why),
            Ok(sub) => {
                let sc = pool.paths.classify(&sub.path);
                let forbidden = matches!(sc.route, Route::Events | Route::Batch)
                    || sc.link.is_some_and(|l| l.rel == "photo");
                if forbidden {
                    Resp::error(
                        400,
                        "BadRequest",
                        None,
                        "This resource cannot be used in a batch.",
                    )
                } else {
                    handle_sync(shared, pool, &sub, &sc).resp
                }
            }
        };
        render_part(&mut out, &out_boundary, &resp);
    }
    out.push_str(&format!("--{out_boundary}--\r\n"));
    answer(Resp {
        status: 200,
        headers: vec![(
            "Content-Type".into(),
            format!("multipart/batching; boundary=\"{out_boundary}\""),
        )],
        body: Bytes::from(out),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_is_read_quoted_or_bare() {
        assert_eq!(
            boundary("multipart/batching;boundary=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(
            boundary("multipart/batching; boundary=\"a b\"").as_deref(),
            Some("a b")
        );
        assert_eq!(boundary("multipart/batching"), None);
    }

    #[test]
    fn parts_stop_at_the_closing_delimiter() {
        let body =
            "--b\r\nX: 1\r\n\r\nGET /a HTTP/1.1\r\n\r\n--b\r\n\r\nGET /b HTTP/1.1\r\n\r\n--b--\r\n";
        assert_eq!(parts(body, "b").len(), 2);
    }
}
