"""The ``proxy`` option through the binding, against ucwa-sim and its forward proxy: an
explicit ``http://`` proxy carries every request in absolute form, with Basic credentials when
given (never repeated in an error); to an ``https://`` simulator (``--tls``) every connection
is a ``CONNECT`` tunnel, the Windows grant's dedicated connection included; ``none`` and the
default go direct to loopback; bad values are refused without being repeated. What the proxy
saw (``sim.proxy_log()``) and what the simulator saw are both checked."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Iterator, Optional
from urllib.parse import urlsplit

import pytest

import ucwa
from conftest import ALICE, ALICE_PASSWORD, FAST_OPTIONS, Sim, start_sim, stop_sim


def line(entry: dict) -> str:
    """The request line the proxy got: ``GET http://127.0.0.1:PORT/ HTTP/1.1`` or
    ``CONNECT 127.0.0.1:PORT HTTP/1.1``."""
    return f"{entry['method']} {entry['target']} {entry['version']}"


def test_an_explicit_proxy_carries_every_request_in_absolute_form_and_the_flow_works(
    client: ucwa.Client, sim: Sim
) -> None:
    client.set_option("proxy", sim.proxy_url())
    client.sign_in(ALICE, ALICE_PASSWORD)
    client.make_me_available()
    client.set_availability(ucwa.Availability.BUSY)
    assert sim.user(ALICE)["availability"] == "Busy"

    seen = sim.proxy_log()
    assert seen, "the proxy saw no connection"
    # discovery is the first request of all, for the simulator's root
    assert line(seen[0]) == f"GET {sim.url} HTTP/1.1", seen
    for e in seen:
        method, target, version = line(e).split(" ")
        assert method != "CONNECT" and version == "HTTP/1.1", e
        assert target.startswith(sim.origin + "/"), f"absolute form, for the simulator: {e}"
        assert e["answered"] is None and e["credentials"] is False, e
    # and what went through the proxy reached the simulator
    assert [e["status"] for e in sim.requests("applications", "POST")] == [201]
    posts = sim.requests("presence", "POST")
    assert len(posts) == 1 and 200 <= posts[0]["status"] < 300, posts
    assert posts[0]["authorization"] is True and posts[0]["user"] == ALICE


@pytest.mark.parametrize("choice", [None, "none", "system"], ids=["default", "none", "system"])
def test_none_system_and_the_default_go_direct_to_loopback(
    sim: Sim, choice: Optional[str]
) -> None:
    with ucwa.Client(sim.url, **FAST_OPTIONS) as c:
        if choice is not None:
            # first the proxy, then the choice under test: the later value is the one used
            c.set_option("proxy", sim.proxy_url())
            c.set_option("proxy", choice)
        c.sign_in(ALICE, ALICE_PASSWORD)
        c.make_me_available()
        c.set_availability(ucwa.Availability.BUSY)
        assert sim.user(ALICE)["availability"] == "Busy"
    assert sim.proxy_log() == []
    assert len(sim.requests("presence", "POST")) == 1
    assert sim.user(ALICE)["applications"] == [], "signed out directly too"


def test_a_proxy_refusing_the_credentials_fails_the_call_without_repeating_its_password(
    client: ucwa.Client, sim: Sim
) -> None:
    wrong = "wr0ng-pass"
    sim.proxy_require_credentials(("agent", "right-pass"))
    client.set_option("proxy", sim.proxy_url(("agent", wrong)))
    # Over plain http the proxy's 407 is the answer to the first request (discovery).
    with pytest.raises(ucwa.UcwaError) as info:
        client.sign_in(ALICE, ALICE_PASSWORD)
    e = info.value
    assert e.http_status == 407, repr(e)
    assert "proxy refused" in e.message, "the proxy is named, not the server: " + e.message
    text = f"{e} {e!r} {e.message}"
    assert wrong not in text, text
    assert base64.b64encode(f"agent:{wrong}".encode()).decode() not in text, text
    assert ALICE_PASSWORD not in text
    seen = sim.proxy_log()
    assert seen and all(x["answered"] == 407 and x["credentials"] for x in seen), seen
    assert sim.log() == [], "nothing reached the server"

    # the same proxy lets the right credentials through: the refusal was the password's
    client.set_option("proxy", sim.proxy_url(("agent", "right-pass")))
    client.sign_in(ALICE, ALICE_PASSWORD)
    after = sim.proxy_log()[len(seen):]
    assert after and after[0]["answered"] is None and after[0]["credentials"], after
    assert [x["status"] for x in sim.requests("applications", "POST")] == [201]


def test_bad_proxy_values_raise_invalid_argument_without_being_repeated(
    client: ucwa.Client, sim: Sim
) -> None:
    client.set_option("proxy", sim.proxy_url())
    for bad in [
        "https://agent:s3cret@proxy:3128",
        "https://u:s3cret@p:1",
        "socks5://x:1",
        "socks5://agent:s3cret@proxy:1080",
        "http://agent:s3cret@proxy:3128/path",
        "proxy",
        "http://a\r\nb:1",
    ]:
        with pytest.raises(ucwa.InvalidArgumentError) as info:
            client.set_option("proxy", bad)
        assert info.value.status == ucwa.Status.INVALID_ARGUMENT, bad
        assert "s3cret" not in str(info.value) and "s3cret" not in repr(info.value), info.value
    assert sim.log() == []
    # A refused value changes nothing: the explicit proxy still carries the sign-in.
    client.sign_in(ALICE, ALICE_PASSWORD)
    lines = [line(e) for e in sim.proxy_log()]
    assert lines and lines[0] == f"GET {sim.url} HTTP/1.1", lines


@pytest.fixture
def tls_sim(tmp_path: Path) -> Iterator[Sim]:
    """A simulator on ``https://`` (``--tls``); ``ca_file`` is the CA it wrote (``--ca-out``)."""
    s = start_sim(tmp_path, ["--tls", "--ca-out", str(tmp_path / "sim-ca.pem")])
    try:
        yield s
    finally:
        stop_sim(s)


