"""The event-type gate: event_type_registry for everyone, the manifest for bound consumers.

The registered-but-undeclared types are read from the hub itself (registry minus
the active manifest), so the check works against any deployment's vocabulary.
"""

from __future__ import annotations

from typing import Any

import pytest

from ihub_conformance.suite.session import HubSession

requirement = pytest.mark.requirement
UNREGISTERED = "ihub-conformance-unregistered-event"


def _body(hub: HubSession, widget: dict, event_type: str, label: str) -> dict[str, Any]:
    return {"widgetId": widget["id"], "eventType": event_type,
            "metadata": hub.event_metadata(label, event_type)}


def _stored(hub: HubSession, widget: dict, event_type: str, context_key: str) -> list[dict]:
    rows = hub.rows("interaction_events",
                    params={"widgetId": widget["id"], "eventType": event_type})
    return [row for row in rows if row.get("widgetId") == widget["id"]
            and isinstance(row.get("metadata"), dict)
            and row["metadata"].get("context_key") == context_key]


def _refused_and_absent(hub: HubSession, widget: dict, event_type: str, label: str,
                        key: str | None = None) -> None:
    body = _body(hub, widget, event_type, label)
    kwargs = {"key": key} if key else {}
    response = hub.post(hub.path("interaction_events"), json=body, **kwargs)
    hub.note_written("interaction-event", response, event_type)
    hub.expect_rejected(response, field="eventType", case="unknown_reference")
    stored = _stored(hub, widget, event_type, body["metadata"]["context_key"])
    assert not stored, f"{event_type} refused {response.status_code} but stored: {stored}"


@requirement("EVT-10")
def test_bound_consumer_is_bound_to_the_active_manifest(hub: HubSession, hub_slug: str,
                                                       manifest: dict) -> None:
    consumer = hub.consumer()
    assert consumer.get("manifestId"), "the key's consumer is not bound to a manifest"
    # bound to the *active* manifest, not to some earlier one of the hub
    assert consumer["manifestId"] == manifest.get("id"), \
        f"the consumer is bound to manifest {consumer['manifestId']}, not to the active " \
        f"{hub_slug} manifest {manifest.get('id')}"
    if not hub.assumptions.serves("hubs") or not hub.assumptions.serves("consumer"):
        return  # the hub id comes from the override file: nothing to cross-check
    # ...and belongs to the hub whose manifest gates its events: the ops-hub of /hubs.
    hubs = [row for row in hub.rows("hubs") if row.get("slug") == hub_slug]
    assert len(hubs) == 1, f"GET hubs lists {len(hubs)} hubs with slug {hub_slug!r}"
    assert consumer.get("hubId") == hubs[0].get("id"), \
        f"the consumer's hubId {consumer.get('hubId')} is not {hub_slug} ({hubs[0].get('id')})"


@requirement("EVT-10", "GATE-06")
def test_registered_but_undeclared_event_types_are_refused(
        hub: HubSession, events_widget: dict, undeclared_event_types: list[str]) -> None:
    hub.require_writes()
    if not undeclared_event_types:
        pytest.skip("this hub registers no event type outside the ops-hub manifest")
    for event_type in undeclared_event_types:
        _refused_and_absent(hub, events_widget, event_type, f"undeclared-{event_type}")


@requirement("EVT-10")
def test_unbound_consumer_may_post_registered_undeclared_types(
        hub: HubSession, events_widget: dict, undeclared_event_types: list[str]) -> None:
    hub.require_writes()
    key = hub.require_unbound_key()
    consumer = hub.consumer(key=key)
    assert consumer.get("manifestId") is None, "IHUB_UNBOUND_KEY's consumer is bound"
    if not undeclared_event_types:
        pytest.skip("this hub registers no event type outside the ops-hub manifest")
    event_type = undeclared_event_types[0]
    body = _body(hub, events_widget, event_type, f"unbound-{event_type}")
    response = hub.post(hub.path("interaction_events"), json=body, key=key)
    hub.note_written("interaction-event", response, event_type)
    event = hub.expect_created(response, "create_event", "event-resource")
    assert event["eventType"] == event_type


@requirement("EVT-09")
def test_unregistered_event_type_is_refused_for_the_bound_consumer(
        hub: HubSession, events_widget: dict, registry: dict) -> None:
    hub.require_writes()
    assert UNREGISTERED not in registry["event_types"]
    _refused_and_absent(hub, events_widget, UNREGISTERED, "unregistered-bound")


@requirement("EVT-09")
def test_unregistered_event_type_is_refused_for_an_unbound_consumer(
        hub: HubSession, events_widget: dict, registry: dict) -> None:
    # The manifest check cannot hide a missing registry check here.
    hub.require_writes()
    key = hub.require_unbound_key()
    assert UNREGISTERED not in registry["event_types"]
    _refused_and_absent(hub, events_widget, UNREGISTERED, "unregistered-unbound", key=key)


@requirement("EVT-10")
@pytest.mark.parametrize("early", ["ops-service-observed", "ops-inventory-drift"])
def test_early_proposal_names_are_refused(hub: HubSession, events_widget: dict,
                                          registry: dict, manifest: dict, early: str) -> None:
    hub.require_writes()
    if early in manifest["eventTypes"]:
        pytest.fail(f"the ops-hub manifest declares the early-proposal name {early}",
                    pytrace=False)
    _refused_and_absent(hub, events_widget, early, f"early-{early}")
