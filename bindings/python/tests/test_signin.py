"""Sign-in against the challenge shapes and grant lists real pools and their proxies send:
challenges folded into one ``WWW-Authenticate`` line (ucwa-sim ``--fold-challenges``), a
password-only grant list, pools that offer no grant the sign-in can use (``--grants``: a
windows-only pool under grant=password, a password-only one under grant=windows, an
anonymous-meetings-only one), the ``grant`` option (also as ``sign_in(..., grant=)``) and
``sign_in_current_user``, which off Windows fails before sending anything. The Windows grant's
handshake itself is in test_windows_auth.py. Each test asserts what the simulator saw, above all
whether a token request (the only request that carries the password) was made."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

import ucwa
from conftest import ALICE, ALICE_PASSWORD, FAST_OPTIONS, Sim, start_sim, stop_sim

WINDOWS_ONLY = ["--grants", "urn:microsoft.rtc:windows"]


def _token_requests(sim: Sim) -> list[dict]:
    """The token endpoint's requests: the only ones that carry the password."""
    return sim.requests("token")


def _seen(sim: Sim) -> list[tuple[str, str, int]]:
    """What each request was, in order: (method, route, status)."""
    return [(e["method"], e["route"], e["status"]) for e in sim.log()]


@contextmanager
def _sim_with(tmp_path: Path, args: list[str]) -> Iterator[Sim]:
    """A simulator of its own, for tests that try several configurations."""
    s = start_sim(tmp_path, args)
    try:
        yield s
    finally:
        stop_sim(s)


@pytest.mark.sim_args("--fold-challenges")
def test_sign_in_reads_challenges_folded_into_one_line(client: ucwa.Client, sim: Sim) -> None:
    client.sign_in(ALICE, ALICE_PASSWORD)
    assert _seen(sim) == [
        ("GET", "discovery", 200),
        ("GET", "user", 401),
        ("POST", "token", 200),
        ("GET", "user", 200),
        ("POST", "applications", 201),
    ]
    log = sim.log()
    assert log[2]["user"] == ALICE, "the token was granted to alice"
    assert log[4]["authorization"] is True, "the applications POST carries the token"
    assert len(sim.user(ALICE)["applications"]) == 1


@pytest.mark.sim_args("--grants", "password")
def test_a_password_only_grant_list_signs_in(client: ucwa.Client, sim: Sim) -> None:
    client.sign_in(ALICE, ALICE_PASSWORD)
    tokens = _token_requests(sim)
    assert [(t["method"], t["status"]) for t in tokens] == [("POST", 200)]
    assert [e["status"] for e in sim.requests("applications", "POST")] == [201]
    assert len(sim.user(ALICE)["applications"]) == 1


@pytest.mark.parametrize("fold", [False, True], ids=["one-line-each", "folded"])
def test_grant_password_on_a_windows_only_pool_raises_authentication_naming_its_grants_and_gets_no_password(
    tmp_path: Path, fold: bool
) -> None:
    # Under auto this pool would get the Windows grant; grant=password rules that out, so
    # nothing offered is usable and the password must not leave the client.
    args = WINDOWS_ONLY + (["--fold-challenges"] if fold else [])
    with _sim_with(tmp_path, args) as sim, ucwa.Client(
        sim.url, grant="password", **FAST_OPTIONS
    ) as c:
        with pytest.raises(ucwa.AuthenticationError) as info:
            c.sign_in(ALICE, ALICE_PASSWORD)
        e = info.value
        assert e.status == ucwa.Status.AUTHENTICATION
        assert (
            "the server offers urn:microsoft.rtc:windows; this sign-in can use password" in str(e)
        ), str(e)
        assert ALICE_PASSWORD not in str(e) and ALICE_PASSWORD not in repr(e)
        assert _token_requests(sim) == [], f"no token request, so no password sent: {_seen(sim)}"
        assert sim.requests("applications") == []
        # the challenge was the last thing asked for
        assert _seen(sim)[-1] == ("GET", "user", 401)
        assert sim.user(ALICE)["applications"] == []


@pytest.mark.sim_args("--grants", "urn:microsoft.rtc:anonmeeting", "--fold-challenges")
def test_a_pool_offering_only_anonymous_meetings_names_its_grants_and_both_usable_ones(
    client: ucwa.Client, sim: Sim
) -> None:
    with pytest.raises(ucwa.AuthenticationError) as info:
        client.sign_in(ALICE, ALICE_PASSWORD)
    assert info.value.status == ucwa.Status.AUTHENTICATION
    assert (
        "the server offers urn:microsoft.rtc:anonmeeting; "
        "this sign-in can use password, urn:microsoft.rtc:windows" in str(info.value)
    ), str(info.value)
    assert ALICE_PASSWORD not in str(info.value)
    assert _token_requests(sim) == [], _seen(sim)
    assert sim.requests("applications") == []


@pytest.mark.sim_args("--grants", "password")
def test_grant_windows_on_a_password_only_pool_raises_authentication_without_a_token_request(
    client: ucwa.Client, sim: Sim
) -> None:
    client.set_option("grant", "windows")
    with pytest.raises(ucwa.AuthenticationError) as info:
        client.sign_in(ALICE, ALICE_PASSWORD)
    msg = str(info.value)
    assert info.value.status == ucwa.Status.AUTHENTICATION
    assert "the server offers password; this sign-in can use urn:microsoft.rtc:windows" in msg, msg
    assert ALICE_PASSWORD not in msg
    assert _token_requests(sim) == [], _seen(sim)
    assert sim.requests("applications") == []
    assert _seen(sim)[-1] == ("GET", "user", 401)


