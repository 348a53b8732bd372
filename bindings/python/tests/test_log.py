"""The library's log records in Python's ``logging``: forwarded to the logger ``ucwa`` (children
named after the library's modules) with their level, time and client, never a secret or (by
default) the user's name; forwarding starts by itself when the host gave the ``ucwa`` logger a
level before making a client; records can also be pulled one by one."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

import ucwa
from conftest import ALICE, ALICE_PASSWORD, FAST_OPTIONS, PYTHON_DIR, Sim


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=1)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured():
    logger = logging.getLogger("ucwa")
    handler = Capture()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        ucwa.stop_forwarding_logging()
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


def test_records_reach_the_ucwa_logger_with_their_client_and_no_secret(
    captured: Capture, sim: Sim
) -> None:
    ucwa.forward_logging()
    with ucwa.Client(sim.url, **FAST_OPTIONS) as c:
        c.sign_in(ALICE, ALICE_PASSWORD)
        c.sign_out()
        mine = c.log_id
    ucwa.stop_forwarding_logging()
    records = [r for r in captured.records if getattr(r, "ucwa_client", None) == mine]
    text = "\n".join(f"{r.levelname} {r.name} {r.getMessage()}" for r in records)
    assert mine != 0
    assert any(r.name == "ucwa.transport.logged" and r.levelno == logging.DEBUG for r in records), text
    assert any(r.levelno == logging.INFO and r.getMessage().startswith("signed in") for r in records), text
    assert ALICE_PASSWORD not in text and "AAEB" not in text and "alice" not in text.lower(), text
    # one exchange record per request the simulator answered
    exchanges = [r for r in records if r.getMessage().split(" ")[0] in ("GET", "POST", "DELETE")]
    assert len(exchanges) >= len([e for e in sim.log() if e["route"] != "events"]), text
    assert all(r.ucwa_target.startswith("ucwa::") for r in records)


def test_records_can_be_pulled_one_by_one_and_levels_are_checked(sim: Sim) -> None:
    with pytest.raises(ucwa.InvalidArgumentError):
        ucwa.set_log_level(6)
    ucwa.set_log_level(ucwa.LogLevel.INFO)
    try:
        with ucwa.Client(sim.url, **FAST_OPTIONS) as c:
            c.sign_in(ALICE, ALICE_PASSWORD)
            mine = c.log_id
    finally:
        ucwa.set_log_level(ucwa.LogLevel.OFF)
    pulled = []
    while (r := ucwa.next_log_record(0)) is not None:
        pulled.append(r)
    assert any(r.client == mine and r.message.startswith("sign-in as ~") for r in pulled), pulled
    assert all(r.level <= ucwa.LogLevel.INFO and r.time > 1.7e9 for r in pulled)
    assert ucwa.log_records_dropped() >= 0


def test_a_level_on_the_ucwa_logger_starts_forwarding_when_a_client_is_made(sim: Sim) -> None:
    # A fresh interpreter: the host only configures logging, as any Python program does.
    script = (
        "import logging, sys, ucwa\n"
        "logging.basicConfig(stream=sys.stdout, format='%(levelname)s %(name)s %(message)s')\n"
        "logging.getLogger('ucwa').setLevel(logging.INFO)\n"
        f"c = ucwa.Client({sim.url!r}, timeout_ms=5000)\n"
        f"c.sign_in({ALICE!r}, {ALICE_PASSWORD!r})\n"
        "c.sign_out(); c.close()\n"
        "ucwa.stop_forwarding_logging()\n"
    )
    env = dict(os.environ, PYTHONPATH=str(PYTHON_DIR))
    env.pop("UCWA_LOG", None)
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "INFO ucwa.session.lifecycle signed in" in out.stdout, out.stdout
    assert "DEBUG" not in out.stdout, "nothing under the logger's level"
    assert "alice" not in out.stdout.lower()
    assert [e["route"] for e in sim.log()].count("applications") == 1
