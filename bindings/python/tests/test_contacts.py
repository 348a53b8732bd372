"""Other people's presence through the Python binding against ucwa-sim: one contact read after
changes made elsewhere (control API, the contact's own client), before and after
make_me_available; a bulk read of 200 contacts with the number of batch requests the simulator
saw; unknown contacts; arguments refused before anything is sent."""

from __future__ import annotations

import pytest

import ucwa
from conftest import ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, FAST_OPTIONS, Sim

USERS = [f"user{i:03}@contoso.com" for i in range(200)]
#: Parts in one batch request (the library's bound; see the header of ucwa_get_contacts_presence).
BATCH_PARTS = 96


def alices(sim: Sim) -> list[dict]:
    """Alice's requests, without her event channel and the GETs of her own presence, note and
    location with which the library follows the events that make_me_available brings."""
    own = {"events", "presence", "note", "location"}
    return [e for e in sim.log() if e.get("user") == ALICE and e["route"] not in own]


def test_a_contact_read_shows_changes_made_elsewhere_before_and_after_make_me_available(
    client: ucwa.Client, sim: Sim
) -> None:
    with ucwa.Client(sim.url, **FAST_OPTIONS) as bob:
        bob.sign_in(BOB, BOB_PASSWORD)
        bob.make_me_available()
        bob.set_note("Heads down today")
        bob.set_location("Building 7")
        sim.set_presence_elsewhere(BOB, "Busy", "in-a-meeting")

        client.sign_in(ALICE, ALICE_PASSWORD)
        sim.clear_log()
        p = client.get_contact_presence("sip:bob@contoso.com")
        assert p.availability is ucwa.Availability.BUSY
        assert p.activity == "in-a-meeting"
        assert client.get_contact_note(BOB) == "Heads down today"
        assert client.get_contact_location(BOB) == "Building 7"
        log = alices(sim)
        assert [(e["method"], e["status"]) for e in log] == [("GET", 200)] * 4
        assert log[0]["path"].endswith("/people/bob@contoso.com")
        for e, tail in zip(log[1:], ["/presence", "/note", "/location"]):
            assert e["path"].endswith("/people/bob@contoso.com" + tail)

        client.make_me_available()
        sim.set_presence_elsewhere(BOB, "BeRightBack")
        sim.clear_log()
        assert client.get_contact_presence(BOB).availability is ucwa.Availability.BE_RIGHT_BACK
        log = alices(sim)
        assert len(log) == 1 and log[0]["path"].endswith("/people/bob@contoso.com/presence")
        assert sim.user(BOB)["availability"] == "BeRightBack"


def test_an_unknown_contact_is_a_404_server_error_alone_and_unknown_in_bulk(
    client: ucwa.Client, sim: Sim
) -> None:
    client.sign_in(ALICE, ALICE_PASSWORD)
    sim.clear_log()
    for read in (client.get_contact_presence, client.get_contact_note, client.get_contact_location):
        with pytest.raises(ucwa.ServerError) as e:
            read("sip:nobody@contoso.com")
        assert (e.value.http_status, e.value.code, e.value.subcode) == (
            404,
            "NotFound",
            "ResourceNotFound",
        )
    assert [(e["status"], e["path"].rsplit("/", 1)[-1]) for e in alices(sim)] == [
        (404, "nobody@contoso.com")
    ] * 3

    sim.set_presence_elsewhere(BOB, "DoNotDisturb")
    sim.clear_log()
    got = client.get_contacts_presence(["nobody@contoso.com", "sip:bob@contoso.com"])
    assert got == {
        "nobody@contoso.com": ucwa.Availability.UNKNOWN,
        "sip:bob@contoso.com": ucwa.Availability.DO_NOT_DISTURB,
    }
    assert [(e["method"], e["route"]) for e in alices(sim)] == [("POST", "batch")] * 2


@pytest.mark.sim_args(
    "--user", f"{ALICE}:{ALICE_PASSWORD}", *[a for u in USERS for a in ("--user", f"{u}:pw")]
)
def test_a_bulk_read_of_200_contacts_takes_as_few_batches_as_the_part_limit_allows(
    client: ucwa.Client, sim: Sim
) -> None:
    for i, u in enumerate(USERS):
        if i % 2 == 0:
            sim.set_presence_elsewhere(u, "Busy")
    client.sign_in(ALICE, ALICE_PASSWORD)
    sim.clear_log()
    got = client.get_contacts_presence(USERS)
    assert list(got) == USERS
    for i, u in enumerate(USERS):
        want = ucwa.Availability.BUSY if i % 2 == 0 else ucwa.Availability.OFFLINE
        assert got[u] is want, u
    batches = -(-len(USERS) // BATCH_PARTS)
    log = alices(sim)
    assert [(e["method"], e["route"], e["status"]) for e in log] == [("POST", "batch", 200)] * (
        2 * batches
    ), "look-ups, then presence reads"

    sim.clear_log()
    sim.set_presence_elsewhere(USERS[1], "Away")
    again = client.get_contacts_presence(USERS)
    assert again[USERS[1]] is ucwa.Availability.AWAY
    assert len(alices(sim)) == batches, "the contacts' links are kept"


def test_contacts_that_are_not_sip_addresses_are_refused_before_any_request(
    client: ucwa.Client, sim: Sim
) -> None:
    client.sign_in(ALICE, ALICE_PASSWORD)
    sim.clear_log()
    for bad in ["", "bob", "bob@contoso.com/presence", "bo b@contoso.com", "a\0b@c"]:
        with pytest.raises(ucwa.InvalidArgumentError):
            client.get_contact_presence(bad)
        with pytest.raises(ucwa.InvalidArgumentError):
            client.get_contacts_presence([BOB, bad])
    with pytest.raises(ucwa.InvalidArgumentError):
        client.get_contacts_presence([BOB] * 1001)
    with pytest.raises(TypeError):
        client.get_contacts_presence(BOB)  # a string is not a list of contacts
    assert client.get_contacts_presence([]) == {}
    assert alices(sim) == []
