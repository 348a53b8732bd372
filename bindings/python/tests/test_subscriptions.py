"""Watching other people's presence through the Python binding against ucwa-sim: changes made
elsewhere (the control API) arrive as typed contact events, unsubscribe stops them, the
subscription is extended before it runs out and made again after the application is recreated,
an unknown contact is the server's 400 and
subscribes nothing, and bad arguments are refused before anything is sent. Each test also checks
the subscription requests the simulator saw."""

from __future__ import annotations

import time

import pytest

import ucwa
from conftest import ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, FAST_OPTIONS, Sim, wait_for_event

CAROL = "carol@contoso.com"
BOB_URI = "sip:bob@contoso.com"
CAROL_URI = "sip:carol@contoso.com"
#: Alice, bob and carol (the simulator's default users are only alice and bob).
THREE_USERS = ("--user", f"{ALICE}:{ALICE_PASSWORD}", "--user", f"{BOB}:{BOB_PASSWORD}",
               "--user", f"{CAROL}:carol-password")

CONTACT_EVENTS = (ucwa.ContactPresenceChanged, ucwa.ContactNoteChanged, ucwa.ContactLocationChanged)


def subscription_requests(sim: Sim) -> list[dict]:
    """Alice's requests to the presence subscription resources, in order."""
    return [
        e for e in sim.log() if e.get("user") == ALICE and "presenceSubscriptions" in e["path"]
    ]


def alices(sim: Sim) -> list[dict]:
    """Alice's requests other than her event channel."""
    return [e for e in sim.log() if e.get("user") == ALICE and e["route"] != "events"]


def contact_events(client: ucwa.Client, for_s: float) -> list[ucwa.Event]:
    """Every contact event that arrives within ``for_s`` seconds (the whole time is waited)."""
    end = time.monotonic() + for_s
    seen: list[ucwa.Event] = []
    while (left := end - time.monotonic()) > 0:
        ev = client.next_event(timeout=left)
        if isinstance(ev, CONTACT_EVENTS):
            seen.append(ev)
    return seen


@pytest.mark.sim_args(*THREE_USERS)
def test_presence_note_and_location_changes_of_subscribed_contacts_arrive_as_contact_events(
    client: ucwa.Client, sim: Sim
) -> None:
    client.sign_in(ALICE, ALICE_PASSWORD)  # no make_me_available: not needed to watch others
    sim.clear_log()
    client.subscribe_presence(["sip:bob@contoso.com", CAROL])
    subs = subscription_requests(sim)
    assert [(e["method"], e["status"]) for e in subs] == [("POST", 201)], "one create for both"
    assert BOB_URI in subs[0]["body"] and CAROL_URI in subs[0]["body"]

    sim.set_presence_elsewhere(BOB, "Busy", "in-a-meeting")
    ev, _ = wait_for_event(client, lambda e: isinstance(e, ucwa.ContactPresenceChanged))
    assert ev == ucwa.ContactPresenceChanged(BOB_URI, ucwa.Availability.BUSY, "in-a-meeting")
    assert ev.kind is ucwa.EventKind.CONTACT_PRESENCE_CHANGED
    assert not isinstance(ev, ucwa.PresenceChanged), "the user's own event type is not reused"

    sim.set_note_elsewhere(CAROL, "Back at 3")
    ev, _ = wait_for_event(client, lambda e: isinstance(e, ucwa.ContactNoteChanged))
    assert ev == ucwa.ContactNoteChanged(CAROL_URI, "Back at 3")
    assert ev.kind is ucwa.EventKind.CONTACT_NOTE_CHANGED

    sim.set_location_elsewhere(BOB, "Building 7")
    ev, _ = wait_for_event(client, lambda e: isinstance(e, ucwa.ContactLocationChanged))
    assert ev == ucwa.ContactLocationChanged(BOB_URI, "Building 7")
    assert ev.kind is ucwa.EventKind.CONTACT_LOCATION_CHANGED

    sim.set_note_elsewhere(CAROL, None)
    ev, _ = wait_for_event(client, lambda e: isinstance(e, ucwa.ContactNoteChanged))
    assert ev == ucwa.ContactNoteChanged(CAROL_URI, None), "a cleared note reads as None"
    # The real-server shape: a bare event, followed by one GET of the contact's resource.
    gets = [e["path"] for e in alices(sim) if e["method"] == "GET"]
    assert any(p.endswith("/people/bob@contoso.com/presence") for p in gets), gets
    assert any(p.endswith("/people/carol@contoso.com/note") for p in gets), gets