def _authority(sim: Sim) -> str:
    """``127.0.0.1:PORT`` of the simulator, as a CONNECT names it."""
    return urlsplit(sim.url).netloc


def test_to_a_tls_server_an_explicit_proxy_tunnels_every_connection_with_connect(
    tls_sim: Sim,
) -> None:
    assert tls_sim.url.startswith("https://") and tls_sim.ca_file is not None
    with ucwa.Client(
        tls_sim.url, ca_file=str(tls_sim.ca_file), proxy=tls_sim.proxy_url(), **FAST_OPTIONS
    ) as c:
        c.sign_in(ALICE, ALICE_PASSWORD)
        c.make_me_available()
        c.set_availability(ucwa.Availability.BUSY)
        assert tls_sim.user(ALICE)["availability"] == "Busy"
    seen = tls_sim.proxy_log()
    assert seen, "the proxy saw no connection"
    for e in seen:
        assert line(e) == f"CONNECT {_authority(tls_sim)} HTTP/1.1", e
        assert e["answered"] == 200 and e["credentials"] is False, e
    # what went through the tunnels reached the simulator
    assert [e["status"] for e in tls_sim.requests("applications", "POST")] == [201]
    assert [e["grant"] for e in tls_sim.token_log()] == ["password"]


def test_the_windows_handshake_goes_through_its_own_connect_tunnel(tls_sim: Sim) -> None:
    with ucwa.Client(
        tls_sim.url, ca_file=str(tls_sim.ca_file), proxy=tls_sim.proxy_url(), grant="windows",
        **FAST_OPTIONS,
    ) as c:
        c.sign_in(ALICE, ALICE_PASSWORD)
    log = tls_sim.token_log()
    windows = [e for e in log if e["grant"] == "urn:microsoft.rtc:windows"]
    assert [e["leg"] for e in windows] == ["challenge", "negotiate", "authenticate"], log
    assert len({e["conn"] for e in windows}) == 1, f"one connection: {windows}"
    assert windows[-1]["outcome"] == "granted alice@contoso.com", windows
    assert len(windows) == len(log), f"no password grant: {log}"
    seen = tls_sim.proxy_log()
    # the pooled requests' connection and the handshake's dedicated one, each tunnelled
    assert len(seen) >= 2, seen
    assert all(
        line(e) == f"CONNECT {_authority(tls_sim)} HTTP/1.1" and e["answered"] == 200
        for e in seen
    ), seen
    assert [e["status"] for e in tls_sim.requests("applications", "POST")] == [201]


def test_to_a_tls_server_proxy_none_goes_direct(tls_sim: Sim) -> None:
    with ucwa.Client(tls_sim.url, ca_file=str(tls_sim.ca_file), **FAST_OPTIONS) as c:
        c.set_option("proxy", tls_sim.proxy_url())
        c.set_option("proxy", "none")
        c.sign_in(ALICE, ALICE_PASSWORD, grant=ucwa.Grant.WINDOWS)
    assert tls_sim.proxy_log() == [], "the proxy saw nothing"
    assert [e["status"] for e in tls_sim.requests("applications", "POST")] == [201]
    assert tls_sim.token_log()[-1]["outcome"] == "granted alice@contoso.com"
