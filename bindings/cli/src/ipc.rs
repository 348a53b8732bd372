//! The service's local control channel: a Unix domain socket (mode 0600 in a directory of mode
//! 0700 owned by the user; every peer's uid checked with SO_PEERCRED, another user refused),
//! carrying one JSON request a line and one JSON answer a line. Requests are bounded in size,
//! connections in number and in idle time, so no client can hurt the service. On Windows there
//! is no service (see `serve`), so commands always act directly.

use std::path::{Path, PathBuf};

/// Longest request line accepted; longer ones get an error answer and the connection closes.
pub const MAX_REQUEST_BYTES: u64 = 64 * 1024;

/// The control socket's path: `--socket`, else `UCWA_SOCKET`, else
/// `$XDG_RUNTIME_DIR/ucwa/control.sock`, else `/tmp/ucwa-UID/control.sock`.
pub fn socket_path(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("UCWA_SOCKET").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|p| !p.is_empty()) {
        return PathBuf::from(d).join("ucwa").join("control.sock");
    }
    #[cfg(unix)]
    let dir = format!("ucwa-{}", crate::sys::euid());
    #[cfg(not(unix))]
    let dir = "ucwa".to_string();
    std::env::temp_dir().join(dir).join("control.sock")
}

#[cfg(unix)]
pub use unix::{ask, ask_stream, Handler, Listener, Reply};

#[cfg(unix)]
mod unix {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use serde_json::{json, Value};

    use super::MAX_REQUEST_BYTES;
    use crate::ops::Request;

    /// Connections served at once; more are answered with an error and closed.
    const MAX_CONNECTIONS: usize = 32;
    /// A connection idle this long between requests is closed.
    const IDLE: Duration = Duration::from_secs(30);
    /// How long a command waits for the service's answer (a call is bounded by the library
    /// at four times its 30 s exchange timeout).
    const ANSWER_WAIT: Duration = Duration::from_secs(150);

    /// What the service answers a request: one line, or a stream of lines (`watch`) that
    /// lasts until the sender goes or the client stops reading.
    pub enum Reply {
        One(Value),
        Stream(std::sync::mpsc::Receiver<Value>),
    }

    pub type Handler = Arc<dyn Fn(Request) -> Reply + Send + Sync>;

    /// The bound socket; its file is removed when this is dropped.
    pub struct Listener {
        listener: UnixListener,
        path: PathBuf,
    }

