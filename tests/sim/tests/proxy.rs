//! The simulator's forward proxy, spoken to byte by byte: absolute-form requests forwarded and
//! each logged on its connection, `CONNECT` tunnels answered 200 that end with either side,
//! the Basic 407 challenge, the hostile refuse-and-echo mode, loopback-only targets, a server's
//! close passed on, the connection bound, and the control API under `/_sim/proxy`.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use support::*;
use ucwa_sim::{Fault, FaultAction, ProxyLogEntry, ProxyMode, Sim};

/// One client connection to the proxy.
struct Raw {
    reader: BufReader<TcpStream>,
}

impl Raw {
    fn connect(sim: &Sim) -> Raw {
        let tcp = TcpStream::connect(sim.proxy_addr()).expect("the proxy accepts");
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Raw {
            reader: BufReader::new(tcp),
        }
    }

    fn send(&mut self, text: &str) {
        self.reader.get_mut().write_all(text.as_bytes()).unwrap();
    }

    /// `GET target` with extra header lines (each ending in CRLF).
    fn get(&mut self, target: &str, host: &str, extra: &str) {
        self.send(&format!(
            "GET {target} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n"
        ));
    }

    /// The next answer (a Content-Length or empty body); `None` when the connection closed
    /// before one came.
    fn answer(&mut self) -> Option<Response> {
        let mut raw = Vec::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            raw.extend_from_slice(line.as_bytes());
            if line == "\r\n" {
                break;
            }
        }
        let head = parse_response(&raw).ok()?;
        let len = head
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body).ok()?;
        Some(Response { body, ..head })
    }
}

fn basic(user: &str, password: &str) -> String {
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn entry(method: &str, target: &str, conn: u64, answered: Option<u16>) -> ProxyLogEntry {
    ProxyLogEntry {
        seq: 0,
        conn,
        method: method.into(),
        target: target.into(),
        version: "HTTP/1.1".into(),
        credentials: false,
        user: None,
        authorized: true,
        answered,
    }
}

/// The log with `seq` zeroed, to compare whole entries.
fn unnumbered(sim: &Sim) -> Vec<ProxyLogEntry> {
    let log = sim.proxy_log();
    assert!(log.windows(2).all(|w| w[0].seq < w[1].seq), "{log:?}");
    log.into_iter()
        .map(|e| ProxyLogEntry { seq: 0, ..e })
        .collect()
}

#[test]
fn absolute_form_requests_are_forwarded_and_each_is_logged_on_its_connection() {
    let sim = start(fast());
    let host = sim.addr().to_string();
    let mut c = Raw::connect(&sim);
    for _ in 0..2 {
        c.get(&sim.root_url(), &host, "Proxy-Connection: keep-alive\r\n");
        let r = c.answer().expect("forwarded answer");
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(
            r.json()["_links"]["user"]["href"].is_string(),
            "{}",
            r.text()
        );
    }
    let root = sim.root_url();
    assert_eq!(
        unnumbered(&sim),
        [entry("GET", &root, 1, None), entry("GET", &root, 1, None)]
    );
    let seen = sim.log();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.iter().all(|e| e.route == "discovery" && e.path == "/"));
    assert_eq!(sim.proxy_info().connections, 1);
}

#[test]
fn connect_opens_a_tunnel_answered_200_that_ends_with_either_side() {
    let sim = start(fast());
    let authority = sim.addr().to_string();
    let mut c = Raw::connect(&sim);
    c.send(&format!(
        "CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n"
    ));
    assert_eq!(c.answer().expect("tunnel answer").status, 200);
    // Inside the tunnel the client speaks to the server itself, in origin form.
    c.get("/", &authority, "");
    let r = c.answer().expect("the server's answer through the tunnel");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        unnumbered(&sim),
        [entry("CONNECT", &authority, 1, Some(200))],
        "the proxy saw the tunnel, not the request inside it"
    );
    assert!(sim.log().iter().any(|e| e.route == "discovery"));
    assert_eq!(sim.proxy_info().open_connections, 1);
    drop(c);
    assert!(
        eventually(Duration::from_secs(5), || sim.proxy_info().open_connections
            == 0),
        "the tunnel ended with its client"
    );
}

