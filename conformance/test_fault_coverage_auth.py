"""Key checks that mutation testing found missing: near-miss keys, and keys echoed by writes.

Hubs outside the fault catalogue survived the rest of the suite when they compared
only the start of a key (the real key plus one character got in), matched keys
case-insensitively, or copied the presented key into an answer to a POST (the
echo check elsewhere reads GET answers only). `ihub-conformance mutants`
runs the suite against such hubs.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from ihub_conformance.secrets.scan import contains_literal
from ihub_conformance.suite.session import WRONG_KEY, HubSession

requirement = pytest.mark.requirement
UNREGISTERED_TYPE = "ihub-conformance-unregistered-event-type"

LISTS = [
    pytest.param("widgets", marks=requirement("WID-01"), id="widgets"),
    pytest.param("interaction_events", marks=requirement("EVT-01"), id="interaction_events"),
]


def _not_recorded(hub: HubSession) -> None:
    # A cassette holds placeholder credentials only: a key variant is never recorded.
    if hub.mode in ("record", "replay"):
        pytest.skip(f"key variants are not recorded ({hub.mode} mode)")


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize("variant", ["key+1", "1+key"])
def test_the_key_with_one_more_character_is_refused(hub: HubSession, name: str,
                                                    variant: str) -> None:
    _not_recorded(hub)
    hub.require_auth()
    near = f"{hub.key}1" if variant == "key+1" else f"1{hub.key}"
    hub.expect_rejected(hub.get(hub.path(name), key=near), case="unauthorized")


@pytest.mark.parametrize("name", LISTS)
def test_the_key_in_another_letter_case_is_refused(hub: HubSession, name: str) -> None:
    _not_recorded(hub)
    hub.require_auth()
    variant = hub.key.swapcase()
    if variant == hub.key:
        pytest.skip("the key has no letters")
    hub.expect_rejected(hub.get(hub.path(name), key=variant), case="unauthorized")


def _places(response: httpx.Response, secrets: list[str]) -> list[str]:
    """Where an answer carries a secret: header names or 'body' (never the value)."""
    places = [f"header {name}" for name, value in response.headers.items()
              if any(contains_literal(value, s) for s in secrets)]
    if any(contains_literal(response.content, s) for s in secrets):
        places.append("body")
    return places


@requirement("SEC-01", "WID-01", "EVT-01")
def test_no_answer_to_a_write_echoes_a_key(hub: HubSession, hub_record: dict[str, Any],
                                           manifest: dict[str, Any],
                                           declared_event_types: list[str]) -> None:
    hub.require_writes()
    secrets = [s for s in (hub.key, hub.unbound_key, WRONG_KEY) if s]
    name = hub.widget_name("echo-check")
    widgets, events = hub.path("widgets"), hub.path("interaction_events")
    created = hub.post(widgets, json={"hubId": hub_record["id"], "name": name,
                                      "widgetType": manifest["widgetTypes"][0]})
    hub.note_written("widget", created, name)
    widget = hub.expect_created(created, "create_widget", "widget-resource")
    event_type = declared_event_types[0]
    event = {"widgetId": widget["id"], "eventType": event_type,
             "metadata": hub.event_metadata("echo-check", event_type)}
    answers: list[tuple[str, httpx.Response]] = [("POST widget (201)", created)]
    sends: list[tuple[str, dict[str, Any]]] = [
        ("POST event (201)", {"json": event}),
        ("POST event, wrong key", {"json": event, "key": WRONG_KEY}),
        ("POST event, unregistered type", {"json": {**event, "eventType": UNREGISTERED_TYPE}}),
        ("POST event, text/plain", {"content": json.dumps(event).encode(),
                                    "headers": {"Content-Type": "text/plain"}}),
        ("POST event, malformed JSON", {"content": b'{"widgetId": ',
                                        "headers": {"Content-Type": "application/json"}}),
    ]
    for label, kwargs in sends:
        response = hub.post(events, **kwargs)
        hub.note_written("interaction-event", response, event_type)
        answers.append((label, response))
    if hub.unbound_key:
        response = hub.post(events, json=event, key=hub.unbound_key)
        hub.note_written("interaction-event", response, event_type)
        answers.append(("POST event, unbound consumer", response))
    answers.append(("GET the widget's events",
                    hub.get(events, params={"widgetId": widget["id"]})))
    answers.append(("GET the widget's versions",
                    hub.get(hub.path("widget_versions", id=widget["id"]))))
    leaks = [f"{label} ({response.status_code}): {', '.join(places)}"
             for label, response in answers if (places := _places(response, secrets))]
    if leaks:
        pytest.fail("answers echo a presented key: " + "; ".join(leaks), pytrace=False)
