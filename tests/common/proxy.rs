//! A small HTTP proxy for the tests: `CONNECT host:port` tunnels and absolute-form requests
//! (`GET http://host:port/path`), optionally behind Basic `Proxy-Authorization`, recording the
//! first request of every connection. Loopback only; it refuses to reach anything else (502),
//! so a test can see where a client wanted to go without any traffic leaving the machine.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
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
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let log = shared.clone();
                let expected = expected.clone();
                thread::spawn(move || serve(conn, log, expected));
            }
        });
        TestProxy { addr, log }
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

fn serve(client: TcpStream, log: Arc<Mutex<Vec<ProxyEntry>>>, expected: Option<String>) {
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
