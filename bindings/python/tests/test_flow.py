"""The normal life of a client against ucwa-sim: sign in, make available, presence, note,
location, activity, sign out. Each test asserts what the simulator saw (its request log and
user state) as well as what the binding returned."""

from __future__ import annotations

import json

import ucwa
from conftest import ALICE, ALICE_PASSWORD, FAST_OPTIONS, Sim


def test_cold_start_to_presence_set_takes_the_protocol_minimum_of_requests(sim: Sim) -> None:
    # Without the event channel and the activity timer nothing runs in the background, so the
    # log and request_count are exact.
    with ucwa.Client(sim.url, **FAST_OPTIONS, event_channel=False) as c:
        c.sign_in(ALICE, ALICE_PASSWORD)
        c.make_me_available()
        c.set_availability(ucwa.Availability.BUSY)
        assert sim.routes(skip_events=False) == [
            "GET discovery",
            "GET user",
            "POST token",
            "GET user",
            "POST applications",
            "POST makeMeAvailable",
            "GET application",
            "POST presence",
        ]
        assert c.request_count == 8

        # each later change is exactly one request
        c.set_availability(ucwa.Availability.AWAY)
        assert c.request_count == 9
        last = sim.log()[-1]
        assert (last["method"], last["route"], json.loads(last["body"])) == (
            "POST",
            "presence",
            {"availability": "Away"},
        )


def test_full_flow_sets_and_reads_presence_note_location_and_signs_out(
    client: ucwa.Client, sim: Sim
) -> None:
    client.sign_in(ALICE, ALICE_PASSWORD)
    apps = sim.user(ALICE)["applications"]
    assert len(apps) == 1 and apps[0]["made_available"] is False

    client.make_me_available()
    assert sim.user(ALICE)["applications"][0]["made_available"] is True

    client.set_availability(ucwa.Availability.BUSY)
    assert client.get_presence() == ucwa.Presence(ucwa.Availability.BUSY, None)
    client.set_note("In the lab")
    assert client.get_note() == "In the lab"
    client.set_location("Building 7")
    assert client.get_location() == "Building 7"
    client.report_activity()

    state = sim.user(ALICE)
    assert (state["availability"], state["note"], state["location"]) == (
        "Busy",
        "In the lab",
        "Building 7",
    )
    # exactly one write per call, with the bodies UCWA defines
    posts = {
        route: [json.loads(e["body"]) if e["body"] else None for e in sim.requests(route, "POST")]
        for route in ("presence", "note", "location", "reportMyActivity")
    }
    assert posts == {
        "presence": [{"availability": "Busy"}],
        "note": [{"message": "In the lab"}],
        "location": [{"location": "Building 7"}],
        "reportMyActivity": [None],
    }
    # every request after the token carried the bearer token
    log = sim.log()
    token_at = next(i for i, e in enumerate(log) if e["route"] == "token")
    assert all(e["authorization"] for e in log[token_at + 1 :])
    assert client.request_count >= len(log)

    client.sign_out()
    deletes = sim.requests("application", "DELETE")
    assert len(deletes) == 1 and deletes[0]["status"] == 204
    assert sim.user(ALICE)["applications"] == []
    # signed out: presence calls are out of order now, and nothing more is sent
    before = len(sim.log())
    try:
        client.set_availability(ucwa.Availability.ONLINE)
    except ucwa.InvalidStateError:
        pass
    else:
        raise AssertionError("set_availability after sign_out did not raise InvalidStateError")
    assert len(sim.log()) == before


def test_make_me_available_sign_in_as_is_sent_to_the_server(client: ucwa.Client, sim: Sim) -> None:
    client.sign_in(ALICE, ALICE_PASSWORD)
    client.make_me_available(sign_in_as=ucwa.Availability.DO_NOT_DISTURB)
    (mma,) = sim.requests("makeMeAvailable", "POST")
    assert json.loads(mma["body"])["signInAs"] == "DoNotDisturb"
    assert client.get_presence().availability == ucwa.Availability.DO_NOT_DISTURB


def test_reset_availability_sends_an_empty_post(available: ucwa.Client, sim: Sim) -> None:
    available.set_availability(ucwa.Availability.AWAY)
    available.reset_availability()
    bodies = [e["body"] for e in sim.requests("presence", "POST")]
    assert len(bodies) == 2
    assert json.loads(bodies[0]) == {"availability": "Away"}
    assert bodies[1] in (None, "", "{}")
    assert available.get_presence().availability != ucwa.Availability.AWAY


def test_utf8_note_and_location_round_trip(available: ucwa.Client, sim: Sim) -> None:
    note = "Grüße aus Zürich — 東京 ✓ 🎧"
    available.set_note(note)
    available.set_location("Ångström-Labor, Raum 𝟙𝟚")
    assert sim.user(ALICE)["note"] == note
    assert json.loads(sim.requests("note", "POST")[-1]["body"]) == {"message": note}
    assert available.get_note() == note
    assert available.get_location() == "Ångström-Labor, Raum 𝟙𝟚"


def test_none_and_empty_string_clear_note_and_location(available: ucwa.Client, sim: Sim) -> None:
    available.set_note("temporary")
    available.set_location("somewhere")
    available.set_note(None)
    available.set_location("")
    state = sim.user(ALICE)
    assert not state["note"] and not state["location"]
    assert available.get_note() is None
    assert available.get_location() is None


def test_presence_changed_elsewhere_is_read_back_with_its_activity(
    available: ucwa.Client, sim: Sim
) -> None:
    sim.set_presence_elsewhere(ALICE, "Away", "in-a-meeting")
    assert available.get_presence() == ucwa.Presence(ucwa.Availability.AWAY, "in-a-meeting")


def test_options_are_sent_in_the_application(sim: Sim) -> None:
    with ucwa.Client(
        sim.url, **FAST_OPTIONS, user_agent="pytest-agent/1.0", culture="de-DE",
        endpoint_id="python-endpoint-1", modalities=["Messaging", "PhoneAudio"],
    ) as c:
        c.sign_in(ALICE, ALICE_PASSWORD)
        c.make_me_available()
    (app,) = sim.requests("applications", "POST")
    assert json.loads(app["body"]) == {
        "culture": "de-DE",
        "endpointId": "python-endpoint-1",
        "userAgent": "pytest-agent/1.0",
    }
    (mma,) = sim.requests("makeMeAvailable", "POST")
    assert json.loads(mma["body"])["supportedModalities"] == ["Messaging", "PhoneAudio"]


def test_module_reports_the_loaded_library() -> None:
    assert ucwa.abi_version() == ucwa.ABI_VERSION == 1
    # One version for the library and this package (tests/version.rs checks the sources).
    assert ucwa.library_version() == ucwa.__version__
    assert ucwa.status_description(ucwa.Status.INVALID_HANDLE) == "invalid handle"
    assert ucwa.status_description(999) == "unknown status"
