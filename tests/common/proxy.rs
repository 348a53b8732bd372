//! A small HTTP proxy for the tests: `CONNECT host:port` tunnels and absolute-form requests
//! (`GET http://host:port/path`), optionally behind Basic `Proxy-Authorization`, recording the
//! first request of every connection. Loopback only; it refuses to reach anything else (502),
//! so a test can see where a client wanted to go without any traffic leaving the machine.
//! Told to [`TestProxy::refuse_and_echo`], it turns hostile: every request gets a 407 that
//! quotes the `Proxy-Authorization` it carried, as a careless proxy's error page would.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// What the proxy saw at the start of one client connection.
#[derive(Debug, Clone)]
pub struct ProxyEntry {
    pub method: String,
    pub target: String,
    pub authorized: bool,
    /// The status the proxy answered itself (200 for a tunnel, 407, 502), or 0 when it
    /// forwarded an absolute-form request.
    pub answered: u16,
}

pub struct TestProxy {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<ProxyEntry>>>,
    /// Set by [`TestProxy::refuse_and_echo`].
    echoing: Arc<AtomicBool>,
    /// The client side of every connection, to cut them when the proxy turns hostile.
    open: Arc<Mutex<Vec<TcpStream>>>,
}

fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(input: &str) -> Vec<u8> {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sextets: Vec<u32> = input
        .bytes()
        .filter_map(|b| T.iter().position(|t| *t == b).map(|p| p as u32))
        .collect();
    let mut out = Vec::new();
    for chunk in sextets.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, s)| n | s << (18 - 6 * i));
        out.extend(n.to_be_bytes()[1..chunk.len()].iter());
    }
    out
}

/// `text` percent-encoded as a URL component.
fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A 407 error page, JSON-shaped and with diagnostics, that quotes the credentials it got: the
/// header value, the decoded `user:password`, and that pair percent-encoded.
fn echo_refusal(auth: Option<&str>) -> String {
    let header = auth.unwrap_or_default();
    let pair = String::from_utf8_lossy(&base64_decode(
        header.strip_prefix("Basic ").unwrap_or_default(),
    ))
    .into_owned();
    let quoted = format!(
        "refused Proxy-Authorization '{header}' for '{pair}' ({})",
        percent(&pair)
    );
    let body =
        format!(r#"{{"code":"ProxyAuth {pair}","subcode":"{header}","message":"{quoted}"}}"#);
    format!(
        "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\n\
         X-Ms-diagnostics: 1000;reason=\"{quoted}\"\r\nContent-Type: application/json\r\n\
         Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

fn loopback_target(authority: &str) -> Option<SocketAddr> {
    let addr: SocketAddr = authority.parse().ok()?;
    addr.ip().is_loopback().then_some(addr)
}

impl TestProxy {
    /// Starts the proxy; with `credentials`, only requests carrying them get through.
    pub fn start(credentials: Option<(&str, &str)>) -> TestProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy binds");
        let addr = listener.local_addr().unwrap();
        let log: Arc<Mutex<Vec<ProxyEntry>>> = Arc::default();
        let expected =
            credentials.map(|(u, p)| format!("Basic {}", base64(format!("{u}:{p}").as_bytes())));
        let shared = log.clone();
        let echoing: Arc<AtomicBool> = Arc::default();
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (hostile, conns) = (echoing.clone(), open.clone());
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                if let Ok(c) = conn.try_clone() {
                    conns.lock().unwrap().push(c);
                }
                let log = shared.clone();
                let expected = expected.clone();
                let hostile = hostile.clone();
                thread::spawn(move || serve(conn, log, expected, &hostile));
            }
        });
        TestProxy {
            addr,
            log,
            echoing,
            open,
        }
    }

    /// From now on every request is answered 407 quoting its credentials (see
    /// [`echo_refusal`]); open connections are cut, so the client's next request comes here.
    pub fn refuse_and_echo(&self) {
        self.echoing.store(true, Ordering::SeqCst);
        for c in self.open.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }

    /// `http://127.0.0.1:PORT`, with `user:password@` when given.
    pub fn url(&self, credentials: Option<(&str, &str)>) -> String {
        match credentials {
            Some((u, p)) => format!("http://{u}:{p}@{}", self.addr),
            None => format!("http://{}", self.addr),
        }
    }

    pub fn log(&self) -> Vec<ProxyEntry> {
        self.log.lock().unwrap().clone()
    }
}

