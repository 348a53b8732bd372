//! The event channel's own connection: one HTTP/1.1 connection kept open across the channel's
//! P-GETs and opened again when it breaks. A P-GET is parked for minutes; on the pooled client
//! each parked one also held the pool's per-request machinery and a full-size read buffer
//! (about 10 KiB a client), which this connection does not. Same trust, proxy choice (a
//! `CONNECT` tunnel for https), body cap, timeout and request count as every other exchange
//! (see `dedicated`, whose connection it is).

use std::sync::Mutex;

use reqwest::Method;
use url::Url;

use super::dedicated::Conn;
use super::{Body, Exchange, Reply};
use crate::error::{Error, Step};
use crate::proxy::ProxyChoice;

/// The kept connection reads in chunks of this size: an event answer is small, and an idle
/// connection keeps no more read room than this (8 KiB by default).
const READ_SIZE: usize = 1024;

/// The connection of one event channel, while it is open; closed when dropped.
#[derive(Default)]
pub struct Kept {
    /// The origin and proxy choice it was opened for, and the connection; taken out while a
    /// request is on it, put back once its answer is read whole.
    open: Mutex<Option<(String, ProxyChoice, Conn)>>,
}

impl Kept {
    /// Sends one request on the kept connection (opening one when there is none for this
    /// origin, or it closed) and reads the whole answer, within the exchange's timeout. A
    /// connection that was kept and fails before an answer is replaced once: every request
    /// sent here (a P-GET) is safe to repeat, as on the pooled client.
    pub(super) async fn send(
        &self,
        ex: &Exchange<'_>,
        step: Step,
        method: Method,
        url: &Url,
        authorization: Option<&str>,
        body: &Body,
    ) -> Result<Reply, Error> {
        let origin = url.origin().ascii_serialization();
        let attempts = async {
            let mut replaced = false;
            loop {
                let held = self.take(&origin, ex.proxy);
                let reused = held.is_some();
                let mut conn = match held {
                    Some(conn) => conn,
                    None => Conn::open(ex, step, url, "the event channel", Some(READ_SIZE)).await?,
                };
                let req = conn.request(ex, step, method.clone(), url, authorization, body)?;
                ex.counter
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                match conn.exchange(ex, step, url, req).await {
                    Ok(reply) => {
                        self.put(origin, ex.proxy.clone(), conn);
                        return Ok(reply);
                    }
                    Err(Error::Network { .. }) if reused && !replaced => replaced = true,
                    // Dropping the connection closes it: whatever is left of the answer is
                    // never read.
                    Err(e) => return Err(e),
                }
            }
        };
        tokio::time::timeout(ex.timeout, attempts)
            .await
            .map_err(|_| Error::Timeout {
                step,
                detail: format!("no answer within {:.0} s", ex.timeout.as_secs_f64()),
                path: url.path().to_string(),
            })?
    }

    /// The open connection, if it is for this origin and proxy choice and still usable; any
    /// other is dropped (closed).
    fn take(&self, origin: &str, proxy: &ProxyChoice) -> Option<Conn> {
        let held = self.open.lock().unwrap_or_else(|p| p.into_inner()).take();
        held.and_then(|(o, p, conn)| {
            (o == origin && p == *proxy && !conn.is_closed()).then_some(conn)
        })
    }

    fn put(&self, origin: String, proxy: ProxyChoice, conn: Conn) {
        *self.open.lock().unwrap_or_else(|p| p.into_inner()) = Some((origin, proxy, conn));
    }
}
