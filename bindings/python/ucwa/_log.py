"""The library's log records, forwarded into Python's ``logging``.

Owns: the log level of libucwa (``ucwa_log_set_level``), pulling records
(``ucwa_log_next``; no library thread ever runs Python code) and the one daemon thread that
hands them to the ``logging`` logger ``ucwa`` (children named after the library's module,
e.g. ``ucwa.transport``, ``ucwa.session.request``).

How to turn it on (either one):

- give the logger ``ucwa`` a level before the first ``ucwa.Client`` is made, e.g.
  ``logging.getLogger("ucwa").setLevel(logging.DEBUG)``: the client starts forwarding at that
  level;
- call ``ucwa.forward_logging()`` (optionally with a level) at any time.

Records never hold a secret; user names and SIP URIs appear as pseudonyms (``~1a2b3c``)
unless ``ucwa.show_identity(True)`` (or ``UCWA_LOG_IDENTITY=1``). Each ``logging`` record
carries ``ucwa_client`` (the client's handle value, see ``Client.log_id``) and
``ucwa_target``. Independently, ``UCWA_LOG=debug`` in the environment makes the library write
its own readable log to stderr (or ``UCWA_LOG_FILE``) without any Python code.
"""

from __future__ import annotations

import enum
import logging
import threading
from ctypes import byref
from dataclasses import dataclass
from typing import Optional, Union

from . import _ffi
from ._ffi import lib

#: ``logging`` has no level under DEBUG; the library's TRACE records use this one.
TRACE = 5
logging.addLevelName(TRACE, "TRACE")


class LogLevel(enum.IntEnum):
    """``ucwa_log_level``: how severe a record is, and the level set with ``set_log_level``."""

    OFF = 0
    ERROR = 1
    WARN = 2
    INFO = 3
    DEBUG = 4
    TRACE = 5

    def to_logging(self) -> int:
        """The ``logging`` level of records of this level."""
        return {
            LogLevel.OFF: logging.CRITICAL + 10,
            LogLevel.ERROR: logging.ERROR,
            LogLevel.WARN: logging.WARNING,
            LogLevel.INFO: logging.INFO,
            LogLevel.DEBUG: logging.DEBUG,
            LogLevel.TRACE: TRACE,
        }[self]

    @staticmethod
    def from_logging(level: int) -> "LogLevel":
        """The library level that gives every record a logger at ``level`` would let through."""
        if level <= TRACE:
            return LogLevel.TRACE
        if level <= logging.DEBUG:
            return LogLevel.DEBUG
        if level <= logging.INFO:
            return LogLevel.INFO
        if level <= logging.WARNING:
            return LogLevel.WARN
        if level <= logging.ERROR:
            return LogLevel.ERROR
        return LogLevel.OFF


@dataclass(frozen=True)
class LogRecord:
    """One record of libucwa, as ``next_log_record`` returns it."""

    level: LogLevel
    #: Seconds since the epoch (UTC), like ``time.time()``.
    time: float
    #: The library module that made it, e.g. ``"ucwa::transport"``.
    target: str
    #: The client's handle value (``Client.log_id``); 0 for records of no client.
    client: int
    message: str


def set_log_level(level: Union[LogLevel, int]) -> None:
    """Sets which records the library keeps for ``next_log_record`` (``LogLevel.OFF``: none)."""
    _ffi.call(lib.ucwa_log_set_level, int(level))


def show_identity(show: bool) -> None:
    """Shows user names and SIP URIs in records instead of stable pseudonyms (off by default)."""
    lib.ucwa_log_show_identity(1 if show else 0)


def log_records_dropped() -> int:
    """How many records the library dropped (its buffer holds 4096) since the process started."""
    return int(lib.ucwa_log_dropped())


def next_log_record(timeout: float = 0.0) -> Optional[LogRecord]:
    """The next record, waiting up to ``timeout`` seconds; ``None`` when none came."""
    ms = max(0, min(int(timeout * 1000), 0xFFFF_FFFF))
    handle = _ffi.LogRecordP()
    _ffi.call(lib.ucwa_log_next, ms, byref(handle))
    if not handle:
        return None
    try:
        return LogRecord(
            level=LogLevel(lib.ucwa_log_record_level(handle)),
            time=lib.ucwa_log_record_time_ms(handle) / 1000.0,
            target=_ffi.borrowed_str(lib.ucwa_log_record_target(handle)) or "",
            client=int(lib.ucwa_log_record_client(handle)),
            message=_ffi.borrowed_str(lib.ucwa_log_record_message(handle)) or "",
        )
    finally:
        lib.ucwa_log_record_free(handle)


def emit(record: LogRecord) -> None:
    """Hands one record to ``logging``: logger ``ucwa.<module>``, its level and time."""
    name = record.target.replace("::", ".") or "ucwa"
    logger = logging.getLogger(name)
    level = record.level.to_logging()
    if not logger.isEnabledFor(level):
        return
    rec = logger.makeRecord(
        name,
        level,
        "(libucwa)",
        0,
        record.message,
        None,
        None,
        extra={"ucwa_client": record.client, "ucwa_target": record.target},
    )
    rec.created = record.time
    rec.msecs = (record.time - int(record.time)) * 1000
    logger.handle(rec)


class _Forwarder:
    """The one daemon thread that pulls records and emits them (started once, stoppable)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._stop = threading.Event()

    def start(self, level: LogLevel) -> None:
        set_log_level(level)
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="ucwa-log", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        set_log_level(LogLevel.OFF)
        self._stop.set()
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        # What was kept before the level went off still reaches logging.
        while (r := next_log_record(0)) is not None:
            emit(r)

    def _run(self) -> None:
        while not self._stop.is_set():
            r = next_log_record(0.2)
            if r is not None:
                emit(r)


_forwarder = _Forwarder()


def forward_logging(level: Union[LogLevel, int, None] = None) -> None:
    """Forwards the library's records into ``logging`` (logger ``ucwa``) from a daemon thread.

    ``level`` is a ``LogLevel``; ``None`` takes the effective level of the logger ``ucwa``
    (``logging.WARNING`` when nothing was configured). Calling it again changes the level.
    """
    if level is None:
        level = LogLevel.from_logging(logging.getLogger("ucwa").getEffectiveLevel())
    _forwarder.start(LogLevel(int(level)))


def stop_forwarding_logging() -> None:
    """Stops the forwarding thread and sets the library's level to OFF; the records already
    kept are emitted first."""
    _forwarder.stop()


def forward_if_configured() -> None:
    """Called when a ``Client`` is made: forwarding starts when the logger ``ucwa`` has a level
    of its own (the host configured it)."""
    logger = logging.getLogger("ucwa")
    if logger.level != logging.NOTSET and _forwarder._thread is None:
        forward_logging(LogLevel.from_logging(logger.level))
