"""The Windows grant (``urn:microsoft.rtc:windows``) through the binding, against the
simulator's token endpoint, which verifies NTLMv2 server-side and binds the handshake to its TCP
connection: NTLM and Negotiate, ``DOMAIN\\user``, ``auto`` choosing the password grant when both
are offered and ``grant=Grant.WINDOWS`` forcing the handshake, and refused passwords and
domains. Each test reads the simulator's token log (which legs came, on which connection, what
it decided) as well as what the client returned. The proxy's CONNECT tunnel is in
test_proxy.py."""

from __future__ import annotations

from pathlib import Path

import pytest

import ucwa
from conftest import ALICE, ALICE_PASSWORD, FAST_OPTIONS, Sim, start_sim, stop_sim

WINDOWS = "urn:microsoft.rtc:windows"


def _assert_one_handshake(entries: list[dict], scheme: str, outcome: str) -> list[dict]:
    """One whole handshake: the anonymous request, then the NEGOTIATE and AUTHENTICATE legs in
    ``scheme``, all on one connection, the last ending with ``outcome``. Returns its entries."""
    windows = [e for e in entries if e["grant"] == WINDOWS]
    assert [(e["leg"], e["scheme"]) for e in windows] == [
        ("challenge", None),
        ("negotiate", scheme),
        ("authenticate", scheme),
    ], windows
    assert len({e["conn"] for e in windows}) == 1, f"every leg on one connection: {windows}"
    assert windows[2]["outcome"] == outcome, windows
    return windows


@pytest.mark.sim_args("--grants", WINDOWS, "--windows-auth", "ntlm")
def test_a_windows_only_ntlm_pool_signs_in_on_one_connection_and_the_session_works(
    client: ucwa.Client, sim: Sim
) -> None:
    client.sign_in(ALICE, ALICE_PASSWORD)
    log = sim.token_log()
    legs = _assert_one_handshake(log, "NTLM", "granted alice@contoso.com")
    assert [e["status"] for e in legs] == [401, 401, 200], legs
    assert all(e["grant"] == WINDOWS for e in log), f"no password grant was tried: {log}"
    assert not any(e["spnego"] for e in legs), "raw NTLM, not SPNEGO"
    # A UPN travels as the user with an empty domain, as Windows sends it.
    assert (legs[2]["ntlm_user"], legs[2]["ntlm_domain"]) == (ALICE, "")
    # The web ticket works on the pool.
    client.make_me_available()
    client.set_availability(ucwa.Availability.BUSY)
    assert client.get_presence().availability == ucwa.Availability.BUSY
    assert sim.user(ALICE)["availability"] == "Busy"
    posts = sim.requests("applications", "POST")
    assert [(e["status"], e["authorization"]) for e in posts] == [(201, True)], posts
    assert len(sim.user(ALICE)["applications"]) == 1


@pytest.mark.sim_args("--grants", WINDOWS, "--windows-auth", "negotiate")
def test_negotiate_wraps_ntlm_in_spnego_and_signs_in(client: ucwa.Client, sim: Sim) -> None:
    client.sign_in(ALICE, ALICE_PASSWORD)
    legs = _assert_one_handshake(sim.token_log(), "Negotiate", "granted alice@contoso.com")
    assert legs[1]["spnego"] and legs[2]["spnego"], f"SPNEGO tokens: {legs}"
    assert [e["status"] for e in sim.requests("applications", "POST")] == [201]


@pytest.mark.sim_args("--grants", WINDOWS)
def test_negotiate_is_preferred_when_the_pool_offers_both_schemes(
    client: ucwa.Client, sim: Sim
) -> None:
    client.sign_in(ALICE, ALICE_PASSWORD)
    legs = _assert_one_handshake(sim.token_log(), "Negotiate", "granted alice@contoso.com")
    assert legs[2]["spnego"], legs


def test_with_both_grants_offered_auto_uses_the_password_grant(
    client: ucwa.Client, sim: Sim
) -> None:
    client.sign_in(ALICE, ALICE_PASSWORD)
    log = sim.token_log()
    assert [(e["grant"], e["scheme"], e["leg"], e["status"]) for e in log] == [
        ("password", None, None, 200)
    ], log
    assert log[0]["outcome"] == "granted alice@contoso.com", log


@pytest.mark.parametrize("grant", [ucwa.Grant.WINDOWS, "windows"], ids=["enum", "text"])
def test_with_both_grants_offered_grant_windows_uses_the_handshake(
    client: ucwa.Client, sim: Sim, grant: "ucwa.Grant | str"
) -> None:
    client.sign_in(ALICE, ALICE_PASSWORD, grant=grant)
    log = sim.token_log()
    _assert_one_handshake(log, "Negotiate", "granted alice@contoso.com")
    assert all(e["grant"] == WINDOWS for e in log), f"no password grant: {log}"
    assert [e["status"] for e in sim.requests("applications", "POST")] == [201]


@pytest.mark.parametrize("fold", [False, True], ids=["one-line-each", "folded"])
def test_a_domain_backslash_user_signs_in_as_that_domain_and_user(
    tmp_path: Path, fold: bool
) -> None:
    sim = start_sim(tmp_path, ["--grants", WINDOWS, *(["--fold-challenges"] if fold else [])])
    try:
        with ucwa.Client(sim.url, **FAST_OPTIONS) as c:
            c.sign_in("CONTOSO\\alice", ALICE_PASSWORD)
            legs = _assert_one_handshake(sim.token_log(), "Negotiate", "granted alice@contoso.com")
            assert (legs[2]["ntlm_user"], legs[2]["ntlm_domain"]) == ("alice", "CONTOSO"), legs
            assert len(sim.user(ALICE)["applications"]) == 1
    finally:
        stop_sim(sim)


@pytest.mark.parametrize("scheme", ["NTLM", "Negotiate"])
@pytest.mark.parametrize(
    "user,password,outcome",
    [
        (ALICE, "not-alices-password", "refused: bad password"),
        ("FABRIKAM\\alice", ALICE_PASSWORD, "refused: wrong domain"),
    ],
    ids=["wrong-password", "wrong-domain"],
)
def test_refused_windows_credentials_raise_authentication_without_repeating_the_password(
    tmp_path: Path, scheme: str, user: str, password: str, outcome: str
) -> None:
    sim = start_sim(tmp_path, ["--grants", WINDOWS, "--windows-auth", scheme.lower()])
    try:
        with ucwa.Client(sim.url, **FAST_OPTIONS) as c:
            with pytest.raises(ucwa.AuthenticationError) as info:
                c.sign_in(user, password)
        e = info.value
        assert e.status == ucwa.Status.AUTHENTICATION
        text = f"{e} {e!r} {e.message}"
        assert "the server refused the Windows credentials of" in str(e), str(e)
        assert scheme in str(e), str(e)
        assert password not in text, "the password is not repeated"
        _assert_one_handshake(sim.token_log(), scheme, outcome)
        assert sim.requests("applications") == [], "no application was created"
        assert sim.user(ALICE)["applications"] == []
    finally:
        stop_sim(sim)
