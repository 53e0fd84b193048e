"""The API key: refused when missing or wrong on every endpoint, never echoed back."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ihub_conformance.secrets.scan import contains_literal
from ihub_conformance.suite.session import WRONG_KEY, HubSession

requirement = pytest.mark.requirement
SEED_WIDGET = "00000000-0000-4000-8000-000000000101"

# (requirement, path name) of every authenticated read of the two endpoints.
READS = [
    pytest.param("WID-01", "widgets", marks=requirement("WID-01"), id="widgets"),
    pytest.param("WID-01", "widget", marks=requirement("WID-01"), id="widget"),
    pytest.param("WID-01", "widget_versions", marks=requirement("WID-01", "WID-09"),
                 id="widget_versions"),
    pytest.param("EVT-01", "interaction_events", marks=requirement("EVT-01"),
                 id="interaction_events"),
]


@pytest.fixture(scope="session")
def a_widget_id(hub: HubSession) -> str:
    """Any widget on the hub (read-only runs cannot create one)."""
    rows = hub.expect_page(hub.page("widgets", size=1), "widget-resource")
    return rows[0]["id"] if rows else SEED_WIDGET


def _path(hub: HubSession, name: str, widget_id: str) -> str:
    hub.require_read(name)
    return hub.path(name, id=widget_id) if "{id}" in hub.assumptions.get(f"paths.{name}") \
        else hub.path(name)


@pytest.mark.parametrize(("rid", "name"), READS)
def test_reads_refuse_a_missing_key(hub: HubSession, a_widget_id: str, rid: str,
                                    name: str) -> None:
    hub.require_auth()
    response = hub.get(_path(hub, name, a_widget_id), key=None)
    hub.expect_rejected(response, case="unauthorized")


@pytest.mark.parametrize(("rid", "name"), READS)
def test_reads_refuse_a_wrong_key(hub: HubSession, a_widget_id: str, rid: str,
                                  name: str) -> None:
    hub.require_auth()
    response = hub.get(_path(hub, name, a_widget_id), key=WRONG_KEY)
    hub.expect_rejected(response, case="unauthorized")


@pytest.mark.parametrize(("rid", "name"), READS)
def test_reads_accept_the_key(hub: HubSession, a_widget_id: str, rid: str, name: str) -> None:
    response = hub.get(_path(hub, name, a_widget_id))
    assert response.status_code == 200, f"{name}: {response.status_code} {response.text[:200]}"


@requirement("WID-01", "EVT-01")
@pytest.mark.parametrize("key", [None, WRONG_KEY], ids=["missing", "wrong"])
def test_writes_refuse_a_bad_key_and_store_nothing(hub: HubSession, hub_record: dict,
                                                   manifest: dict, events_widget: dict,
                                                   declared_event_types: list[str],
                                                   key: str | None) -> None:
    hub.require_auth()
    label = "no-key" if key is None else "wrong-key"
    name = hub.widget_name(label)
    widget = hub.post(hub.path("widgets"), key=key, json={
        "hubId": hub_record["id"], "name": name, "widgetType": manifest["widgetTypes"][0]})
    hub.note_written("widget", widget, name)
    hub.expect_rejected(widget, case="unauthorized")
    event_type = declared_event_types[0]
    metadata = hub.event_metadata(label, event_type)
    event = hub.post(hub.path("interaction_events"), key=key, json={
        "widgetId": events_widget["id"], "eventType": event_type, "metadata": metadata})
    hub.note_written("interaction-event", event, event_type)
    hub.expect_rejected(event, case="unauthorized")
    assert name not in {row["name"] for row in hub.rows("widgets")}
    stored = [row for row in hub.rows("interaction_events",
                                      params={"widgetId": events_widget["id"]})
              if isinstance(row.get("metadata"), dict)
              and row["metadata"].get("context_key") == metadata["context_key"]]
    assert not stored, "an event sent with a bad key was stored"


def _echoes(response: httpx.Response, secrets: list[str]) -> list[str]:
    """Where a response carries one of ``secrets``: header names or 'body' (never the value)."""
    places = []
    for name, value in response.headers.items():
        if any(contains_literal(value, s) for s in secrets):
            places.append(f"header {name}")
    if any(contains_literal(response.content, s) for s in secrets):
        places.append("body")
    return places


@requirement("SEC-01", "WID-01", "EVT-01")
def test_no_answer_echoes_a_key(hub: HubSession, a_widget_id: str, hub_slug: str) -> None:
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
    leaks = []
    for path, kwargs in calls:
        response = hub.get(path, **kwargs)
        places = _echoes(response, secrets)
        if places:
            leaks.append(f"GET {path} ({response.status_code}): {', '.join(places)}")
    if leaks:
        pytest.fail("answers echo a presented key: " + "; ".join(leaks), pytrace=False)
