"""No answer carries a presented key: not a read, not a refusal, not the answer to a write.

Every key this run holds (its own, the unbound consumer's, a wrong one) is looked
for in every header and body, in any spelling the scrubber knows.
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


def _places(response: httpx.Response, secrets: list[str]) -> list[str]:
    """Where an answer carries a secret: header names or 'body' (never the value)."""
    places = [f"header {name}" for name, value in response.headers.items()
              if any(contains_literal(value, s) for s in secrets)]
    if any(contains_literal(response.content, s) for s in secrets):
        places.append("body")
    return places


def _fail_on_leaks(answers: list[tuple[str, httpx.Response]], secrets: list[str]) -> None:
    leaks = [f"{label} ({response.status_code}): {', '.join(places)}"
             for label, response in answers if (places := _places(response, secrets))]
    if leaks:
        pytest.fail("answers echo a presented key: " + "; ".join(leaks), pytrace=False)


@requirement("SEC-01", "WID-01", "EVT-01")
def test_no_answer_to_a_read_echoes_a_key(hub: HubSession, a_widget_id: str, hub_slug: str) -> None:
    secrets = [s for s in (hub.key, hub.unbound_key, WRONG_KEY) if s]
    asm = hub.assumptions
    calls: list[tuple[str, dict[str, Any]]] = [
        (hub.path("widgets"), {}),
        (hub.path("widgets"), {"key": None}),
        (hub.path("widgets"), {"key": WRONG_KEY}),
        (hub.path("interaction_events"), {"key": WRONG_KEY}),
        (hub.path("interaction_events"), {"params": {"widgetId": "not-a-uuid"}}),
        ("/api/v2/ihub-conformance-no-such-route", {}),
    ]
    calls += [(hub.path(name, **params), {}) for name, params in (
        ("widget", {"id": a_widget_id}), ("consumer", {}), ("manifest", {"slug": hub_slug}),
        ("event_types", {}), ("widget", {"id": "00000000-0000-4000-8000-000000000000"}))
        if asm.serves(name)]
    if hub.unbound_key and asm.serves("consumer"):
        calls.append((hub.path("consumer"), {"key": hub.unbound_key}))
    _fail_on_leaks([(f"GET {path}", hub.get(path, **kwargs)) for path, kwargs in calls],
                   secrets)


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
    _fail_on_leaks(answers, secrets)
