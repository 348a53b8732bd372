"""Modern authentication through the binding: host-supplied tokens against ucwa-sim
``--modern-auth`` (every 401 carries only a Bearer challenge naming an authorization_uri on the
simulator; tokens are minted by its control API, as an identity provider would issue them).
Each test checks what the simulator saw as well as what the binding returned."""

from __future__ import annotations

import pickle
import time

import pytest

import ucwa
from conftest import ALICE, Sim, wait_for_event

pytestmark = pytest.mark.sim_args("--modern-auth")


def _token_requests(sim: Sim) -> list[dict]:
    return [e for e in sim.log() if e["route"] == "token"]


def test_a_minted_token_signs_in_sets_presence_and_no_token_request_is_sent(
    client: ucwa.Client, sim: Sim
) -> None:
    minted = sim.mint_token(ALICE, 600)
    assert minted["token_type"] == "Bearer" and minted["resource"] == sim.origin
    client.set_token(minted["resource"], minted["access_token"], minted["expires_in"])
    client.sign_in_with_tokens(ALICE)
    client.make_me_available()
    client.set_availability(ucwa.Availability.BUSY)
    assert sim.user(ALICE)["availability"] == "Busy"

    log = sim.log()
    assert [e for e in log if e["route"] == "token"] == [], log
    posts = [e for e in log if e["method"] == "POST" and e["route"] == "presence"]
    assert len(posts) == 1, log
    assert posts[0]["authorization"] is True and posts[0]["user"] == ALICE
    assert 200 <= posts[0]["status"] < 300
    # the application too was created with the token, as alice
    apps = [e for e in log if e["route"] == "applications" and e["method"] == "POST"]
    assert apps and all(e["authorization"] and e["user"] == ALICE for e in apps)


def test_without_a_token_sign_in_raises_authentication_naming_resource_and_authorization_uri(
    client: ucwa.Client, sim: Sim
) -> None:
    with pytest.raises(ucwa.AuthenticationError) as info:
        client.sign_in_with_tokens(ALICE)
    e = info.value
    assert e.status == ucwa.Status.AUTHENTICATION
    assert e.auth_resource == sim.origin
    assert e.authorization_uri is not None
    assert e.authorization_uri.endswith("/_sim/oauth2/authorize")
    assert e.authorization_uri == sim.origin + "/_sim/oauth2/authorize"
    assert "auth_resource=" in repr(e)
    # the attributes survive pickling (process pools)
    back = pickle.loads(pickle.dumps(e))
    assert (type(back), back.auth_resource, back.authorization_uri) == (
        ucwa.AuthenticationError, e.auth_resource, e.authorization_uri,
    )
    assert sim.user(ALICE)["applications"] == []

    # the pull model: acquire what the error names, give it, sign in again
    minted = sim.mint_token(ALICE, 600)
    client.set_token(e.auth_resource, minted["access_token"], 600)
    client.sign_in_with_tokens(ALICE)
    assert len(sim.user(ALICE)["applications"]) == 1
    assert _token_requests(sim) == []


def test_errors_other_than_a_missing_token_have_no_auth_resource(client: ucwa.Client) -> None:
    with pytest.raises(ucwa.InvalidStateError) as info:
        client.make_me_available()
    assert info.value.auth_resource is None and info.value.authorization_uri is None


def test_token_needed_arrives_ahead_of_expiry_and_a_fresh_token_keeps_the_session(
    client: ucwa.Client, sim: Sim
) -> None:
    short = sim.mint_token(ALICE, 4)
    client.set_token(sim.origin, short["access_token"], 4)
    client.sign_in_with_tokens(ALICE)
    client.make_me_available()
    # half of a 4 s lifetime: about 2 s after set_token
    ev, _ = wait_for_event(client, lambda e: isinstance(e, ucwa.TokenNeeded), timeout_s=4)
    assert ev.kind == ucwa.EventKind.TOKEN_NEEDED
    assert ev.resource == sim.origin
    # the token was given before sign-in, so no challenge named a source yet
    assert ev == ucwa.TokenNeeded(sim.origin, None)

    fresh = sim.mint_token(ALICE, 600)
    client.set_token(ev.resource, fresh["access_token"], 600)
    time.sleep(3)  # past the first token's expiry
    client.set_availability(ucwa.Availability.DO_NOT_DISTURB)
    assert sim.user(ALICE)["availability"] == "DoNotDisturb"
    last_post = [e for e in sim.log() if e["method"] == "POST" and e["route"] == "presence"][-1]
    assert last_post["authorization"] and 200 <= last_post["status"] < 300
    assert _token_requests(sim) == []


