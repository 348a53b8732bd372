"""pytest fixtures for the ucwa binding: one ucwa-sim process per test, and clients on it.

Owns: locating the simulator (env ``UCWA_SIM``, else ``<workspace>/target/debug/ucwa-sim``),
starting it on ``127.0.0.1:0`` with fast timers, reading its first stdout line (the discovery
URL), the ``Sim`` control helper for the ``/_sim/`` API (urllib only: request and token logs,
users, faults, the forward proxy's URL, log and credentials), and killing the process
afterwards. A missing simulator or library is an
error, never a skip: a run that tests nothing must not look green.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

HERE = Path(__file__).resolve().parent
PYTHON_DIR = HERE.parent
WORKSPACE = PYTHON_DIR.parent.parent

#: UCWA_TEST_INSTALLED=1 (scripts/test-release.sh): the suite runs, from a copy outside the
#: repository, against the package installed from a release wheel into a fresh virtual
#: environment, and reads the header from the release's C archive (UCWA_HEADER).
INSTALLED = os.environ.get("UCWA_TEST_INSTALLED") == "1"
if not INSTALLED:
    # Import the package from this source tree, not from whatever is installed, so the tests
    # prove the code next to them.
    sys.path.insert(0, str(PYTHON_DIR))
HEADER = Path(os.environ.get("UCWA_HEADER") or WORKSPACE / "include" / "ucwa.h")

ALICE = "alice@contoso.com"
ALICE_PASSWORD = "alice-password"
BOB = "bob@contoso.com"
BOB_PASSWORD = "bob-password"

# Fast timers: medium-priority events answered at once, and the client's event `timeout`
# parameter (event_timeout_s below) honoured down to 1 s, so a test never waits minutes.
DEFAULT_SIM_ARGS = ["--event-hold-s", "0", "--event-timeout-min-s", "1", "--event-timeout-s", "2"]

# Client options used by the fixtures: no activity timer (it would add requests to the log at
# arbitrary moments), a short event long-poll, short HTTP timeouts.
FAST_OPTIONS: dict[str, Any] = {"keepalive_interval_s": 0, "event_timeout_s": 2, "timeout_ms": 5000}


def sim_binary() -> Path:
    env = os.environ.get("UCWA_SIM")
    path = Path(env).resolve() if env else WORKSPACE / "target" / "debug" / "ucwa-sim"
    if not path.is_file():
        raise RuntimeError(
            f"ucwa-sim not found at {path}; build it with `cargo build -p ucwa-sim` "
            "or set UCWA_SIM"
        )
    return path


class Sim:
    """A running ucwa-sim and its ``/_sim/`` control API."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        url: str,
        stderr_path: Path,
        ca_file: Optional[Path] = None,
    ) -> None:
        self.proc = proc
        self.url = url  # the discovery root, e.g. "http://127.0.0.1:41234/"
        self.stderr_path = stderr_path
        #: With --tls: the PEM of the CA the simulator generated (the control API trusts it).
        self.ca_file = ca_file
        self._ssl = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None

    # -- raw control requests -------------------------------------------------------------

    def _request(self, method: str, path: str, body: Optional[Any] = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.url + "_sim/" + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10, context=self._ssl) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def info(self) -> dict[str, Any]:
        return self._request("GET", "info")

    # -- request log ----------------------------------------------------------------------

    def log(self) -> list[dict[str, Any]]:
        """Every request the simulated servers saw (control requests excluded), in order."""
        return self._request("GET", "log")

    def requests(self, route: str, method: Optional[str] = None) -> list[dict[str, Any]]:
        """The logged requests on one route (optionally one method)."""
        return [
            e for e in self.log() if e["route"] == route and (method is None or e["method"] == method)
        ]

    def routes(self, *, skip_events: bool = True) -> list[str]:
        """The route names of the log in order ("METHOD route"), event long-polls left out
        unless asked for (their number depends on timing)."""
        return [
            f"{e['method']} {e['route']}"
            for e in self.log()
            if not (skip_events and e["route"] == "events")
        ]

    def clear_log(self) -> None:
        """Empties the request log and the token log."""
        self._request("DELETE", "log")

    def token_log(self) -> list[dict[str, Any]]:
        """One entry per token-endpoint request, in arrival order: ``seq``, ``pool``, ``conn``
        (the TCP connection's id), ``grant``, ``scheme`` ("NTLM", "Negotiate" or None),
        ``spnego``, ``leg`` ("challenge", "negotiate", "authenticate" or None), ``ntlm_user``,
        ``ntlm_domain``, ``outcome`` (e.g. "granted alice@contoso.com", "refused: bad
        password") and ``status``. It never holds passwords, tokens or NTLM responses."""
        return self._request("GET", "token-log")

    # -- users ----------------------------------------------------------------------------

    def user(self, name: str = ALICE) -> dict[str, Any]:
        return self._request("GET", f"users/{name}")

    def set_presence_elsewhere(
        self, name: str, availability: str, activity: Optional[str] = None
    ) -> None:
        """A presence change "from another device" of the user."""
        body: dict[str, Any] = {"availability": availability}
        if activity is not None:
            body["activity"] = activity
        self._request("POST", f"users/{name}/presence", body)

    def set_note_elsewhere(self, name: str, message: Optional[str]) -> None:
        """A note change "from another device" of the user (``None`` clears it)."""
        self._request("POST", f"users/{name}/note", {"message": message})

    def set_location_elsewhere(self, name: str, location: Optional[str]) -> None:
        """A location change "from another device" of the user (``None`` clears it)."""
        self._request("POST", f"users/{name}/location", {"location": location})

    def delete_applications(self, name: str = ALICE) -> None:
        self._request("POST", f"users/{name}/delete-applications")

    def expire_tokens(self, name: Optional[str] = None) -> None:
        self._request("POST", f"users/{name}/expire-tokens" if name else "expire-tokens")

    def mint_token(self, name: str = ALICE, lifetime_s: float = 600) -> dict[str, Any]:
        """A bearer token for ``name`` as an identity provider would issue it (``--modern-auth``):
        ``{"access_token", "token_type": "Bearer", "expires_in", "resource"}``, where
        ``resource`` is the simulator's origin (``http://127.0.0.1:PORT``)."""
        return self._request("POST", "tokens", {"user": name, "lifetime_s": lifetime_s})

    # -- the forward proxy ----------------------------------------------------------------

    def proxy_url(self, credentials: Optional[tuple[str, str]] = None) -> str:
        """The simulator's forward proxy, ``http://127.0.0.1:PORT/``, with ``user:password@``
        when given (as is, not encoded). It reaches loopback targets only."""
        url = self._request("GET", "proxy")["url"]
        if credentials:
            url = url.replace("http://", f"http://{credentials[0]}:{credentials[1]}@", 1)
        return url

    def proxy_log(self) -> list[dict[str, Any]]:
        """One entry per plain request or ``CONNECT`` tunnel the proxy saw, in order: ``conn``
        (its client connection), ``method``, ``target``, ``version``, ``credentials`` (whether
        Proxy-Authorization came), ``user``, ``authorized`` (matched the required ones, or none
        required) and ``answered`` (the proxy's own status: 200 for a tunnel, 407, 502; None
        when it forwarded the request). Never a password."""
        return self._request("GET", "proxy/log")

    def proxy_require_credentials(self, credentials: Optional[tuple[str, str]]) -> None:
        """From now on the proxy lets through only Basic ``(user, password)`` (407 otherwise);
        ``None`` requires none."""
        if credentials is None:
            self._request("DELETE", "proxy/credentials")
        else:
            user, password = credentials
            self._request("PUT", "proxy/credentials", {"user": user, "password": password})

    @property
    def origin(self) -> str:
        """The simulator's origin: the root URL without its trailing slash."""
        return self.url.rstrip("/")

    # -- faults ---------------------------------------------------------------------------

    def fault(self, route: str, action: Any, count: int = 1) -> None:
        self._request("POST", "faults", {"route": route, "count": count, "action": action})

    def respond(
        self,
        route: str,
        status: int,
        body: Any = "",
        headers: Optional[list[list[str]]] = None,
        count: int = 1,
    ) -> None:
        """Makes the next ``count`` requests on ``route`` get this response instead."""
        text = body if isinstance(body, str) else json.dumps(body)
        headers = list(headers or [])
        if not isinstance(body, str):
            headers.append(["Content-Type", "application/json"])
        self.fault(route, {"Respond": {"status": status, "headers": headers, "body": text}}, count)

    def clear_faults(self) -> None:
        self._request("DELETE", "faults")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


