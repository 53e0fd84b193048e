"""POST/GET /api/v2/interaction-events: fields, server-set values, metadata, filters.

Events go to widgets this run created (``events_widget`` and ``other_widget``),
so the "nothing was stored" proofs can compare the widget's events before and
after a refused request.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ihub_conformance.suite.attribution import unverifiable
from ihub_conformance.suite.session import HubSession

requirement = pytest.mark.requirement
UNKNOWN_WIDGET = "00000000-0000-4000-8000-00000000beef"
CLIENT_OCCURRED_AT = "2001-02-03T04:05:06Z"


def _post(hub: HubSession, body: Any, **kwargs: Any) -> Any:
    response = hub.post(hub.path("interaction_events"), json=body, **kwargs)
    label = body.get("eventType", "?") if isinstance(body, dict) else "?"
    hub.note_written("interaction-event", response, str(label))
    return response


def _event(hub: HubSession, widget: dict, event_type: str, label: str, **extra: Any) -> dict:
    body = {"widgetId": widget["id"], "eventType": event_type,
            "viewContext": f"ihub-conformance:{label}",
            "metadata": hub.event_metadata(label, event_type)}
    body.update(extra)
    return body


def _event_ids(hub: HubSession, widget_id: str) -> set[str]:
    return {row["id"] for row in hub.rows("interaction_events", params={"widgetId": widget_id})}


def _with_context(hub: HubSession, context_key: str, **params: Any) -> list[dict]:
    rows = hub.rows("interaction_events", params=params)
    return [r for r in rows if _context(r) == context_key]


def _context(row: dict) -> Any:
    metadata = row.get("metadata")
    return metadata.get("context_key") if isinstance(metadata, dict) else None


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@pytest.fixture(scope="session")
def posted(hub: HubSession, events_widget: dict,
           declared_event_types: list[str]) -> dict[str, tuple[dict, dict]]:
    """One accepted event per declared event type: type -> (request, 201 body)."""
    out = {}
    for event_type in declared_event_types:
        body = _event(hub, events_widget, event_type, f"declared-{event_type}")
        out[event_type] = (body, hub.expect_created(_post(hub, body), "create_event",
                                                    "event-resource"))
    return out


@pytest.fixture(scope="session")
def other_widget(hub: HubSession, hub_record: dict, manifest: dict,
                 declared_event_types: list[str]) -> dict[str, Any]:
    """A second widget of this run with one event, so filters have something to exclude."""
    widget = hub.create_widget("filter-other", hub_record["id"], manifest["widgetTypes"][0])
    event_type = declared_event_types[0]
    hub.expect_created(_post(hub, _event(hub, widget, event_type, "filter-other")),
                       "create_event", "event-resource")
    return widget


@pytest.fixture(scope="session")
def stored_events(hub: HubSession, posted: dict, events_widget: dict) -> dict[str, dict]:
    """The events_widget's events as the list answers them, by id."""
    response = hub.page("interaction_events", params={"widgetId": events_widget["id"]},
                        size=int(hub.assumptions.get("pagination.max_size")))
    return {row["id"]: row for row in hub.expect_page(response, "event-resource")}


# -- accepted events and what is stored -------------------------------------------------


@requirement("EVT-05", "EVT-10", "GATE-06")
def test_declared_event_types_are_accepted(posted: dict, events_widget: dict,
                                           declared_event_types: list[str]) -> None:
    assert set(posted) == set(declared_event_types)
    for event_type, (_, event) in posted.items():
        assert event["eventType"] == event_type
        assert event["widgetId"] == events_widget["id"]


@requirement("EVT-05")
def test_accepted_events_are_listed(posted: dict, stored_events: dict) -> None:
    for event_type, (_, event) in posted.items():
        assert event["id"] in stored_events, f"{event_type} event {event['id']} not listed"
        assert stored_events[event["id"]]["eventType"] == event_type


@requirement("EVT-07")
def test_view_context_is_persisted_as_view_context_ref(posted: dict,
                                                       stored_events: dict) -> None:
    for body, event in posted.values():
        assert event.get("viewContextRef") == body["viewContext"]
        assert stored_events[event["id"]].get("viewContextRef") == body["viewContext"]


@requirement("EVT-06")
def test_view_context_is_optional(hub: HubSession, events_widget: dict,
                                  declared_event_types: list[str]) -> None:
    body = _event(hub, events_widget, declared_event_types[0], "no-view-context")
    del body["viewContext"]
    event = hub.expect_created(_post(hub, body), "create_event", "event-resource")
    assert event.get("viewContextRef") is None


