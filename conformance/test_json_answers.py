"""Every answer of the /api/v2 endpoints the suite calls is labelled application/json.

ASM-04 makes every 4xx/5xx an ``application/json`` error body and ASM-06 makes the
resources JSON; a client such as activity-core decides how to read an answer by its
Content-Type, so a JSON body labelled text/plain is a broken answer. Each case is one
request the other tests already make, success and refusal alike, and asserts the
status it is meant to produce, so a case can never quietly test the wrong answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ihub_conformance.suite.session import WRONG_KEY, HubSession

requirement = pytest.mark.requirement
SEED_WIDGET = "00000000-0000-4000-8000-000000000101"
UNKNOWN_WIDGET = "00000000-0000-4000-8000-00000000beef"

Call = Callable[[HubSession, dict[str, Any]], httpx.Response]


def _case(name: str, status: int, call: Call, *ids: str) -> Any:
    return pytest.param(status, call, marks=requirement(*ids), id=name)


def _get(name: str, *, params: dict | None = None, **kwargs: Any) -> Call:
    def call(hub: HubSession, ctx: dict[str, Any]) -> httpx.Response:
        path_params = {"id": ctx["widget_id"]} if "{id}" in hub.assumptions.values[
            "paths"][name] else {}
        if name == "manifest":
            path_params = {"slug": ctx["slug"]}
        return hub.get(hub.path(name, **path_params), params=params, **kwargs)

    return call


def _unknown_widget(hub: HubSession, ctx: dict[str, Any]) -> httpx.Response:
    return hub.get(hub.path("widget", id=UNKNOWN_WIDGET))


READS = [
    _case("widgets", 200, _get("widgets"), "WID-02"),
    _case("widgets-bad-page", 400, _get("widgets", params={"page": "0"}), "WID-02"),
    _case("widgets-no-key", 401, _get("widgets", key=None), "WID-01"),
    _case("widget", 200, _get("widget"), "WID-03"),
    _case("widget-unknown", 404, _unknown_widget, "WID-03"),
    _case("widget-versions", 200, _get("widget_versions"), "WID-09"),
    _case("events", 200, _get("interaction_events"), "EVT-02"),
    _case("events-wrong-key", 401, _get("interaction_events", key=WRONG_KEY), "EVT-01"),
    _case("events-bad-widget-id", 400,
          _get("interaction_events", params={"widgetId": "not-a-uuid"}), "EVT-03"),
    _case("event-types", 200, _get("event_types"), "EVT-09"),
    _case("widget-types", 200, _get("widget_types"), "WID-07"),
    _case("policy-scopes", 200, _get("policy_scopes"), "WID-08"),
    _case("hubs", 200, _get("hubs"), "WID-03"),
    _case("manifest", 200, _get("manifest"), "EVT-10"),
    _case("consumer", 200, _get("consumer"), "EVT-10"),
]


def _media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _check(response: httpx.Response, status: int) -> None:
    what = f"{response.request.method} {response.request.url.path}"
    assert response.status_code == status, \
        f"{what}: expected {status}, got {response.status_code}: {response.text[:200]}"
    media = _media_type(response)
    assert media == "application/json", \
        f"{what}: the {status} answer is labelled {response.headers.get('content-type')!r}"


@pytest.fixture(scope="module")
def read_context(hub: HubSession, hub_slug: str) -> dict[str, Any]:
    rows = hub.expect_page(hub.page("widgets", size=1), None)
    return {"widget_id": rows[0]["id"] if rows else SEED_WIDGET, "slug": hub_slug}


@pytest.mark.parametrize(("status", "call"), READS)
def test_read_answers_are_json(hub: HubSession, read_context: dict, status: int,
                               call: Call) -> None:
    _check(call(hub, read_context), status)


# -- writes: created resources and refusals ----------------------------------------------


def _post_widget(label: str, **fields: Any) -> Call:
    def call(hub: HubSession, ctx: dict[str, Any]) -> httpx.Response:
        body = {"hubId": ctx["hub_id"], "name": hub.widget_name(label),
                "widgetType": ctx["widget_type"], **fields}
        body = {k: v for k, v in body.items() if v is not None}
        response = hub.post(hub.path("widgets"), json=body)
        hub.note_written("widget", response, str(body.get("name")))
        return response

    return call


def _post_event(label: str, *, widget: str | None = None, **post: Any) -> Call:
    def call(hub: HubSession, ctx: dict[str, Any]) -> httpx.Response:
        if not post:
            event_type = ctx["event_type"]
            kwargs: dict[str, Any] = {"json": {
                "widgetId": widget or ctx["events_widget"], "eventType": event_type,
                "metadata": hub.event_metadata(label, event_type)}}
        else:
            kwargs = dict(post)
        response = hub.post(hub.path("interaction_events"), **kwargs)
        hub.note_written("interaction-event", response, label)
        return response

    return call


WRITES = [
    _case("widget-created", 201, _post_widget("json-created"), "WID-03"),
    _case("widget-without-name", 400, _post_widget("json-no-name", name=""), "WID-03"),
    _case("widget-unregistered-type", 422,
          _post_widget("json-bad-type", widgetType="ihub-conformance-unknown-type"), "WID-07"),
    _case("event-created", 201, _post_event("json-created"), "EVT-05"),
    _case("event-unknown-widget", 422, _post_event("json-unknown", widget=UNKNOWN_WIDGET),
          "EVT-05"),
    _case("event-text-body", 415, _post_event(
        "json-text", content=b"widgetId=x", headers={"Content-Type": "text/plain"}), "EVT-08"),
    _case("event-malformed-json", 400, _post_event(
        "json-malformed", content=b'{"widgetId": ',
        headers={"Content-Type": "application/json"}), "EVT-08"),
]


@pytest.mark.parametrize(("status", "call"), WRITES)
def test_write_answers_are_json(hub: HubSession, request: pytest.FixtureRequest,
                                status: int, call: Call) -> None:
    hub.require_writes()
    record = request.getfixturevalue("hub_record")
    manifest = request.getfixturevalue("manifest")
    widget = request.getfixturevalue("events_widget")
    ctx = {"hub_id": record["id"], "widget_type": manifest["widgetTypes"][0],
           "event_type": manifest["eventTypes"][0], "events_widget": widget["id"]}
    _check(call(hub, ctx), status)
