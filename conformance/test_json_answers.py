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

from ihub_conformance.contract.assumptions import describe_status
from ihub_conformance.suite.attribution import expect_assumption, unverifiable
from ihub_conformance.suite.session import WRONG_KEY, HubSession

requirement = pytest.mark.requirement
SEED_WIDGET = "00000000-0000-4000-8000-000000000101"
UNKNOWN_WIDGET = "00000000-0000-4000-8000-00000000beef"

Call = Callable[[HubSession, dict[str, Any]], httpx.Response]


def _case(name: str, status: int | str, call: Call, *ids: str) -> Any:
    """``status``: 200 (a read the source makes succeed), or the register's name of the
    answer: ``create_widget``/``create_event`` or a rejection case (status.rejections)."""
    return pytest.param(status, call, marks=requirement(*ids), id=name)


def _get(name: str, *, params: dict | None = None, **kwargs: Any) -> Call:
    def call(hub: HubSession, ctx: dict[str, Any]) -> httpx.Response:
        hub.require_read(name)
        if kwargs.get("key", "") is None or kwargs.get("key") == WRONG_KEY:
            hub.require_auth()
        path_params = {"id": ctx["widget_id"]} if "{id}" in hub.assumptions.get(
            f"paths.{name}") else {}
        if name == "manifest":
            path_params = {"slug": ctx["slug"]}
        return hub.get(hub.path(name, **path_params), params=params, **kwargs)

    return call


def _unknown_widget(hub: HubSession, ctx: dict[str, Any]) -> httpx.Response:
    hub.require_read("widget")
    return hub.get(hub.path("widget", id=UNKNOWN_WIDGET))


def _bad_page(hub: HubSession, ctx: dict[str, Any]) -> httpx.Response:
    if hub.assumptions.rejection_ok("bad_page", 200):
        unverifiable("the register lets a hub serve an out-of-range page (bad_page: any)")
    return hub.page("widgets", index=-1, size=1)


READS = [
    _case("widgets", 200, _get("widgets"), "WID-02"),
    _case("widgets-bad-page", "bad_page", _bad_page, "WID-02"),
    _case("widgets-no-key", "unauthorized", _get("widgets", key=None), "WID-01"),
    _case("widget", 200, _get("widget"), "WID-03"),
    _case("widget-unknown", "not_found", _unknown_widget, "WID-03"),
    _case("widget-versions", 200, _get("widget_versions"), "WID-09"),
    _case("events", 200, _get("interaction_events"), "EVT-02"),
    _case("events-wrong-key", "unauthorized", _get("interaction_events", key=WRONG_KEY),
          "EVT-01"),
    _case("events-bad-widget-id", "validation",
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


def _check(hub: HubSession, response: httpx.Response, status: int | str) -> None:
    what = f"{response.request.method} {response.request.url.path}"
    code = response.status_code
    if isinstance(status, int):
        assert code == status, f"{what}: expected {status}, got {code}: {response.text[:200]}"
    elif status.startswith("create_"):
        assert 200 <= code < 300, f"{what}: expected a success, got {code}"
        expect_assumption("ASM-06", hub.assumptions.success_ok(status, code),
                          expected=describe_status(hub.assumptions.get(f"status.{status}")),
                          observed=code, detail=what)
    else:
        assert 400 <= code < 500, f"{what}: expected a rejection (4xx), got {code}"
        expect_assumption(hub.assumptions.asm_id(f"status.rejections.{status}") or "ASM-05",
                          hub.assumptions.rejection_ok(status, code),
                          expected=describe_status(
                              hub.assumptions.get(f"status.rejections.{status}")),
                          observed=code, detail=what)
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
    _check(hub, call(hub, read_context), status)


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
    _case("widget-created", "create_widget", _post_widget("json-created"), "WID-03"),
    _case("widget-without-name", "validation", _post_widget("json-no-name", name=""),
          "WID-03"),
    _case("widget-unregistered-type", "unknown_reference",
          _post_widget("json-bad-type", widgetType="ihub-conformance-unknown-type"), "WID-07"),
    _case("event-created", "create_event", _post_event("json-created"), "EVT-05"),
    _case("event-unknown-widget", "unknown_reference",
          _post_event("json-unknown", widget=UNKNOWN_WIDGET), "EVT-05"),
    _case("event-text-body", "unsupported_media_type", _post_event(
        "json-text", content=b"widgetId=x", headers={"Content-Type": "text/plain"}), "EVT-08"),
    _case("event-malformed-json", "validation", _post_event(
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
    _check(hub, call(hub, ctx), status)