@requirement("EVT-12")
def test_actor_type_is_api(posted: dict, stored_events: dict) -> None:
    for _, event in posted.values():
        assert event["actorType"] == "api"
        assert stored_events[event["id"]]["actorType"] == "api"


def _ignored_or_refused(hub: HubSession, body: dict, widget: dict) -> dict | None:
    """A client value for a server-set field: the hub may refuse the event (a 4xx, nothing
    stored) or ignore the value; the source forbids honouring it only. None: refused."""
    response = _post(hub, body)
    if 400 <= response.status_code < 500:
        assert not _with_context(hub, body["metadata"]["context_key"], widgetId=widget["id"]), \
            f"refused with {response.status_code} but stored"
        return None
    return hub.expect_created(response, "create_event", "event-resource")


@requirement("EVT-12")
def test_client_actor_type_is_not_honoured(hub: HubSession, events_widget: dict,
                                           declared_event_types: list[str]) -> None:
    body = _event(hub, events_widget, declared_event_types[0], "client-actor",
                  actorType="user")
    event = _ignored_or_refused(hub, body, events_widget)
    if event is not None:
        assert event["actorType"] == "api"
        listed = _with_context(hub, body["metadata"]["context_key"],
                               widgetId=events_widget["id"])
        assert [row["actorType"] for row in listed] == ["api"]


@requirement("EVT-11")
def test_client_occurred_at_is_not_honoured(hub: HubSession, events_widget: dict,
                                            declared_event_types: list[str]) -> None:
    body = _event(hub, events_widget, declared_event_types[-1], "client-occurred-at",
                  occurredAt=CLIENT_OCCURRED_AT)
    event = _ignored_or_refused(hub, body, events_widget)
    if event is None:
        return
    listed = _with_context(hub, body["metadata"]["context_key"],
                           widgetId=events_widget["id"])
    assert len(listed) == 1, f"{len(listed)} stored events carry the context key"
    for where, value in (("answer", event["occurredAt"]), ("list", listed[0]["occurredAt"])):
        assert _parse(value) != _parse(CLIENT_OCCURRED_AT), f"{where}: client occurredAt kept"
        # Server time: close to when the hub stored it, not to what the client said.
        created = _parse(event["createdAt"])
        assert abs(_parse(value) - created) < timedelta(minutes=5), f"{where}: {value}"
    if hub.clock is None:  # live clock: the hub's time is today's, not 2001's
        assert abs(_parse(event["occurredAt"]) - datetime.now(UTC)) < timedelta(days=1)


@requirement("EVT-11")
def test_occurred_at_is_set_by_the_server(posted: dict) -> None:
    for _, event in posted.values():
        assert event.get("occurredAt"), "occurredAt missing"
        _parse(event["occurredAt"])


@requirement("ACS-01")
def test_observed_at_survives_the_round_trip(posted: dict, stored_events: dict) -> None:
    for body, event in posted.values():
        sent = body["metadata"]["attributes"]["observed_at"]
        assert (event.get("metadata") or {}).get("attributes", {}).get("observed_at") == sent
        stored = stored_events[event["id"]].get("metadata") or {}
        assert stored.get("attributes", {}).get("observed_at") == sent


@requirement("EVT-08")
def test_metadata_object_is_stored_as_sent(posted: dict, stored_events: dict) -> None:
    for body, event in posted.values():
        assert event.get("metadata") == body["metadata"]
        assert stored_events[event["id"]].get("metadata") == body["metadata"]


# -- refused events are not stored ----------------------------------------------------------


def _refused_and_absent(hub: HubSession, widget: dict, *, field: str | None,
                        case: str = "validation", **post: Any) -> None:
    hub.require_writes()
    before = _event_ids(hub, widget["id"])
    response = hub.post(hub.path("interaction_events"), **post)
    hub.note_written("interaction-event", response, "refused")
    hub.expect_rejected(response, field=field, case=case)
    new = _event_ids(hub, widget["id"]) - before
    assert not new, f"refused with {response.status_code} but stored: {sorted(new)}"


@requirement("EVT-08")
@pytest.mark.parametrize("metadata", ["observed_at=now", ["observed_at"], 42, True],
                         ids=["string", "array", "number", "boolean"])
