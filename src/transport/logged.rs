//! What a person debugging a deployment reads first: one record per completed HTTP exchange
//! (one call at each place an exchange completes), its transcript line when the client keeps
//! a transcript, and the form in which records and errors show a URL.

use reqwest::Method;
use url::Url;

use super::{Body, Exchange, Reply};
use crate::error::{Error, Step};

/// `url` as a log record or an error shows it: scheme, host, port and path, never the query
/// (event links carry the user's identity and state in theirs).
pub(crate) fn shown_url(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_password(None);
    let _ = shown.set_username("");
    shown.to_string()
}

/// The record of one completed exchange (answered or failed), at debug: what a person
/// debugging a deployment reads first. `how` is when it started, the bytes sent, and the
/// connection it went on (`pool`, `kept`, `dedicated`).
pub(crate) fn log_exchange(
    ex: &Exchange<'_>,
    step: Step,
    method: &Method,
    url: &Url,
    how: (std::time::Instant, usize, &str),
    result: &Result<Reply, Error>,
) {
    let (started, sent, on) = how;
    crate::log::ucwa_log!(Debug, ex.secrets, "{}", {
        let ms = started.elapsed().as_millis();
        let proxy = ex.proxy.proxy_for(url).map(|p| shown_url(&p));
        let via = format!(
            "tls={} proxy={} conn={on} sent={sent}B",
            if url.scheme() == "https" { "yes" } else { "no" },
            proxy.as_deref().unwrap_or("none"),
        );
        match result {
            Ok(r) => format!(
                "{method} {} ({step}): {} in {ms} ms, {}B {} encoding={}{}; {via}",
                shown_url(url),
                r.status,
                r.body.len(),
                r.header("content-type").unwrap_or("-"),
                r.header("content-encoding").unwrap_or("identity"),
                r.diagnostics()
                    .map(|d| format!(", X-Ms-Diagnostics: {d}"))
                    .unwrap_or_default(),
            ),
            Err(e) => format!(
                "{method} {} ({step}): failed after {ms} ms: {e}; {via}",
                shown_url(url)
            ),
        }
    });
}

impl Exchange<'_> {
    /// Records a finished exchange (answered or not) in the transcript, when there is one.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record(
        &self,
        step: Step,
        method: &Method,
        url: &Url,
        authorization: Option<&str>,
        body: &Body,
        result: &Result<Reply, Error>,
        started: std::time::Instant,
    ) {
        let Some(sink) = self.transcript else {
            return;
        };
        let answer = match result {
            Ok(r) => Ok((r.status, &r.headers, r.body.as_slice())),
            Err(e) => Err(e.to_string()),
        };
        let sent = crate::transcript::Sent {
            purpose: step.to_string(),
            method: method.as_str(),
            url,
            accept: body.accept(),
            user_agent: self.user_agent,
            content_type: body.content_type(),
            authorization,
            body: body.as_slice(),
        };
        sink.record(self.secrets, &sent, answer, started.elapsed());
    }
}
