"""Every UcwaError subclass that can be provoked from outside, with what the simulator saw.

InternalError needs a panic inside the library, which no input can cause by design; its
mapping is covered by the status-to-class test at the end."""

from __future__ import annotations

import json
import pickle
import socket
import time
from pathlib import Path

import pytest

import ucwa
from conftest import ALICE, ALICE_PASSWORD, FAST_OPTIONS, Sim


def test_wrong_password_raises_authentication_error_without_the_password(
    client: ucwa.Client, sim: Sim
) -> None:
    secret = "wrong-Pa55word-xyzzy"
    with pytest.raises(ucwa.AuthenticationError) as info:
        client.sign_in(ALICE, secret)
    e = info.value
    assert e.status == ucwa.Status.AUTHENTICATION
    assert secret not in str(e) and secret not in repr(e) and secret not in e.message
    # the token endpoint refused it and no application was created
    tokens = sim.requests("token", "POST")
    assert tokens and all(t["status"] >= 400 for t in tokens)
    assert sim.requests("applications") == []
    assert sim.user(ALICE)["applications"] == []


def test_set_before_make_me_available_raises_invalid_state_and_sends_nothing(
    client: ucwa.Client, sim: Sim
) -> None:
    client.sign_in(ALICE, ALICE_PASSWORD)
    with pytest.raises(ucwa.InvalidStateError) as info:
        client.set_availability(ucwa.Availability.BUSY)
    assert info.value.status == ucwa.Status.INVALID_STATE
    assert info.value.http_status is None
    assert sim.requests("presence") == []
    assert sim.requests("makeMeAvailable") == []


def test_presence_before_sign_in_raises_invalid_state(client: ucwa.Client, sim: Sim) -> None:
    with pytest.raises(ucwa.InvalidStateError):
        client.get_presence()
    with pytest.raises(ucwa.InvalidStateError):
        client.sign_out()
    assert sim.log() == []


@pytest.mark.parametrize(
    "value",
    [
        ucwa.Availability.UNSPECIFIED,
        ucwa.Availability.IDLE_ONLINE,
        ucwa.Availability.OFFLINE,
        ucwa.Availability.UNKNOWN,
        11,
        2**32 - 1,
        2**32 + 2,  # would wrap to BUSY in a uint32_t
        -1,
    ],
)
def test_invalid_availability_raises_invalid_argument_and_sends_nothing(
    available: ucwa.Client, sim: Sim, value: int
) -> None:
    before = len(sim.log())
    with pytest.raises(ucwa.InvalidArgumentError) as info:
        available.set_availability(value)
    assert isinstance(info.value, ValueError)
    assert info.value.status == ucwa.Status.INVALID_ARGUMENT
    assert sim.requests("presence", "POST") == []
    assert [e for e in sim.log()[before:] if e["route"] != "events"] == []


def test_availability_of_the_wrong_type_raises_type_error(available: ucwa.Client) -> None:
    with pytest.raises(TypeError):
        available.set_availability("Busy")  # type: ignore[arg-type]


def test_read_only_availability_for_make_me_available_is_refused_before_sending(
    client: ucwa.Client, sim: Sim
) -> None:
    client.sign_in(ALICE, ALICE_PASSWORD)
    with pytest.raises(ucwa.InvalidArgumentError):
        client.make_me_available(ucwa.Availability.IDLE_BUSY)
    assert sim.requests("makeMeAvailable") == []


def test_server_409_carries_http_status_code_and_subcode(available: ucwa.Client, sim: Sim) -> None:
    sim.respond(
        "presence",
        409,
        {"code": "Conflict", "subcode": "AlreadyExists", "message": "the simulator says no"},
    )
    with pytest.raises(ucwa.ServerError) as info:
        available.set_availability(ucwa.Availability.BUSY)
    e = info.value
    assert (e.status, e.http_status, e.code, e.subcode) == (
        ucwa.Status.SERVER,
        409,
        "Conflict",
        "AlreadyExists",
    )
    assert "409" in str(e)
    posts = sim.requests("presence", "POST")
    assert [p["status"] for p in posts] == [409]
    # the fault is spent: the next call goes through
    available.set_availability(ucwa.Availability.BUSY)
    assert sim.user(ALICE)["availability"] == "Busy"


def test_503_with_retry_after_is_waited_for_and_retried(available: ucwa.Client, sim: Sim) -> None:
    sim.respond("presence", 503, "", headers=[["Retry-After", "1"]])
    started = time.monotonic()
    available.set_availability(ucwa.Availability.BUSY)
    elapsed = time.monotonic() - started
    assert elapsed >= 0.9, f"Retry-After: 1 was not honoured ({elapsed:.2f}s)"
    assert [p["status"] for p in sim.requests("presence", "POST")] == [503, 204]
    assert sim.user(ALICE)["availability"] == "Busy"


def test_503_with_retry_after_beyond_the_limit_raises_server_error(
    available: ucwa.Client, sim: Sim
) -> None:
    available.set_option("retry_after_max_s", 1)
    sim.respond("presence", 503, "", headers=[["Retry-After", "120"]], count=5)
    started = time.monotonic()
    with pytest.raises(ucwa.ServerError) as info:
        available.set_availability(ucwa.Availability.BUSY)
    assert info.value.http_status == 503
    assert time.monotonic() - started < 10
    assert sim.user(ALICE)["availability"] != "Busy"