@pytest.mark.parametrize("grant", ["password", "auto", "AUTO"])
def test_grant_password_and_auto_sign_in_with_the_password_grant(
    client: ucwa.Client, sim: Sim, grant: str
) -> None:
    client.set_option("grant", grant)
    client.sign_in(ALICE, ALICE_PASSWORD)
    assert [(t["method"], t["status"], t["user"]) for t in _token_requests(sim)] == [
        ("POST", 200, ALICE)
    ]
    assert [e["status"] for e in sim.requests("applications", "POST")] == [201]


def test_bad_grant_values_raise_invalid_argument_and_change_nothing(tmp_path: Path) -> None:
    # A windows-only pool and grant=password: if a refused value had replaced the option (auto
    # or windows), the sign-in below would make token requests.
    with _sim_with(tmp_path, WINDOWS_ONLY) as sim, ucwa.Client(sim.url, **FAST_OPTIONS) as c:
        c.set_option("grant", "password")
        for bad in ["", "ntlm", "password,windows", "urn:microsoft.rtc:windows", "pass word"]:
            with pytest.raises(ucwa.InvalidArgumentError) as info:
                c.set_option("grant", bad)
            assert info.value.status == ucwa.Status.INVALID_ARGUMENT, bad
            assert "auto, password or windows" in str(info.value), str(info.value)
        assert sim.log() == []
        # Still password, which this pool does not offer: sign-in fails before any token request.
        with pytest.raises(ucwa.AuthenticationError) as info:
            c.sign_in(ALICE, ALICE_PASSWORD)
        assert "this sign-in can use password" in str(info.value), str(info.value)
        assert _token_requests(sim) == [], _seen(sim)


def test_a_bearer_only_challenge_names_its_authorization_uri_and_gets_no_password(
    client: ucwa.Client, sim: Sim
) -> None:
    # What an Online or modern-auth pool sends without MsRtcOAuth.
    authorize = "https://login.windows.net/common/oauth2/authorize"
    sim.respond(
        "user",
        401,
        "",
        headers=[[
            "WWW-Authenticate",
            'Bearer trusted_issuers="00000001-0000-0000-c000-000000000000@*", '
            'client_id="00000004-0000-0ff1-ce00-000000000000", '
            f'authorization_uri="{authorize}"',
        ]],
    )
    with pytest.raises(ucwa.AuthenticationError) as info:
        client.sign_in(ALICE, ALICE_PASSWORD)
    assert (
        "401 without an MsRtcOAuth challenge; the server asks for a Bearer token from " + authorize
        in str(info.value)
    ), str(info.value)
    assert ALICE_PASSWORD not in str(info.value)
    assert _token_requests(sim) == [], _seen(sim)


@pytest.mark.parametrize("grant", [ucwa.Grant.PASSWORD, "password"], ids=["enum", "text"])
def test_sign_in_with_grant_password_signs_in_with_the_password_grant(
    client: ucwa.Client, sim: Sim, grant: "ucwa.Grant | str"
) -> None:
    client.sign_in(ALICE, ALICE_PASSWORD, grant=grant)
    assert [(t["method"], t["status"], t["user"]) for t in _token_requests(sim)] == [
        ("POST", 200, ALICE)
    ]
    assert [e["status"] for e in sim.requests("applications", "POST")] == [201]


def test_the_grant_given_to_sign_in_stays_set_for_later_sign_ins(tmp_path: Path) -> None:
    # A windows-only pool: with grant=password there is nothing this sign-in can use, so no
    # token request at all; under auto the Windows grant would be tried (a token request).
    with _sim_with(tmp_path, WINDOWS_ONLY) as only, ucwa.Client(only.url, **FAST_OPTIONS) as c:
        for grant in [ucwa.Grant.PASSWORD, None]:
            with pytest.raises(ucwa.AuthenticationError) as info:
                c.sign_in(ALICE, ALICE_PASSWORD, grant=grant)
            assert "this sign-in can use password" in str(info.value), (grant, str(info.value))
            assert _token_requests(only) == [], (grant, _seen(only))


def test_grant_enum_values_are_the_option_texts() -> None:
    assert [g.value for g in ucwa.Grant] == ["auto", "password", "windows"]
    assert ucwa.Grant("windows") is ucwa.Grant.WINDOWS


def test_a_bad_grant_raises_before_any_request(client: ucwa.Client, sim: Sim) -> None:
    for bad in ["ntlm", "", "kerberos"]:
        with pytest.raises(ucwa.InvalidArgumentError) as info:
            client.sign_in(ALICE, ALICE_PASSWORD, grant=bad)
        assert "auto, password or windows" in str(info.value), str(info.value)
        assert ALICE_PASSWORD not in str(info.value)
    with pytest.raises(TypeError):
        client.sign_in(ALICE, ALICE_PASSWORD, grant=2)  # type: ignore[arg-type]
    assert sim.log() == []
    assert client.request_count == 0


@pytest.mark.skipif(sys.platform == "win32", reason="on Windows the call really tries SSPI")
def test_sign_in_current_user_off_windows_raises_at_once_and_the_client_still_signs_in(
    client: ucwa.Client, sim: Sim
) -> None:
    with pytest.raises(ucwa.AuthenticationError) as info:
        client.sign_in_current_user()
    assert info.value.status == ucwa.Status.AUTHENTICATION
    assert "signing in as the current user needs Windows" in str(info.value), str(info.value)
    assert sim.log() == [], "not even discovery"
    assert client.request_count == 0
    # Nothing half done: the same client signs in with a password.
    client.sign_in(ALICE, ALICE_PASSWORD)
    assert [e["status"] for e in sim.requests("applications", "POST")] == [201]
