//! The readable log of the zero-code switch: one record a line, to stderr or to the file
//! `UCWA_LOG_FILE` names (appended to), written by the thread that made the record.

use std::fs::File;
use std::io::Write;
use std::sync::Mutex;

use super::buffer::{bounded, Record};

/// Where lines go; `None` (no file) is stderr.
static SINK: Mutex<Option<File>> = Mutex::new(None);

/// Chooses the destination: the file at `path` when given and openable, else stderr (said
/// once, with why, so a typo in the path does not lose the log silently).
pub(super) fn open(path: Option<&std::ffi::OsStr>) {
    let Some(path) = path.filter(|p| !p.is_empty()) else {
        return;
    };
    match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        Ok(f) => *SINK.lock().unwrap_or_else(|p| p.into_inner()) = Some(f),
        Err(e) => say(&format!(
            "ucwa: cannot open UCWA_LOG_FILE={:?} ({e}); logging to stderr instead",
            path.to_string_lossy()
        )),
    }
}

/// One line to stderr, for what the switch itself has to say.
pub(super) fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// `2026-12-07T05:36:23.123Z` for milliseconds since the epoch (UTC, proleptic Gregorian).
pub(crate) fn timestamp(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        ms % 1000
    )
}

/// Writes one record as one line; a write that fails is dropped (logging never fails a call).
pub(super) fn write(record: &Record) {
    let message = bounded(record.message.replace(['\n', '\r'], " "));
    let line = format!(
        "{} {:<5} {} client={}: {}\n",
        timestamp(record.time_ms),
        record.level.name(),
        record.target,
        record.client,
        message
    );
    let mut sink = SINK.lock().unwrap_or_else(|p| p.into_inner());
    let _ = match sink.as_mut() {
        Some(f) => f.write_all(line.as_bytes()),
        None => std::io::stderr().lock().write_all(line.as_bytes()),
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_are_utc_iso_8601_with_milliseconds() {
        assert_eq!(super::timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            super::timestamp(1_796_621_783_123),
            "2026-12-07T05:36:23.123Z"
        );
        assert_eq!(
            super::timestamp(951_782_400_000),
            "2000-02-29T00:00:00.000Z"
        );
    }
}