def test_a_refused_token_raises_naming_its_source_and_is_announced_then_a_new_one_works(
    client: ucwa.Client, sim: Sim
) -> None:
    client.set_token(sim.origin, sim.mint_token(ALICE, 600)["access_token"], 600)
    client.sign_in_with_tokens(ALICE)
    client.make_me_available()
    # let the library's background GETs of the announced resources finish first, so the
    # refused request is the test's own
    deadline = time.monotonic() + 5
    while not {"presence", "note", "location"} <= {e["route"] for e in sim.log() if e["method"] == "GET"}:
        assert time.monotonic() < deadline, sim.routes()
        time.sleep(0.02)
    sim.expire_tokens(ALICE)  # the server stops accepting alice's token
    with pytest.raises(ucwa.AuthenticationError) as info:
        client.set_availability(ucwa.Availability.AWAY)
    authorize = sim.origin + "/_sim/oauth2/authorize"
    assert (info.value.auth_resource, info.value.authorization_uri) == (sim.origin, authorize)
    # the refusal is announced once, now naming where tokens come from
    ev, _ = wait_for_event(client, lambda e: isinstance(e, ucwa.TokenNeeded), timeout_s=5)
    assert ev == ucwa.TokenNeeded(sim.origin, authorize)

    client.set_token(ev.resource, sim.mint_token(ALICE, 600)["access_token"], 600)
    client.set_availability(ucwa.Availability.AWAY)
    assert sim.user(ALICE)["availability"] == "Away"
    assert _token_requests(sim) == []


@pytest.mark.parametrize(
    "resource,token,lifetime",
    [
        ("lyncweb.contoso.com", "t0ken", 60),  # not an origin
        ("https://lyncweb.contoso.com/ucwa", "t0ken", 60),  # a path after the authority
        ("http://lyncweb.contoso.com", "t0ken", 60),  # plain http off loopback
        (None, "", 60),  # empty token (resource filled in below)
        (None, "sec\r\nret-t0ken", 60),  # a token a header cannot carry
        (None, "t0ken", 0),  # lifetime 0
        (None, "t0ken", 604801),  # over a week
        (None, "t0ken", 2**32 + 60),  # would wrap to 60 in a uint32_t
    ],
    ids=["not-an-origin", "path", "http-off-loopback", "empty-token", "crlf-token", "lifetime-0",
         "lifetime-over-a-week", "lifetime-past-uint32"],
)
def test_bad_set_token_arguments_raise_invalid_argument_and_send_nothing(
    client: ucwa.Client, sim: Sim, resource: str | None, token: str, lifetime: int
) -> None:
    with pytest.raises(ucwa.InvalidArgumentError) as info:
        client.set_token(resource or sim.origin, token, lifetime)
    assert "ret-t0ken" not in str(info.value)
    assert sim.log() == []
    # nothing was stored either: signing in still finds no token for the simulator
    with pytest.raises(ucwa.AuthenticationError) as auth:
        client.sign_in_with_tokens(ALICE)
    assert auth.value.auth_resource == sim.origin


def test_set_token_arguments_of_the_wrong_type_raise_type_error(client: ucwa.Client, sim: Sim) -> None:
    with pytest.raises(TypeError):
        client.set_token(sim.origin, "t0ken", 60.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        client.set_token(sim.origin, "t0ken", True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        client.set_token(sim.origin, b"t0ken", 60)  # type: ignore[arg-type]
    assert sim.log() == []
