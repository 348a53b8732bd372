//! The library's diagnostics: levels, the `ucwa_log!` macro every log site uses, and where a
//! record goes — a Rust host's own `tracing` subscriber, the `UCWA_LOG` writer (stderr or
//! `UCWA_LOG_FILE`), and the bounded buffer a host pulls through the C ABI (`buffer`).
//!
//! Off costs one relaxed atomic load and `tracing`'s own level check per site: nothing is
//! formatted unless some destination wants the record. Every message is built by the site,
//! then passed once through the client's scrubber (`redact::Secrets::redact`): secrets out,
//! identity pseudonymized unless shown; no site filters on its own.
//!
//! No global `tracing` subscriber is ever installed: a Rust host keeps its own. The zero-code
//! switch (`UCWA_LOG`, `UCWA_LOG_FILE`, `UCWA_LOG_IDENTITY`) is read once, when the first
//! client is created ([`init_from_env`]).

mod buffer;
mod writer;
/// The one way the library writes a time (log records, transcript lines).
pub(crate) use writer::timestamp;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Once;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use buffer::{dropped, next, set_level, Record};

/// How severe a record is; `Off` only as a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Level {
    Off = 0,
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
    Trace = 5,
}

impl Level {
    /// The level numbered `n` (0 = off .. 5 = trace), as the C ABI passes it.
    pub fn from_number(n: u32) -> Option<Level> {
        Some(match n {
            0 => Level::Off,
            1 => Level::Error,
            2 => Level::Warn,
            3 => Level::Info,
            4 => Level::Debug,
            5 => Level::Trace,
            _ => return None,
        })
    }

    /// The level a `UCWA_LOG` value names (case-insensitive; `off`, `0` and empty are off).
    pub fn parse(text: &str) -> Option<Level> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "" | "off" | "0" | "none" => Level::Off,
            "error" => Level::Error,
            "warn" | "warning" => Level::Warn,
            "info" => Level::Info,
            "debug" => Level::Debug,
            "trace" => Level::Trace,
            _ => return None,
        })
    }

    /// Upper-case name, as the readable log writes it.
    pub fn name(self) -> &'static str {
        match self {
            Level::Off => "OFF",
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }
}

/// The most verbose level any of the library's own destinations (writer, buffer) wants: the
/// one check every site makes before anything is formatted.
static MAX: AtomicU8 = AtomicU8::new(0);
/// The writer's and the buffer's own levels; `MAX` is their maximum.
static WRITER_LEVEL: AtomicU8 = AtomicU8::new(0);
static BUFFER_LEVEL: AtomicU8 = AtomicU8::new(0);

fn update_max() {
    let m = WRITER_LEVEL
        .load(Ordering::Relaxed)
        .max(BUFFER_LEVEL.load(Ordering::Relaxed));
    MAX.store(m, Ordering::Relaxed);
}

/// Whether the writer or the buffer takes records of `level` (the cheap check of every site).
#[inline]
pub fn enabled(level: Level) -> bool {
    level as u8 <= MAX.load(Ordering::Relaxed)
}

/// Shows user names and SIP URIs in records (and in any text the scrubber redacts) instead of
/// stable pseudonyms. Off unless the host opts in (`UCWA_LOG_IDENTITY=1` or this call).
pub fn show_identity(show: bool) {
    crate::redact::set_identity_shown(show);
}

/// Whether identity is shown (see [`show_identity`]).
pub fn identity_shown() -> bool {
    crate::redact::identity_shown()
}

/// Milliseconds since the Unix epoch, as records carry their time.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as u64
}

/// Reads `UCWA_LOG`, `UCWA_LOG_FILE` and `UCWA_LOG_IDENTITY` once per process. A value that
/// is not understood is said once on stderr (that user asked for output) and logging stays
/// as it was; without `UCWA_LOG` nothing is ever written anywhere.
pub(crate) fn init_from_env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var("UCWA_LOG_IDENTITY").is_ok_and(|v| v.trim() == "1") {
            show_identity(true);
        }
        let Some(value) = std::env::var_os("UCWA_LOG") else {
            return;
        };
        let value = value.to_string_lossy();
        let Some(level) = Level::parse(&value) else {
            writer::say(&format!(
                "ucwa: UCWA_LOG={value:?} is not one of error, warn, info, debug, trace or off; \
                 logging stays off"
            ));
            return;
        };
        if level == Level::Off {
            return;
        }
        writer::open(std::env::var_os("UCWA_LOG_FILE").as_deref());
        WRITER_LEVEL.store(level as u8, Ordering::Relaxed);
        update_max();
    });
}

/// Hands one finished (already redacted) record to the library's own destinations that want
/// its level. `tracing` got it at the site.
pub(crate) fn dispatch(level: Level, target: &'static str, client: u64, mut message: String) {
    if message.contains(['\n', '\r']) {
        message = message.replace(['\n', '\r'], " ");
    }
    let record = Record {
        level,
        time_ms: now_ms(),
        target,
        client,
        message,
    };
    if level as u8 <= WRITER_LEVEL.load(Ordering::Relaxed) {
        writer::write(&record);
    }
    if level as u8 <= BUFFER_LEVEL.load(Ordering::Relaxed) {
        buffer::push(record);
    }
}

/// The `tracing` level of a record level (a const fn, so a site's static callsite can use it).
#[doc(hidden)]
pub const fn tracing_level(level: Level) -> tracing::Level {
    match level {
        Level::Off | Level::Error => tracing::Level::ERROR,
        Level::Warn => tracing::Level::WARN,
        Level::Info => tracing::Level::INFO,
        Level::Debug => tracing::Level::DEBUG,
        Level::Trace => tracing::Level::TRACE,
    }
}

/// One log record: `ucwa_log!(Level, secrets, "format", args…)`, where `secrets` is the
/// client's `redact::Secrets` (its scrubber and its id). Nothing is formatted unless a
/// destination wants the level; the message then goes through the scrubber once, and reaches
/// `tracing` (field `client`), the `UCWA_LOG` writer and the pull buffer.
macro_rules! ucwa_log {
    ($lvl:ident, $secrets:expr, $($arg:tt)+) => {{
        let own = $crate::log::enabled($crate::log::Level::$lvl);
        let traced = ::tracing::enabled!($crate::log::tracing_level($crate::log::Level::$lvl));
        if own || traced {
            let secrets: &$crate::redact::Secrets = $secrets;
            let client = secrets.log_id();
            let message = secrets.redact(&::std::format!($($arg)+));
            if traced {
                ::tracing::event!($crate::log::tracing_level($crate::log::Level::$lvl), client, "{}", message);
            }
            if own {
                $crate::log::dispatch($crate::log::Level::$lvl, module_path!(), client, message);
            }
        }
    }};
}
pub(crate) use ucwa_log;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_values_are_read_case_insensitively_and_nonsense_is_refused() {
        assert_eq!(Level::parse("DEBUG"), Some(Level::Debug));
        assert_eq!(Level::parse(" trace "), Some(Level::Trace));
        assert_eq!(Level::parse(""), Some(Level::Off));
        assert_eq!(Level::parse("verbose"), None);
        assert_eq!(Level::from_number(6), None);
        assert_eq!(Level::from_number(3), Some(Level::Info));
    }
}