#[test]
fn required_credentials_get_a_407_challenge_until_they_come_right() {
    let sim = start(fast());
    sim.proxy_require_credentials(Some(("agent", "s3cret pass")));
    let host = sim.addr().to_string();
    let root = sim.root_url();
    for (extra, status) in [
        (String::new(), 407),
        (
            format!("Proxy-Authorization: {}\r\n", basic("agent", "wrong")),
            407,
        ),
        (
            format!("Proxy-Authorization: {}\r\n", basic("agent", "s3cret pass")),
            200,
        ),
    ] {
        let mut c = Raw::connect(&sim);
        c.get(&root, &host, &extra);
        let r = c.answer().expect("an answer");
        assert_eq!(r.status, status, "{extra:?}");
        if status == 407 {
            let challenge = r.header("proxy-authenticate").unwrap_or_default();
            assert!(challenge.starts_with("Basic realm="), "{challenge}");
        }
    }
    let seen = unnumbered(&sim);
    let who: Vec<_> = seen
        .iter()
        .map(|e| (e.credentials, e.user.as_deref(), e.authorized, e.answered))
        .collect();
    assert_eq!(
        who,
        [
            (false, None, false, Some(407)),
            (true, Some("agent"), false, Some(407)),
            (true, Some("agent"), true, None),
        ]
    );
    assert_eq!(sim.log().len(), 1, "only the right credentials got through");
    let text = serde_json::to_string(&sim.proxy_log()).unwrap();
    assert!(
        !text.contains("s3cret") && !text.contains("wrong"),
        "{text}"
    );
}

#[test]
fn refuse_and_echo_cuts_open_connections_and_quotes_the_credentials_it_got() {
    let sim = start(fast());
    let host = sim.addr().to_string();
    let root = sim.root_url();
    let mut open = Raw::connect(&sim);
    open.get(&root, &host, "");
    assert_eq!(open.answer().unwrap().status, 200);

    sim.set_proxy_mode(ProxyMode::RefuseAndEcho);
    open.get(&root, &host, "");
    assert!(open.answer().is_none(), "the open connection was cut");
    let credentials = basic("agent", "pä ss");
    let mut c = Raw::connect(&sim);
    c.get(
        &root,
        &host,
        &format!("Proxy-Authorization: {credentials}\r\n"),
    );
    let r = c.answer().expect("the refusal");
    assert_eq!(r.status, 407);
    let quoted = format!("{} {}", r.header("x-ms-diagnostics").unwrap(), r.text());
    for form in [credentials.as_str(), "agent:pä ss", "agent%3Ap%C3%A4%20ss"] {
        assert!(quoted.contains(form), "{form} in {quoted}");
    }
    assert_eq!(r.json()["code"], "ProxyAuth agent:pä ss");
    let last = sim.proxy_log().pop().unwrap();
    assert_eq!((last.answered, last.credentials), (Some(407), true));

    sim.set_proxy_mode(ProxyMode::Forward);
    let mut again = Raw::connect(&sim);
    again.get(&root, &host, "");
    assert_eq!(again.answer().unwrap().status, 200);
}