fn serve(
    client: TcpStream,
    log: Arc<Mutex<Vec<ProxyEntry>>>,
    expected: Option<String>,
    echoing: &AtomicBool,
) {
    let mut reader = BufReader::new(client.try_clone().expect("clone"));
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let end = line == "\r\n";
        head.push(line);
        if end || head.len() > 100 {
            break;
        }
    }
    let mut parts = head[0].split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or_default().to_string(),
        parts.next().unwrap_or_default().to_string(),
    );
    let auth = head.iter().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("proxy-authorization")
            .then(|| v.trim().to_string())
    });
    let authorized = expected
        .as_ref()
        .is_none_or(|e| auth.as_deref() == Some(e.as_str()));
    let mut client = client;
    if echoing.load(Ordering::SeqCst) {
        log.lock().unwrap().push(ProxyEntry {
            method,
            target,
            authorized,
            answered: 407,
        });
        let _ = client.write_all(echo_refusal(auth.as_deref()).as_bytes());
        // Read what is left of the request before closing, so the close is not a reset that
        // could overtake the answer.
        let _ = client.shutdown(Shutdown::Write);
        let _ = client.set_read_timeout(Some(std::time::Duration::from_secs(1)));
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
        return;
    }
    let mut answer = |status: u16, text: &str, entry_target: &str| {
        log.lock().unwrap().push(ProxyEntry {
            method: method.clone(),
            target: entry_target.to_string(),
            authorized,
            answered: status,
        });
        let extra = if status == 407 {
            "Proxy-Authenticate: Basic realm=\"test\"\r\n"
        } else {
            ""
        };
        let _ = client.write_all(
            format!("HTTP/1.1 {status} {text}\r\n{extra}Content-Length: 0\r\n\r\n").as_bytes(),
        );
    };
    if !authorized {
        answer(407, "Proxy Authentication Required", &target);
        return;
    }
    if method.eq_ignore_ascii_case("CONNECT") {
        let Some(upstream) = loopback_target(&target).and_then(|a| TcpStream::connect(a).ok())
        else {
            answer(502, "Bad Gateway", &target);
            return;
        };
        answer(200, "Connection Established", &target);
        let back = upstream.try_clone().expect("clone");
        let to_client = client.try_clone().expect("clone");
        // Bytes the reader already buffered belong to the tunnel.
        let buffered = reader.buffer().to_vec();
        let mut up = upstream;
        if !buffered.is_empty() && up.write_all(&buffered).is_err() {
            return;
        }
        thread::spawn(move || pipe(back, to_client));
        pipe(reader.into_inner(), up);
        return;
    }
    let authority = target
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
        .to_string();
    let Some(upstream) = loopback_target(&authority).and_then(|a| TcpStream::connect(a).ok())
    else {
        answer(502, "Bad Gateway", &target);
        return;
    };
    log.lock().unwrap().push(ProxyEntry {
        method,
        target,
        authorized,
        answered: 0,
    });
    let mut up = upstream;
    let forwarded: String = head
        .iter()
        .filter(|l| !l.to_ascii_lowercase().starts_with("proxy-"))
        .cloned()
        .collect();
    if up.write_all(forwarded.as_bytes()).is_err() || up.write_all(reader.buffer()).is_err() {
        return;
    }
    let back = up.try_clone().expect("clone");
    let to_client = client.try_clone().expect("clone");
    thread::spawn(move || pipe(back, to_client));
    pipe(reader.into_inner(), up);
}
