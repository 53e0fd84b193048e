"""Event bodies: metadata "accepted as a JSON object when the request content type is
`application/json`" (EVT-08) - any object as sent, JSON with a charset, a body near the
cap; and a JSON body under another content type refused and not stored.

A hub keeping only the metadata keys activity-core sends, refusing a charset
parameter, or parsing JSON whatever the Content-Type fails here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ihub_conformance.suite.attribution import unverifiable
from ihub_conformance.suite.session import HubSession

requirement = pytest.mark.requirement


def _widget(hub: HubSession, hub_record: dict[str, Any], manifest: dict[str, Any],
            label: str) -> dict[str, Any]:
    """A widget of this test alone, so "nothing was stored" compares its own events."""
    return hub.create_widget(label, hub_record["id"], manifest["widgetTypes"][0])


def _events(hub: HubSession, widget_id: str) -> list[dict[str, Any]]:
    return hub.rows("interaction_events", params={"widgetId": widget_id})


def _canonical(value: Any) -> str:
    # Python's == takes True for 1; the JSON text tells them apart.
    return json.dumps(value, sort_keys=True)


@requirement("EVT-08")
def test_metadata_of_any_shape_is_stored_as_sent(hub: HubSession, hub_record: dict,
                                                 manifest: dict,
                                                 declared_event_types: list[str]) -> None:
    widget = _widget(hub, hub_record, manifest, "metadata-shape")
    event_type = declared_event_types[0]
    metadata = hub.event_metadata("metadata-shape", event_type, status=200, ok=True,
                                  checks=[{"name": "tls", "passed": False}, None, 2.5])
    metadata["ihub_conformance_note"] = {"free": "text", "empty": {}, "list": [1, "1", True]}
    response = hub.post(hub.path("interaction_events"), json={
        "widgetId": widget["id"], "eventType": event_type, "metadata": metadata})
    hub.note_written("interaction-event", response, event_type)
    event = hub.expect_created(response, "create_event", "event-resource")
    assert _canonical(event.get("metadata")) == _canonical(metadata), (
        f"the 201 answer's metadata differs from the metadata sent: {event.get('metadata')!r}")
    stored = [row for row in _events(hub, widget["id"]) if row["id"] == event["id"]]
    assert stored, f"event {event['id']} is not listed for its widget"
    assert _canonical(stored[0].get("metadata")) == _canonical(metadata), (
        f"the stored metadata differs from the metadata sent: {stored[0].get('metadata')!r}")


def _accepted_as_sent(hub: HubSession, body: dict[str, Any], raw: bytes,
                      content_type: str) -> None:
    """POST ``raw`` (``body`` encoded): answered as created, with the metadata as sent."""
    response = hub.post(hub.path("interaction_events"), content=raw,
                        headers={"Content-Type": content_type})
    hub.note_written("interaction-event", response, body["eventType"])
    event = hub.expect_created(response, "create_event", "event-resource")
    assert event.get("metadata") == body["metadata"]


def _event_body(hub: HubSession, hub_record: dict, manifest: dict, event_type: str,
                label: str, **attributes: Any) -> dict[str, Any]:
    widget = _widget(hub, hub_record, manifest, label)
    return {"widgetId": widget["id"], "eventType": event_type,
            "metadata": hub.event_metadata(label, event_type, **attributes)}


@requirement("EVT-08")
def test_json_with_a_charset_parameter_is_accepted(hub: HubSession, hub_record: dict,
                                                   manifest: dict,
                                                   declared_event_types: list[str]) -> None:
    body = _event_body(hub, hub_record, manifest, declared_event_types[0], "charset")
    _accepted_as_sent(hub, body, json.dumps(body).encode(), "application/json; charset=utf-8")


@requirement("EVT-08")
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          None], ids=["text-plain", "form", "no-content-type"])
def test_a_json_body_under_another_content_type_is_refused(
        hub: HubSession, hub_record: dict, manifest: dict, declared_event_types: list[str],
        content_type: str | None) -> None:
    label = f"content-type-{content_type or 'none'}".replace("/", "-")
    widget = _widget(hub, hub_record, manifest, label)
    event_type = declared_event_types[0]
    body = {"widgetId": widget["id"], "eventType": event_type,
            "metadata": hub.event_metadata(label, event_type)}
    headers = {"Content-Type": content_type} if content_type else {}
    response = hub.post(hub.path("interaction_events"), content=json.dumps(body).encode(),
                        headers=headers)
    hub.note_written("interaction-event", response, event_type)
    hub.expect_rejected(response, case="unsupported_media_type", field="Content-Type")
    stored = _events(hub, widget["id"])
    assert not stored, f"refused with {response.status_code} but stored: " \
        f"{sorted(row['id'] for row in stored)}"


@requirement("EVT-08")
def test_a_body_just_under_the_cap_is_accepted(hub: HubSession, hub_record: dict,
                                              manifest: dict,
                                              declared_event_types: list[str]) -> None:
    # The other side of the 413 check: a hub with a smaller cap refuses real evidence.
    if hub.assumptions.get("limits.max_body_bytes") is None:
        unverifiable("the register knows no body cap (values.limits.max_body_bytes: null)")
    cap = int(hub.assumptions.get("limits.max_body_bytes"))
    body = _event_body(hub, hub_record, manifest, declared_event_types[0], "near-cap",
                       padding="")
    # A fixed padding: the body must not depend on the run id's length (replay matches it).
    body["metadata"]["attributes"]["padding"] = "x" * (cap - 2048)
    raw = json.dumps(body).encode()
    assert cap - 2048 < len(raw) < cap
    _accepted_as_sent(hub, body, raw, "application/json")
