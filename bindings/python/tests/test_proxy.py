"""The ``proxy`` option through the binding, against ucwa-sim and a small test proxy: an
explicit ``http://`` proxy carries every request in absolute form, with Basic credentials when
given (never repeated in an error); to an ``https://`` simulator (``--tls``) every connection
is a ``CONNECT`` tunnel, the Windows grant's dedicated connection included; ``none`` and the
default go direct to loopback; bad values are refused without being repeated. What the proxy
saw and what the simulator saw are both checked."""

from __future__ import annotations

import base64
import ipaddress
import socket
import threading
from pathlib import Path
from typing import Iterator, Optional
from urllib.parse import urlsplit

import pytest

import ucwa
from conftest import ALICE, ALICE_PASSWORD, FAST_OPTIONS, Sim, start_sim, stop_sim


class TestProxy:
    """An HTTP proxy on 127.0.0.1:0 for absolute-form requests (``GET http://host:port/path``)
    and ``CONNECT host:port`` tunnels, optionally behind Basic ``Proxy-Authorization``. It
    records the first request line of every connection and what it answered itself (200 to a
    CONNECT it tunnelled, 407, 502; None when it forwarded), then pipes bytes both ways. It
    reaches loopback addresses only and refuses anything else (502), so no traffic leaves the
    machine."""

    __test__ = False  # not a pytest test class

    def __init__(self, credentials: Optional[tuple[str, str]] = None) -> None:
        self._expected = (
            "Basic " + base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
            if credentials
            else None
        )
        self._lock = threading.Lock()
        self._entries: list[dict] = []
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, credentials: Optional[tuple[str, str]] = None) -> str:
        """``http://127.0.0.1:PORT``, with ``user:password@`` when given."""
        auth = f"{credentials[0]}:{credentials[1]}@" if credentials else ""
        return f"http://{auth}127.0.0.1:{self.port}"

    def entries(self) -> list[dict]:
        """One per connection: ``line`` (its first request line), ``credentials`` (whether it
        carried Proxy-Authorization), ``answered`` (the proxy's own status: 200 for a tunnel,
        None if forwarded)."""
        with self._lock:
            return [dict(e) for e in self._entries]

    def request_lines(self) -> list[str]:
        return [e["line"] for e in self.entries()]

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for s in self._sockets:
                try:
                    s.close()
                except OSError:
                    pass

    # -- inside the proxy ------------------------------------------------------------------

    def _track(self, s: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.append(s)
        return s

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(self._track(conn),), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 64 * 1024:
            try:
                chunk = client.recv(16 * 1024)
            except OSError:
                chunk = b""
            if not chunk:
                client.close()
                return
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        auth = next(
            (
                v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:])
                if k.strip().lower() == "proxy-authorization"
            ),
            None,
        )
        entry = {"line": lines[0], "credentials": auth is not None, "answered": None}

        def answer(status: int, reason: str, extra: str = "") -> None:
            entry["answered"] = status
            with self._lock:
                self._entries.append(entry)
            try:
                client.sendall(
                    f"HTTP/1.1 {status} {reason}\r\n{extra}Content-Length: 0\r\n"
                    "Connection: close\r\n\r\n".encode()
                )
            finally:
                client.close()

        if self._expected is not None and auth != self._expected:
            answer(407, "Proxy Authentication Required", 'Proxy-Authenticate: Basic realm="test"\r\n')
            return
        parts = lines[0].split(" ")
        if len(parts) == 3 and parts[0] == "CONNECT":
            self._tunnel(client, parts[1], entry, answer, rest)
            return
        target = urlsplit(parts[1]) if len(parts) == 3 else None
        try:
            loopback = (
                target is not None
                and target.scheme == "http"
                and target.port is not None
                and ipaddress.ip_address(target.hostname or "").is_loopback
            )
        except ValueError:  # not an IP address, or a bad port
            loopback = False
        if not loopback:
            answer(502, "Bad Gateway")
            return
        try:
            upstream = self._track(socket.create_connection((target.hostname, target.port), 5))
        except OSError:
            answer(502, "Bad Gateway")
            return
        upstream.settimeout(None)
        with self._lock:
            self._entries.append(entry)
        # The request as it came (absolute form, which servers must accept), minus the proxy's
        # own headers.
        forwarded = [line for line in lines if not line.lower().startswith("proxy-")]
        try:
            upstream.sendall("\r\n".join(forwarded).encode("latin-1") + b"\r\n\r\n" + rest)
        except OSError:
            client.close()
            upstream.close()
            return
        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
        _pipe(client, upstream)

    def _tunnel(self, client: socket.socket, authority: str, entry: dict, answer, rest: bytes) -> None:
        """``CONNECT host:port``: a loopback IP literal and a port, else 502; then 200 and
        bytes both ways (TLS to the server, which the proxy cannot read)."""
        host, sep, port = authority.rpartition(":")
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        try:
            loopback = bool(sep) and ipaddress.ip_address(host).is_loopback and 0 < int(port) < 65536
        except ValueError:  # not an IP address, or a bad port
            loopback = False
        if not loopback:
            answer(502, "Bad Gateway")
            return
        try:
            upstream = self._track(socket.create_connection((host, int(port)), 5))
        except OSError:
            answer(502, "Bad Gateway")
            return
        upstream.settimeout(None)
        entry["answered"] = 200
        with self._lock:
            self._entries.append(entry)
        try:
            client.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            if rest:  # a client that sent its TLS hello before the 200
                upstream.sendall(rest)
        except OSError:
            client.close()
            upstream.close()
            return
        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
        _pipe(client, upstream)


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    while True:
        try:
            chunk = src.recv(16 * 1024)
        except OSError:
            chunk = b""
        if not chunk:
            break
        try:
            dst.sendall(chunk)
        except OSError:
            break
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