def test_non_object_metadata_is_refused(hub: HubSession, events_widget: dict,
                                        declared_event_types: list[str], metadata: Any) -> None:
    body = _event(hub, events_widget, declared_event_types[0], "bad-metadata",
                  metadata=metadata)
    _refused_and_absent(hub, events_widget, field="metadata", json=body)


@requirement("EVT-08")
@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain"])
def test_non_json_body_is_refused(hub: HubSession, events_widget: dict,
                                  declared_event_types: list[str], content_type: str) -> None:
    form = f"widgetId={events_widget['id']}&eventType={declared_event_types[0]}&metadata=x"
    _refused_and_absent(hub, events_widget, field="Content-Type",
                        case="unsupported_media_type",
                        content=form.encode(), headers={"Content-Type": content_type})


@requirement("EVT-08")
def test_malformed_json_is_refused_not_500(hub: HubSession, events_widget: dict,
                                           declared_event_types: list[str]) -> None:
    raw = f'{{"widgetId": "{events_widget["id"]}", "eventType": "{declared_event_types[0]}",'
    _refused_and_absent(hub, events_widget, field=None, content=raw.encode(),
                        headers={"Content-Type": "application/json"})


@requirement("EVT-08")
def test_oversized_body_is_refused(hub: HubSession, events_widget: dict,
                                   declared_event_types: list[str]) -> None:
    if hub.assumptions.get("limits.max_body_bytes") is None:
        unverifiable("the register knows no body cap (values.limits.max_body_bytes: null)")
    cap = int(hub.assumptions.get("limits.max_body_bytes"))
    body = _event(hub, events_widget, declared_event_types[0], "oversized")
    body["metadata"]["attributes"]["padding"] = "x" * (cap + 1)
    _refused_and_absent(hub, events_widget, field=None, case="payload_too_large", json=body)


@requirement("EVT-05")
@pytest.mark.parametrize("field", ["widgetId", "eventType"])
def test_missing_required_field_is_refused(hub: HubSession, events_widget: dict,
                                           declared_event_types: list[str], field: str) -> None:
    body = _event(hub, events_widget, declared_event_types[0], f"missing-{field}")
    del body[field]
    _refused_and_absent(hub, events_widget, field=field, json=body)
    # Without widgetId the event could land anywhere: look for its context key.
    assert not _with_context(hub, body["metadata"]["context_key"],
                             eventType=declared_event_types[0])


@requirement("EVT-05")
def test_unknown_widget_is_refused(hub: HubSession, events_widget: dict,
                                   declared_event_types: list[str]) -> None:
    body = _event(hub, {"id": UNKNOWN_WIDGET}, declared_event_types[0], "unknown-widget")
    hub.require_writes()
    response = _post(hub, body)
    hub.expect_rejected(response, field="widgetId", case="unknown_reference")
    assert not _with_context(hub, body["metadata"]["context_key"], widgetId=UNKNOWN_WIDGET)


# -- list filters ---------------------------------------------------------------------------


@requirement("EVT-03")
def test_widget_id_filter_returns_only_that_widget(hub: HubSession, posted: dict,
                                                   events_widget: dict,
                                                   other_widget: dict) -> None:
    for widget in (events_widget, other_widget):
        response = hub.page("interaction_events", params={"widgetId": widget["id"]},
                            size=int(hub.assumptions.get("pagination.max_size")))
        rows = hub.expect_page(response, "event-resource")
        assert rows, f"no events listed for widget {widget['id']}"
        strays = {row["widgetId"] for row in rows} - {widget["id"]}
        assert not strays, f"widgetId={widget['id']} listed events of {sorted(strays)}"
    mine = _event_ids(hub, events_widget["id"])
    assert {event["id"] for _, event in posted.values()} <= mine


@requirement("EVT-04")
def test_event_type_filter_returns_only_that_type(hub: HubSession, posted: dict,
                                                  events_widget: dict) -> None:
    for event_type, (_, event) in posted.items():
        rows = hub.rows("interaction_events",
                        params={"eventType": event_type, "widgetId": events_widget["id"]})
        strays = {row["eventType"] for row in rows} - {event_type}
        assert not strays, f"eventType={event_type} listed {sorted(strays)}"
        assert event["id"] in {row["id"] for row in rows}


@requirement("EVT-04")
def test_event_type_filter_alone(hub: HubSession, posted: dict) -> None:
    event_type, (_, event) = next(iter(posted.items()))
    rows = hub.rows("interaction_events", params={"eventType": event_type})
    assert {row["eventType"] for row in rows} == {event_type}
    assert event["id"] in {row["id"] for row in rows}