def test_subscribing_a_contact_again_in_any_spelling_sends_nothing_more(
    client: ucwa.Client, sim: Sim
) -> None:
    client.sign_in(ALICE, ALICE_PASSWORD)
    sim.clear_log()
    client.subscribe_presence(iter([BOB, BOB_URI, BOB]))  # any iterable; duplicates inside one call
    assert [(e["method"], e["status"]) for e in subscription_requests(sim)] == [("POST", 201)]
    sim.clear_log()
    client.subscribe_presence(["SIP:Bob@contoso.com"])
    client.subscribe_presence([])
    assert subscription_requests(sim) == []
    sim.set_presence_elsewhere(BOB, "Away")
    ev, _ = wait_for_event(client, lambda e: isinstance(e, ucwa.ContactPresenceChanged))
    assert (ev.contact, ev.availability) == (BOB_URI, ucwa.Availability.AWAY)


@pytest.mark.sim_args(*THREE_USERS)
def test_unsubscribe_stops_a_contacts_events_at_once_while_others_keep_arriving(
    client: ucwa.Client, sim: Sim
) -> None:
    client.sign_in(ALICE, ALICE_PASSWORD)
    client.subscribe_presence([BOB, CAROL])
    sim.clear_log()
    client.unsubscribe_presence([BOB_URI])
    subs = subscription_requests(sim)
    deletes = [e for e in subs if e["method"] == "DELETE"]
    assert [e["status"] for e in deletes] == [204], subs
    assert "/memberships/" in deletes[0]["path"], "bob's membership, not the subscription"

    sim.set_presence_elsewhere(BOB, "Busy")
    sim.set_note_elsewhere(BOB, "gone fishing")
    sim.set_presence_elsewhere(CAROL, "Away")
    seen = contact_events(client, 1.5)
    assert ucwa.ContactPresenceChanged(CAROL_URI, ucwa.Availability.AWAY) in seen, seen
    assert [e for e in seen if e.contact == BOB_URI] == []

    # The last contact: the whole subscription goes, and nothing more arrives.
    sim.clear_log()
    client.unsubscribe_presence([CAROL, "dave@contoso.com"])  # dave was never subscribed
    subs = subscription_requests(sim)
    assert [(e["method"], e["status"]) for e in subs] == [("DELETE", 204)]
    assert "/memberships/" not in subs[0]["path"]
    sim.set_presence_elsewhere(CAROL, "Busy")
    assert contact_events(client, 1.0) == []


@pytest.mark.sim_args("--subscription-minute-s", "0.1")
def test_the_subscription_is_extended_every_subscription_refresh_s_and_never_runs_out(
    sim: Sim,
) -> None:
    # A "minute" of 0.1 s: the 30 minutes the client asks for last 3 s. The option is passed
    # through the constructor like any other.
    with ucwa.Client(sim.url, **FAST_OPTIONS, subscription_refresh_s=1) as client:
        client.sign_in(ALICE, ALICE_PASSWORD)
        client.subscribe_presence([BOB])
        time.sleep(5)
        subs = subscription_requests(sim)
        extensions = [
            e for e in subs
            if e["method"] == "POST" and "duration=30" in e["path"] and e["status"] == 204
        ]
        creates = [e for e in subs if e["method"] == "POST" and e["status"] == 201]
        assert len(extensions) >= 3, f"about one a second: {subs}"
        assert len(creates) == 1, f"it never ran out, so it was never made again: {subs}"
        # Still alive after more than its 3 s: changes keep arriving.
        sim.set_presence_elsewhere(BOB, "DoNotDisturb")
        ev, _ = wait_for_event(client, lambda e: isinstance(e, ucwa.ContactPresenceChanged))
        assert ev == ucwa.ContactPresenceChanged(BOB_URI, ucwa.Availability.DO_NOT_DISTURB)