@pytest.fixture
def proxy() -> Iterator[TestProxy]:
    p = TestProxy()
    try:
        yield p
    finally:
        p.close()


def test_an_explicit_proxy_carries_every_request_in_absolute_form_and_the_flow_works(
    client: ucwa.Client, sim: Sim, proxy: TestProxy
) -> None:
    client.set_option("proxy", proxy.url())
    client.sign_in(ALICE, ALICE_PASSWORD)
    client.make_me_available()
    client.set_availability(ucwa.Availability.BUSY)
    assert sim.user(ALICE)["availability"] == "Busy"

    seen = proxy.entries()
    assert seen, "the proxy saw no connection"
    # discovery is the first request of all, for the simulator's root
    assert seen[0]["line"] == f"GET {sim.url} HTTP/1.1", seen
    for e in seen:
        method, target, version = e["line"].split(" ")
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
    sim: Sim, proxy: TestProxy, choice: Optional[str]
) -> None:
    with ucwa.Client(sim.url, **FAST_OPTIONS) as c:
        if choice is not None:
            # first the proxy, then the choice under test: the later value is the one used
            c.set_option("proxy", proxy.url())
            c.set_option("proxy", choice)
        c.sign_in(ALICE, ALICE_PASSWORD)
        c.make_me_available()
        c.set_availability(ucwa.Availability.BUSY)
        assert sim.user(ALICE)["availability"] == "Busy"
    assert proxy.entries() == []
    assert len(sim.requests("presence", "POST")) == 1
    assert sim.user(ALICE)["applications"] == [], "signed out directly too"