def start_sim(tmp_path: Path, args: list[str]) -> Sim:
    stderr_path = tmp_path / "ucwa-sim.stderr"
    ca_file: Optional[Path] = None
    if "--tls" in args:
        # The control helper must trust the generated CA too; keep the test's path if given.
        if "--ca-out" in args:
            ca_file = Path(args[args.index("--ca-out") + 1])
        else:
            ca_file = tmp_path / "sim-ca.pem"
            args = [*args, "--ca-out", str(ca_file)]
    cmd = [str(sim_binary()), "--listen", "127.0.0.1:0", *DEFAULT_SIM_ARGS, *args]
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
    assert proc.stdout is not None
    first: list[bytes] = []
    reader = threading.Thread(target=lambda: first.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(15)
    url = first[0].decode().strip() if first else ""
    if not url.startswith(("http://", "https://")):
        proc.kill()
        proc.wait()
        raise RuntimeError(
            f"ucwa-sim did not print its URL (got {url!r}); stderr:\n"
            + stderr_path.read_text(errors="replace")
        )
    return Sim(proc, url, stderr_path, ca_file)


def stop_sim(sim: Sim) -> None:
    sim.proc.terminate()
    try:
        sim.proc.wait(5)
    except subprocess.TimeoutExpired:
        sim.proc.kill()
        sim.proc.wait()
    if sim.proc.stdout:
        sim.proc.stdout.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sim_args(*args): extra command-line arguments for this test's ucwa-sim"
    )