def test_unknown_option_raises_invalid_argument(sim: Sim) -> None:
    with pytest.raises(ucwa.InvalidArgumentError) as info:
        ucwa.Client(sim.url, no_such_option=1)
    assert "no_such_option" in str(info.value)
    with ucwa.Client(sim.url) as c:
        with pytest.raises(ucwa.InvalidArgumentError):
            c.set_option("colour", "blue")
        with pytest.raises(ucwa.InvalidArgumentError):
            c.set_option("timeout_ms", 0)  # out of range value
        with pytest.raises(ucwa.InvalidArgumentError):
            c.set_option("modalities", ["Telepathy"])
    assert sim.log() == []


def test_plain_http_off_loopback_raises_insecure_error() -> None:
    with pytest.raises(ucwa.InsecureError) as info:
        ucwa.Client("http://lyncdiscover.contoso.com/")
    assert info.value.status == ucwa.Status.INSECURE


def test_not_a_url_raises_invalid_argument() -> None:
    with pytest.raises(ucwa.InvalidArgumentError):
        ucwa.Client("")
    with pytest.raises(ucwa.InvalidArgumentError):
        ucwa.Client("http://127.0.0.1/\0evil")


def test_refused_connection_raises_network_error() -> None:
    # a port that was free a moment ago: nothing listens there
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with ucwa.Client(f"http://127.0.0.1:{port}/", timeout_ms=2000) as c:
        with pytest.raises(ucwa.NetworkError) as info:
            c.sign_in(ALICE, ALICE_PASSWORD)
    assert isinstance(info.value, ConnectionError)
    assert info.value.http_status is None


def test_slow_server_raises_ucwa_timeout_error(sim: Sim) -> None:
    sim.fault("discovery", {"Delay": {"ms": 3000}}, count=5)
    with ucwa.Client(sim.url, timeout_ms=300) as c:
        started = time.monotonic()
        with pytest.raises(ucwa.UcwaTimeoutError) as info:
            c.sign_in(ALICE, ALICE_PASSWORD)
    assert isinstance(info.value, TimeoutError)
    assert time.monotonic() - started < 2.5
    assert sim.requests("applications") == []


def test_html_instead_of_json_raises_protocol_error(sim: Sim) -> None:
    sim.respond(
        "discovery", 200, "<html><body>Sign in page</body></html>",
        headers=[["Content-Type", "text/html"]], count=5,
    )
    with ucwa.Client(sim.url, **FAST_OPTIONS) as c:
        with pytest.raises(ucwa.ProtocolError):
            c.sign_in(ALICE, ALICE_PASSWORD)
    assert sim.requests("token") == []


@pytest.mark.sim_args("--tls")
def test_untrusted_certificate_raises_tls_error(sim: Sim) -> None:
    assert sim.url.startswith("https://")
    with ucwa.Client(sim.url, **FAST_OPTIONS) as c:
        with pytest.raises(ucwa.TlsError):
            c.sign_in(ALICE, ALICE_PASSWORD)
    assert sim.requests("token") == []


def test_trusted_ca_file_lets_tls_sign_in_succeed(tmp_path: Path) -> None:
    # A separate simulator: the CA file path must be known before it starts.
    from conftest import start_sim, stop_sim

    ca = tmp_path / "ca.pem"
    s = start_sim(tmp_path, ["--tls", "--ca-out", str(ca)])
    try:
        with ucwa.Client(s.url, **FAST_OPTIONS, ca_file=ca) as c:
            c.sign_in(ALICE, ALICE_PASSWORD)
            c.make_me_available()
            c.set_availability(ucwa.Availability.BE_RIGHT_BACK)
            assert s.user(ALICE)["availability"] == "BeRightBack"
        # leaving the block signed out: the application is gone
        assert s.user(ALICE)["applications"] == []
    finally:
        stop_sim(s)


def test_closed_client_raises_invalid_handle_error(client: ucwa.Client) -> None:
    client.close()
    with pytest.raises(ucwa.InvalidHandleError) as info:
        client.sign_in(ALICE, ALICE_PASSWORD)
    assert info.value.status == ucwa.Status.INVALID_HANDLE


def test_every_status_maps_to_its_own_subclass_and_survives_pickling() -> None:
    from ucwa._errors import error_class_for

    classes = {}
    for status in ucwa.Status:
        if status == ucwa.Status.OK:
            continue
        cls = error_class_for(status)
        assert issubclass(cls, ucwa.UcwaError) and cls is not ucwa.UcwaError
        assert cls.STATUS == status
        classes[status] = cls
    assert len(set(classes.values())) == 11
    assert classes[ucwa.Status.INTERNAL] is ucwa.InternalError
    assert error_class_for(99) is ucwa.UcwaError

    e = ucwa.ServerError("x", http_status=409, code="Conflict", subcode="AlreadyExists")
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is ucwa.ServerError
    assert (back.status, back.http_status, back.code, back.subcode, str(back)) == (
        ucwa.Status.SERVER, 409, "Conflict", "AlreadyExists", "x",
    )
    # builtin names are not shadowed
    import builtins

    assert builtins.TimeoutError is not ucwa.UcwaTimeoutError
    assert not hasattr(ucwa, "TimeoutError")


def test_server_error_without_a_ucwa_body_has_no_code_or_subcode(available: ucwa.Client, sim: Sim) -> None:
    sim.respond("note", 500, "", count=5)
    with pytest.raises(ucwa.ServerError) as info:
        available.set_note("x")
    assert info.value.http_status == 500
    assert info.value.code is None and info.value.subcode is None
    # a plain 500 is not retried within the call (only 503 with Retry-After is); the note stays
    # the host's choice, which the keep-alive sends again later at its backoff pace (bounded)
    statuses = [e["status"] for e in sim.requests("note", "POST")]
    assert statuses[0] == 500 and len(statuses) <= 2, statuses
    assert sim.user(ALICE)["note"] != "x"