def test_the_subscription_is_made_again_after_the_application_is_recreated(
    client: ucwa.Client, sim: Sim
) -> None:
    client.sign_in(ALICE, ALICE_PASSWORD)
    client.make_me_available()
    client.subscribe_presence([BOB])
    sim.clear_log()
    sim.delete_applications(ALICE)
    wait_for_event(client, lambda e: isinstance(e, ucwa.ApplicationRecreated), timeout_s=20)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not [
        e for e in subscription_requests(sim) if e["method"] == "POST" and e["status"] == 201
    ]:
        time.sleep(0.05)
    creates = [e for e in subscription_requests(sim) if e["status"] == 201]
    assert len(creates) == 1 and BOB_URI in creates[0]["body"], subscription_requests(sim)
    assert len(sim.user(ALICE)["applications"]) == 1
    sim.set_presence_elsewhere(BOB, "BeRightBack")
    ev, _ = wait_for_event(client, lambda e: isinstance(e, ucwa.ContactPresenceChanged))
    assert ev == ucwa.ContactPresenceChanged(BOB_URI, ucwa.Availability.BE_RIGHT_BACK)


def test_subscription_refresh_s_outside_1_to_1200_is_refused(client: ucwa.Client) -> None:
    for bad in (0, 1201, "soon"):
        with pytest.raises(ucwa.InvalidArgumentError):
            client.set_option("subscription_refresh_s", bad)
    client.set_option("subscription_refresh_s", 1200)


def test_an_unknown_contact_is_the_servers_400_and_subscribes_none_of_the_call(
    client: ucwa.Client, sim: Sim
) -> None:
    client.sign_in(ALICE, ALICE_PASSWORD)
    sim.clear_log()
    with pytest.raises(ucwa.ServerError) as info:
        client.subscribe_presence([BOB, "nobody@contoso.com"])
    assert info.value.status is ucwa.Status.SERVER
    assert info.value.http_status == 400
    subs = subscription_requests(sim)
    assert [(e["method"], e["status"]) for e in subs] == [("POST", 400)]
    # Bob, known, was not subscribed either.
    sim.set_presence_elsewhere(BOB, "Busy")
    assert contact_events(client, 1.5) == []
    assert len(subscription_requests(sim)) == 1, "nothing left behind to retry"

    client.subscribe_presence([BOB])
    assert [e["status"] for e in subscription_requests(sim)] == [400, 201]


def test_bad_arguments_and_no_sign_in_are_refused_before_anything_is_sent(
    client: ucwa.Client, sim: Sim
) -> None:
    with pytest.raises(ucwa.InvalidStateError):
        client.subscribe_presence([BOB])
    assert sim.log() == []

    client.sign_in(ALICE, ALICE_PASSWORD)
    sim.clear_log()
    for call in (client.subscribe_presence, client.unsubscribe_presence):
        with pytest.raises(TypeError):
            call(BOB)  # a string is not a list of contacts
        with pytest.raises(TypeError):
            call([BOB, b"carol@contoso.com"])  # type: ignore[list-item]
        with pytest.raises(TypeError):
            call([BOB, None])  # type: ignore[list-item]
        with pytest.raises(ucwa.InvalidArgumentError):
            call([f"user{i}@contoso.com" for i in range(1001)])
        for bad in ("", "bob", "bob@contoso.com/../x", "sip:", "a\0b@contoso.com"):
            with pytest.raises(ucwa.InvalidArgumentError):
                call([BOB, bad])
    assert alices(sim) == []
    client.subscribe_presence([f"user{i}@contoso.com" for i in range(0)])  # empty: a no-op
    assert alices(sim) == []


def test_subscribe_on_a_closed_client_raises_invalid_handle(client: ucwa.Client) -> None:
    client.close()
    with pytest.raises(ucwa.InvalidHandleError):
        client.subscribe_presence([BOB])
    with pytest.raises(ucwa.InvalidHandleError):
        client.unsubscribe_presence([BOB])