@pytest.fixture
def sim(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Sim]:
    """A fresh ucwa-sim on 127.0.0.1:0 for this test (extra args via ``@pytest.mark.sim_args``)."""
    marker = request.node.get_closest_marker("sim_args")
    args = [str(a) for a in marker.args] if marker else []
    s = start_sim(tmp_path, args)
    try:
        yield s
    finally:
        stop_sim(s)


@pytest.fixture
def client(sim: Sim) -> Iterator["ucwa.Client"]:  # noqa: F821
    """A client on the test's simulator, not signed in yet, with fast options."""
    import ucwa

    c = ucwa.Client(sim.url, **FAST_OPTIONS)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def available(client: "ucwa.Client", sim: Sim) -> "ucwa.Client":  # noqa: F821
    """The ``client`` fixture signed in as alice and made available; the sim's log cleared.

    Real servers (and ucwa-sim by default) announce presence, note and location after
    makeMeAvailable as bare ``added`` events, which the library follows with GETs in the
    background; waiting for those keeps them out of the tests' "sends nothing" checks."""
    import time

    client.sign_in(ALICE, ALICE_PASSWORD)
    client.make_me_available()
    deadline = time.monotonic() + 5
    while True:
        followed = {e["route"] for e in sim.log() if e["method"] == "GET"}
        if {"presence", "note", "location"} <= followed:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"the library did not GET the announced resources: {sim.routes()}")
        time.sleep(0.02)
    return client


def drain(client: "ucwa.Client", quiet_s: float = 0.5) -> list["ucwa.Event"]:  # noqa: F821
    """Reads events until none arrives for ``quiet_s`` seconds."""
    return list(client.events(timeout=quiet_s))


def wait_for_event(client: "ucwa.Client", predicate, timeout_s: float = 10.0):  # noqa: F821
    """Reads events until one satisfies ``predicate``; fails the test after ``timeout_s``."""
    import time

    deadline = time.monotonic() + timeout_s
    seen = []
    while time.monotonic() < deadline:
        ev = client.next_event(timeout=max(deadline - time.monotonic(), 0))
        if ev is None:
            break
        seen.append(ev)
        if predicate(ev):
            return ev, seen
    pytest.fail(f"no matching event within {timeout_s}s; saw {seen!r}")