#[test]
fn targets_beyond_loopback_are_refused_502_and_origin_form_400() {
    let sim = start(fast());
    let mut c = Raw::connect(&sim);
    c.send("CONNECT lyncdiscover.contoso.test:443 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.answer().unwrap().status, 502);
    let mut c = Raw::connect(&sim);
    c.get("http://10.1.2.3:8080/", "10.1.2.3:8080", "");
    assert_eq!(c.answer().unwrap().status, 502);
    let mut c = Raw::connect(&sim);
    c.get("/", "127.0.0.1", "");
    assert_eq!(c.answer().unwrap().status, 400);
    let answered: Vec<_> = unnumbered(&sim)
        .iter()
        .map(|e| (e.target.clone(), e.answered))
        .collect();
    assert_eq!(
        answered,
        [
            ("lyncdiscover.contoso.test:443".to_owned(), Some(502)),
            ("http://10.1.2.3:8080/".to_owned(), Some(502)),
            ("/".to_owned(), Some(400)),
        ]
    );
    assert!(sim.log().is_empty());
}

#[test]
fn a_server_closing_the_connection_closes_the_clients_without_an_answer() {
    let sim = start(fast());
    sim.inject_fault(Fault {
        route: Some("discovery".into()),
        path_contains: None,
        method: None,
        count: 1,
        action: FaultAction::Close,
    });
    let mut c = Raw::connect(&sim);
    c.get(&sim.root_url(), &sim.addr().to_string(), "");
    assert!(c.answer().is_none(), "closed as the server closed");
    assert_eq!(sim.proxy_log()[0].answered, None, "forwarded");
    assert_eq!(sim.log()[0].status, 0, "the server closed it");
}

#[test]
fn a_server_ending_the_connection_after_an_answer_ends_the_clients_after_it() {
    let sim = start(fast());
    sim.inject_fault(Fault {
        route: Some("discovery".into()),
        path_contains: None,
        method: None,
        count: 1,
        action: FaultAction::Respond {
            status: 503,
            headers: vec![("Connection".into(), "close".into())],
            body: "busy".into(),
        },
    });
    let mut c = Raw::connect(&sim);
    c.get(&sim.root_url(), &sim.addr().to_string(), "");
    let r = c.answer().expect("the server's answer");
    assert_eq!((r.status, r.text().as_str()), (503, "busy"));
    assert_eq!(
        r.header("connection"),
        None,
        "a hop-by-hop header, not passed on"
    );
    assert!(
        eventually(Duration::from_secs(5), || sim.proxy_info().open_connections
            == 0),
        "the client's connection ended with the server's"
    );
    c.get(&sim.root_url(), &sim.addr().to_string(), "");
    assert!(c.answer().is_none());
}

#[test]
fn connections_beyond_the_bound_are_closed_at_once() {
    const BOUND: usize = 256; // proxy::MAX_CONNECTIONS
    let sim = start(fast());
    let held: Vec<Raw> = (0..BOUND).map(|_| Raw::connect(&sim)).collect();
    assert!(eventually(Duration::from_secs(10), || sim
        .proxy_info()
        .open_connections
        == BOUND));
    let mut extra = Raw::connect(&sim);
    extra.get(&sim.root_url(), &sim.addr().to_string(), "");
    assert!(extra.answer().is_none(), "over the bound");
    drop(held);
    assert!(eventually(Duration::from_secs(10), || sim
        .proxy_info()
        .open_connections
        == 0));
    assert!(sim.proxy_log().is_empty());
}

fn control(sim: &Sim, method: &str, path: &str, body: Option<Value>) -> Response {
    let url = format!("{}_sim/proxy{path}", sim.root_url());
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    Http::plain()
        .send(
            method,
            &url,
            &[("Content-Type", "application/json")],
            &bytes,
        )
        .unwrap()
}

#[test]
fn the_control_api_reports_and_switches_the_proxy() {
    let sim = start(fast());
    let info = control(&sim, "GET", "", None).json();
    assert_eq!(info["url"], sim.proxy_url());
    assert_eq!(info["mode"], "forward");
    assert_eq!(info["required_user"], Value::Null);
    let all = Http::plain().get(&format!("{}_sim/info", sim.root_url()), &[]);
    assert_eq!(all.json()["proxy_url"], sim.proxy_url());

    let creds = json!({"user": "agent", "password": "pw"});
    assert_eq!(
        control(&sim, "PUT", "/credentials", Some(creds)).status,
        204
    );
    assert_eq!(
        control(&sim, "GET", "", None).json()["required_user"],
        "agent"
    );
    let mut c = Raw::connect(&sim);
    c.get(&sim.root_url(), &sim.addr().to_string(), "");
    assert_eq!(c.answer().unwrap().status, 407);
    assert_eq!(control(&sim, "DELETE", "/credentials", None).status, 204);

    let log: Vec<ProxyLogEntry> =
        serde_json::from_slice(&control(&sim, "GET", "/log", None).body).unwrap();
    assert_eq!(log, sim.proxy_log());
    assert_eq!(log.len(), 1);
    assert_eq!(control(&sim, "DELETE", "/log", None).status, 204);
    assert!(sim.proxy_log().is_empty());

    let hostile = json!({"mode": "refuse-and-echo"});
    assert_eq!(control(&sim, "PUT", "/mode", Some(hostile)).status, 204);
    assert_eq!(sim.proxy_info().mode, ProxyMode::RefuseAndEcho);
    let bad = control(&sim, "PUT", "/mode", Some(json!({"mode": "open"})));
    assert_eq!(bad.status, 400);
    assert_eq!(sim.proxy_info().mode, ProxyMode::RefuseAndEcho);
    let forward = json!({"mode": "forward"});
    assert_eq!(control(&sim, "PUT", "/mode", Some(forward)).status, 204);

    let mut open = Raw::connect(&sim);
    let authority = sim.addr().to_string();
    open.send(&format!("CONNECT {authority} HTTP/1.1\r\n\r\n"));
    assert_eq!(open.answer().unwrap().status, 200);
    assert_eq!(control(&sim, "POST", "/cut", None).status, 204);
    open.get("/", &authority, "");
    assert!(open.answer().is_none(), "the cut closed the tunnel");
    assert_eq!(control(&sim, "GET", "/nothing", None).status, 404);
}