    impl Drop for Listener {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// The socket's directory: created 0700, or an existing one that is ours and not open to
    /// others (refused otherwise, as ssh refuses a loose ~/.ssh).
    fn private_dir(dir: &Path) -> Result<(), String> {
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| format!("control socket directory {}: {e}", dir.display()))?;
        }
        let meta = std::fs::metadata(dir)
            .map_err(|e| format!("control socket directory {}: {e}", dir.display()))?;
        if meta.uid() != crate::sys::euid() || meta.mode() & 0o077 != 0 {
            return Err(format!(
                "control socket directory {} must be yours and mode 0700 (it is uid {} mode {:o}): refused",
                dir.display(),
                meta.uid(),
                meta.mode() & 0o777
            ));
        }
        Ok(())
    }

    impl Listener {
        /// Binds the socket (0600) at `path`; refuses when a service already answers there.
        pub fn bind(path: &Path) -> Result<Listener, String> {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                private_dir(dir)?;
            }
            if path.exists() {
                if UnixStream::connect(path).is_ok() {
                    return Err(format!(
                        "another ucwa service is running on {}",
                        path.display()
                    ));
                }
                std::fs::remove_file(path)
                    .map_err(|e| format!("stale control socket {}: {e}", path.display()))?;
            }
            let listener = UnixListener::bind(path)
                .map_err(|e| format!("control socket {}: {e}", path.display()))?;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| format!("control socket {}: {e}", path.display()))?;
            Ok(Listener {
                listener,
                path: path.to_path_buf(),
            })
        }

        /// Serves connections forever on this thread, each on a thread of its own.
        pub fn serve(&self, handler: Handler) {
            let open = Arc::new(AtomicUsize::new(0));
            for conn in self.listener.incoming() {
                let Ok(mut stream) = conn else { continue };
                if open.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                    let _ = answer(&mut stream, &error("too many connections; try again"));
                    continue;
                }
                open.fetch_add(1, Ordering::SeqCst);
                let (h, o) = (handler.clone(), open.clone());
                let spawned = std::thread::Builder::new()
                    .name("ucwa-control".into())
                    .spawn(move || {
                        serve_connection(stream, &h);
                        o.fetch_sub(1, Ordering::SeqCst);
                    });
                if spawned.is_err() {
                    open.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
    }

    fn error(msg: &str) -> Value {
        json!({"ok": false, "error": msg})
    }

    fn answer(stream: &mut UnixStream, v: &Value) -> std::io::Result<()> {
        let mut line = v.to_string();
        line.push('\n');
        stream.write_all(line.as_bytes())
    }

    /// Whether the peer is this user; another uid is refused.
    pub fn peer_allowed(stream: &UnixStream) -> Result<(), String> {
        let peer = crate::sys::peer_uid(stream.as_raw_fd())
            .map_err(|e| format!("cannot tell who is connecting: {e}"))?;
        let me = crate::sys::euid();
        if peer != me {
            return Err(format!(
                "refused: the service runs as uid {me} and takes requests from that user only (you are uid {peer})"
            ));
        }
        Ok(())
    }

    fn serve_connection(mut stream: UnixStream, handler: &Handler) {
        if let Err(why) = peer_allowed(&stream) {
            let _ = answer(&mut stream, &error(&why));
            return;
        }
        let _ = stream.set_read_timeout(Some(IDLE));
        let _ = stream.set_write_timeout(Some(IDLE));
        let Ok(read_half) = stream.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(read_half);
        loop {
            let mut buf = Vec::new();
            let n = match (&mut reader)
                .take(MAX_REQUEST_BYTES + 1)
                .read_until(b'\n', &mut buf)
            {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if n as u64 > MAX_REQUEST_BYTES {
                let _ = answer(
                    &mut stream,
                    &error(&format!(
                        "request larger than {MAX_REQUEST_BYTES} bytes: refused"
                    )),
                );
                return;
            }
            let reply = match serde_json::from_slice::<Request>(&buf) {
                Ok(req) => handler(req),
                Err(e) => Reply::One(error(&format!("malformed request: {e}"))),
            };
            match reply {
                Reply::One(v) => {
                    if answer(&mut stream, &v).is_err() {
                        return;
                    }
                }
                Reply::Stream(rx) => {
                    for v in rx {
                        if answer(&mut stream, &v).is_err() {
                            return;
                        }
                    }
                    return;
                }
            }
        }
    }

    /// Sends `watch` to the service at `path` and hands each line to `each` until the service
    /// ends the stream or `each` says stop. `Ok(false)`: no service answers there.
    pub fn ask_stream(
        path: &Path,
        req: &Request,
        mut each: impl FnMut(Value) -> Result<bool, String>,
    ) -> Result<bool, String> {
        let mut stream = match UnixStream::connect(path) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Ok(false),
            Err(e) => return Err(format!("control socket {}: {e}", path.display())),
        };
        let mut line = serde_json::to_string(req).map_err(|e| e.to_string())?;
        line.push('\n');
        stream
            .write_all(line.as_bytes())
            .map_err(|e| format!("control socket {}: {e}", path.display()))?;
        for l in BufReader::new(&stream).lines() {
            let l = l.map_err(|e| format!("control socket {}: {e}", path.display()))?;
            let v: Value = serde_json::from_str(&l)
                .map_err(|_| format!("the service on {} sent a bad line", path.display()))?;
            if v.get("ok") == Some(&Value::Bool(false)) {
                return Err(v["error"].as_str().unwrap_or("refused").to_string());
            }
            if each(v)? {
                break;
            }
        }
        Ok(true)
    }

    /// Sends one request to the service at `path`. `Ok(None)`: no service answers there (so
    /// the command acts directly); `Err`: a service is there but the exchange failed.
    pub fn ask(path: &Path, req: &Request) -> Result<Option<Value>, String> {
        use std::io::ErrorKind;
        let mut stream = match UnixStream::connect(path) {
            Ok(s) => s,
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) => {
                return Ok(None)
            }
            Err(e) => return Err(format!("control socket {}: {e}", path.display())),
        };
        let _ = stream.set_read_timeout(Some(ANSWER_WAIT));
        let mut line = serde_json::to_string(req).map_err(|e| e.to_string())?;
        line.push('\n');
        // A service that refuses (another user) answers and closes before reading: the write
        // may fail, and its answer is still the one to show.
        let written = stream.write_all(line.as_bytes());
        let mut buf = Vec::new();
        let read = BufReader::new(&stream)
            .take(16 * 1024 * 1024)
            .read_until(b'\n', &mut buf);
        if let Ok(v) = serde_json::from_slice(&buf) {
            return Ok(Some(v));
        }
        let e = written
            .err()
            .or(read.err())
            .map_or("no answer".to_string(), |e| e.to_string());
        Err(format!("control socket {}: {e}", path.display()))
    }
}

/// Without Unix sockets no service answers: commands act directly.
#[cfg(not(unix))]
pub fn ask_stream(
    _path: &Path,
    _req: &crate::ops::Request,
    _each: impl FnMut(serde_json::Value) -> Result<bool, String>,
) -> Result<bool, String> {
    Ok(false)
}

#[cfg(not(unix))]
pub fn ask(_path: &Path, _req: &crate::ops::Request) -> Result<Option<serde_json::Value>, String> {
    Ok(None)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::net::UnixStream;
    use std::sync::Arc;

    #[test]
    fn the_socket_is_0600_in_a_0700_dir_and_answers_its_own_user_and_malformed_lines() {
        let dir = std::env::temp_dir().join(format!("ucwa-ipc-{}", std::process::id()));
        let path = dir.join("sub").join("c.sock");
        let l = Listener::bind(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        assert_eq!(
            std::fs::metadata(path.parent().unwrap()).unwrap().mode() & 0o777,
            0o700
        );
        // The peer check itself: this process is its own peer, the same uid, so allowed.
        let (a, _b) = UnixStream::pair().unwrap();
        assert!(unix::peer_allowed(&a).is_ok());
        assert_eq!(
            crate::sys::peer_uid(std::os::fd::AsRawFd::as_raw_fd(&a)).unwrap(),
            crate::sys::euid()
        );
        std::thread::spawn(move || {
            l.serve(Arc::new(|_| {
                unix::Reply::One(serde_json::json!({"ok": true}))
            }))
        });
        let mut s = UnixStream::connect(&path).unwrap();
        s.write_all(b"{not json\n{\"op\":\"status\"}\n").unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert!(line.contains("malformed request"), "{line}");
        line.clear();
        r.read_line(&mut line).unwrap();
        assert!(line.contains("\"ok\":true"), "{line}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_loose_socket_directory_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("ucwa-ipc-loose-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = Listener::bind(&dir.join("c.sock")).err().unwrap();
        assert!(err.contains("0700"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