def test_a_proxy_refusing_the_credentials_fails_the_call_without_repeating_its_password(
    client: ucwa.Client, sim: Sim
) -> None:
    wrong = "wr0ng-pass"
    guarded = TestProxy(("agent", "right-pass"))
    try:
        client.set_option("proxy", guarded.url(("agent", wrong)))
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
        seen = guarded.entries()
        assert seen and all(x["answered"] == 407 and x["credentials"] for x in seen), seen
        assert sim.log() == [], "nothing reached the server"

        # the same proxy lets the right credentials through: the refusal was the password's
        client.set_option("proxy", guarded.url(("agent", "right-pass")))
        client.sign_in(ALICE, ALICE_PASSWORD)
        after = guarded.entries()[len(seen):]
        assert after and after[0]["answered"] is None and after[0]["credentials"], after
        assert [x["status"] for x in sim.requests("applications", "POST")] == [201]
    finally:
        guarded.close()


def test_bad_proxy_values_raise_invalid_argument_without_being_repeated(
    client: ucwa.Client, sim: Sim, proxy: TestProxy
) -> None:
    client.set_option("proxy", proxy.url())
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
    assert proxy.request_lines() and proxy.request_lines()[0] == f"GET {sim.url} HTTP/1.1"


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
    tls_sim: Sim, proxy: TestProxy
) -> None:
    assert tls_sim.url.startswith("https://") and tls_sim.ca_file is not None
    with ucwa.Client(
        tls_sim.url, ca_file=str(tls_sim.ca_file), proxy=proxy.url(), **FAST_OPTIONS
    ) as c:
        c.sign_in(ALICE, ALICE_PASSWORD)
        c.make_me_available()
        c.set_availability(ucwa.Availability.BUSY)
        assert tls_sim.user(ALICE)["availability"] == "Busy"
    seen = proxy.entries()
    assert seen, "the proxy saw no connection"
    for e in seen:
        assert e["line"] == f"CONNECT {_authority(tls_sim)} HTTP/1.1", e
        assert e["answered"] == 200 and e["credentials"] is False, e
    # what went through the tunnels reached the simulator
    assert [e["status"] for e in tls_sim.requests("applications", "POST")] == [201]
    assert [e["grant"] for e in tls_sim.token_log()] == ["password"]


def test_the_windows_handshake_goes_through_its_own_connect_tunnel(
    tls_sim: Sim, proxy: TestProxy
) -> None:
    with ucwa.Client(
        tls_sim.url, ca_file=str(tls_sim.ca_file), proxy=proxy.url(), grant="windows",
        **FAST_OPTIONS,
    ) as c:
        c.sign_in(ALICE, ALICE_PASSWORD)
    log = tls_sim.token_log()
    windows = [e for e in log if e["grant"] == "urn:microsoft.rtc:windows"]
    assert [e["leg"] for e in windows] == ["challenge", "negotiate", "authenticate"], log
    assert len({e["conn"] for e in windows}) == 1, f"one connection: {windows}"
    assert windows[-1]["outcome"] == "granted alice@contoso.com", windows
    assert len(windows) == len(log), f"no password grant: {log}"
    seen = proxy.entries()
    # the pooled requests' connection and the handshake's dedicated one, each tunnelled
    assert len(seen) >= 2, seen
    assert all(
        e["line"] == f"CONNECT {_authority(tls_sim)} HTTP/1.1" and e["answered"] == 200
        for e in seen
    ), seen
    assert [e["status"] for e in tls_sim.requests("applications", "POST")] == [201]


def test_to_a_tls_server_proxy_none_goes_direct(tls_sim: Sim, proxy: TestProxy) -> None:
    with ucwa.Client(tls_sim.url, ca_file=str(tls_sim.ca_file), **FAST_OPTIONS) as c:
        c.set_option("proxy", proxy.url())
        c.set_option("proxy", "none")
        c.sign_in(ALICE, ALICE_PASSWORD, grant=ucwa.Grant.WINDOWS)
    assert proxy.entries() == [], "the proxy saw nothing"
    assert [e["status"] for e in tls_sim.requests("applications", "POST")] == [201]
    assert tls_sim.token_log()[-1]["outcome"] == "granted alice@contoso.com"
