"""Reference hub: POST/GET /api/v2/interaction-events, each rule both ways."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from ihub_conformance.reference.server import RunningHub

HUB_ID = "00000000-0000-4000-8000-000000000001"
LIVE_EVENT_TYPES = ["ops-service-discovered", "ops-endpoint-verified", "ops-backup-verified",
                    "ops-drift-detected"]
REGISTERED_UNDECLARED = ["ops-access-path-checked", "ops-service-observed",
                         "ops-inventory-drift", "widget-viewed"]
EVENTS = "/api/v2/interaction-events"


@pytest.fixture
def unbound(hub: RunningHub) -> Iterator[httpx.Client]:
    with hub.client(key=hub.unbound_key) as client:
        yield client


@pytest.fixture
def widget(http: httpx.Client) -> str:
    """A fresh widget, so event lists filtered by it hold only this test's events."""
    response = http.post("/api/v2/widgets", json={
        "hubId": HUB_ID, "name": f"w-{uuid.uuid4()}", "widgetType": "ops-endpoint"})
    assert response.status_code == 201
    return response.json()["id"]


def _event(widget: str, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {"widgetId": widget, "eventType": "ops-endpoint-verified"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def _stored(http: httpx.Client, widget: str) -> list[dict[str, object]]:
    body = http.get(EVENTS, params={"widgetId": widget, "pageSize": 200}).json()
    return body["data"]


def _total(http: httpx.Client) -> int:
    return http.get(EVENTS, params={"pageSize": 1}).json()["pagination"]["totalCount"]


def _refused(http: httpx.Client, widget: str, body: object, status: int, field: str | None,
             **kwargs: object) -> dict[str, object]:
    before = _total(http)
    if "content" not in kwargs:
        kwargs = {"content": json.dumps(body), "headers": {"Content-Type": "application/json"}}
    response = http.post(EVENTS, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == field
    assert _stored(http, widget) == [] and _total(http) == before
    return error


@pytest.mark.requirement("EVT-05", "VOC-10", "GATE-06")
@pytest.mark.parametrize("event_type", LIVE_EVENT_TYPES)
def test_declared_event_types_are_accepted(http: httpx.Client, widget: str,
                                           event_type: str) -> None:
    response = http.post(EVENTS, json=_event(widget, eventType=event_type))
    assert response.status_code == 201
    event = response.json()
    assert event["eventType"] == event_type and event["widgetId"] == widget
    assert event["actorType"] == "api" and event["viewContextRef"] is None
    assert _stored(http, widget) == [event]


@pytest.mark.requirement("EVT-10", "VOC-04", "GATE-06")
@pytest.mark.parametrize("event_type", REGISTERED_UNDECLARED)
def test_bound_consumer_cannot_post_undeclared_types(http: httpx.Client, unbound: httpx.Client,
                                                    widget: str, event_type: str) -> None:
    error = _refused(http, widget, _event(widget, eventType=event_type), 422, "eventType")
    assert "not declared by the manifest" in str(error["message"])
    # The same type is registered, so a consumer bound to no manifest may post it.
    response = unbound.post(EVENTS, json=_event(widget, eventType=event_type))
    assert response.status_code == 201
    assert [e["eventType"] for e in _stored(http, widget)] == [event_type]


@pytest.mark.requirement("EVT-09")
@pytest.mark.parametrize("event_type", ["ops-evidence", "nope", "OPS-ENDPOINT-VERIFIED"])
def test_unregistered_types_are_refused_for_every_consumer(
    http: httpx.Client, unbound: httpx.Client, widget: str, event_type: str
) -> None:
    for client in (http, unbound):
        error = _refused(client, widget, _event(widget, eventType=event_type), 422, "eventType")
        assert "event_type_registry" in str(error["message"])


@pytest.mark.requirement("EVT-05")
def test_widget_id_and_event_type_are_required(http: httpx.Client, widget: str) -> None:
    for field in ("widgetId", "eventType"):
        for value in (..., None, 7, "", ["x"]):
            _refused(http, widget, _event(widget, **{field: value}), 400, field)
    _refused(http, widget, _event(widget, widgetId="railiance/inter-hub"), 400, "widgetId")


@pytest.mark.requirement("EVT-05")
def test_an_unknown_widget_is_refused(http: httpx.Client, widget: str) -> None:
    missing = str(uuid.uuid4())
    _refused(http, widget, _event(missing), 422, "widgetId")
    assert _stored(http, missing) == []


@pytest.mark.requirement("EVT-06", "EVT-07")
def test_view_context_is_optional_and_persisted_as_view_context_ref(
    http: httpx.Client, widget: str
) -> None:
    with_ref = http.post(EVENTS, json=_event(widget, viewContext="railiance/inter-hub")).json()
    without = http.post(EVENTS, json=_event(widget)).json()
    nulled = http.post(EVENTS, json=_event(widget, viewContext=None)).json()
    assert with_ref["viewContextRef"] == "railiance/inter-hub"
    assert without["viewContextRef"] is None and nulled["viewContextRef"] is None
    assert "viewContext" not in with_ref
    stored = {e["id"]: e["viewContextRef"] for e in _stored(http, widget)}
    assert stored == {with_ref["id"]: "railiance/inter-hub", without["id"]: None,
                      nulled["id"]: None}
    for value in (1, "", ["a"], {"a": 1}):
        _refused(http, str(uuid.uuid4()), _event(widget, viewContext=value), 400, "viewContext")


@pytest.mark.requirement("EVT-08", "ACS-01")
def test_metadata_object_round_trips(http: httpx.Client, widget: str) -> None:
    metadata = {"activity_core_run_id": "run-1", "context_key": "railiance/inter-hub",
                "idempotency_key": "run-1:railiance/inter-hub:ops-endpoint-verified",
                "attributes": {"observed_at": "2026-06-27T08:00:00Z", "n": [1, 2.5, None]}}
    event = http.post(EVENTS, json=_event(widget, metadata=metadata)).json()
    assert event["metadata"] == metadata
    assert _stored(http, widget)[0]["metadata"] == metadata
    assert http.post(EVENTS, json=_event(widget, metadata={})).json()["metadata"] == {}


@pytest.mark.requirement("EVT-08")
@pytest.mark.parametrize("metadata", [[], ["a"], "x=1", 1, True, None])
def test_metadata_that_is_not_an_object_is_refused(http: httpx.Client, widget: str,
                                                   metadata: object) -> None:
    _refused(http, widget, _event(widget, metadata=metadata), 400, "metadata")


@pytest.mark.requirement("EVT-08")
@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/xml",
                                          "application/jsonx"])
def test_only_json_bodies_are_accepted(http: httpx.Client, widget: str,
                                       content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    body = json.dumps(_event(widget, metadata={"a": 1}))
    request = http.build_request("POST", EVENTS, content=body, headers=headers)
    assert ("content-type" in request.headers) == (content_type is not None)
    response = http.send(request)
    assert response.status_code == 415
    assert response.json()["error"] == {"code": "unsupported_media_type", "field": "Content-Type",
                                        "message": response.json()["error"]["message"]}
    assert _stored(http, widget) == []


@pytest.mark.requirement("EVT-08")
def test_json_with_a_charset_is_accepted(http: httpx.Client, widget: str) -> None:
    response = http.post(EVENTS, content=json.dumps(_event(widget)).encode(),
                         headers={"Content-Type": "Application/JSON; charset=utf-8"})
    assert response.status_code == 201


@pytest.mark.requirement("EVT-08")
@pytest.mark.parametrize("raw", [b"{", b"", b"{'a': 1}", b'{"widgetId": }', b"\xff\xfe",
                                 b'{"a": NaN}', b'"\\ud800"'])
def test_malformed_json_is_400(http: httpx.Client, widget: str, raw: bytes) -> None:
    _refused(http, widget, None, 400, None, content=raw,
             headers={"Content-Type": "application/json"})


@pytest.mark.requirement("EVT-08")
def test_bodies_are_capped_at_64_kib(http: httpx.Client, widget: str) -> None:
    def body_of(size: int) -> bytes:
        empty = json.dumps(_event(widget, metadata={"pad": ""}), separators=(",", ":")).encode()
        raw = json.dumps(_event(widget, metadata={"pad": "x" * (size - len(empty))}),
                         separators=(",", ":")).encode()
        assert len(raw) == size
        return raw

    headers = {"Content-Type": "application/json"}
    error = _refused(http, widget, None, 413, "body", content=body_of(65537), headers=headers)
    assert error["code"] == "payload_too_large"
    # Streamed without Content-Length: still refused, still nothing stored.
    raw = body_of(70000)
    _refused(http, widget, None, 413, "body", headers=headers,
             content=iter([raw[:30000], raw[30000:]]))
    assert http.post(EVENTS, content=body_of(65536), headers=headers).status_code == 201


@pytest.mark.requirement("EVT-11", "EVT-12")
def test_client_occurred_at_and_actor_type_are_ignored(http: httpx.Client, widget: str) -> None:
    response = http.post(EVENTS, json=_event(widget, occurredAt="2001-01-01T00:00:00Z",
                                             actorType="user"))
    assert response.status_code == 201
    event = response.json()
    assert event["occurredAt"] != "2001-01-01T00:00:00Z" and event["occurredAt"] >= "2026"
    assert event["actorType"] == "api"
    assert _stored(http, widget) == [event]


@pytest.mark.requirement("EVT-03", "EVT-04")
def test_filters_select_by_widget_and_event_type(http: httpx.Client, widget: str) -> None:
    other = http.post("/api/v2/widgets", json={
        "hubId": HUB_ID, "name": f"w-{uuid.uuid4()}", "widgetType": "ops-risk"}).json()["id"]
    posted = {(w, t): http.post(EVENTS, json=_event(w, eventType=t)).json()["id"]
              for w in (widget, other) for t in ("ops-drift-detected", "ops-backup-verified")}
    by_widget = http.get(EVENTS, params={"widgetId": other}).json()
    assert {e["id"] for e in by_widget["data"]} == {posted[(other, t)] for t in (
        "ops-drift-detected", "ops-backup-verified")}
    assert by_widget["pagination"]["totalCount"] == 2
    both = http.get(EVENTS, params={"widgetId": other, "eventType": "ops-drift-detected"}).json()
    assert [e["id"] for e in both["data"]] == [posted[(other, "ops-drift-detected")]]
    by_type = http.get(EVENTS, params={"eventType": "ops-backup-verified", "pageSize": 200})
    ids = {e["id"] for e in by_type.json()["data"]}
    assert {posted[(w, "ops-backup-verified")] for w in (widget, other)} <= ids
    assert {e["eventType"] for e in by_type.json()["data"]} == {"ops-backup-verified"}
    assert http.get(EVENTS, params={"eventType": "nope"}).json()["data"] == []
    response = http.get(EVENTS, params={"widgetId": "not-a-uuid"})
    assert response.status_code == 400 and response.json()["error"]["field"] == "widgetId"


@pytest.mark.requirement("EVT-02")
def test_pagination_returns_every_event_exactly_once(http: httpx.Client, widget: str) -> None:
    created = [http.post(EVENTS, json=_event(widget)).json()["id"] for _ in range(23)]
    seen: list[str] = []
    for page in range(1, 6):
        body = http.get(EVENTS, params={"widgetId": widget, "page": page, "pageSize": 5}).json()
        assert body["pagination"] == {"page": page, "pageSize": 5, "totalCount": 23,
                                      "totalPages": 5}
        assert len(body["data"]) == (5 if page < 5 else 3)
        seen += [e["id"] for e in body["data"]]
    assert sorted(seen) == sorted(created) and len(set(seen)) == 23
    past = http.get(EVENTS, params={"widgetId": widget, "page": 6, "pageSize": 5}).json()
    assert past["data"] == [] and past["pagination"]["totalCount"] == 23
    assert http.get(EVENTS, params={"widgetId": widget}).json()["pagination"]["pageSize"] == 50
    assert len(http.get(EVENTS, params={"widgetId": widget, "pageSize": 200}).json()["data"]) == 23


@pytest.mark.requirement("EVT-02", "WID-02")
@pytest.mark.parametrize("path", [EVENTS, "/api/v2/widgets", "/api/v2/event-types"])
@pytest.mark.parametrize(("param", "value"), [
    ("page", "0"), ("page", "-1"), ("page", "x"), ("page", "1.5"), ("page", ""),
    ("pageSize", "0"), ("pageSize", "201"), ("pageSize", "ten"), ("pageSize", "9" * 40),
])
def test_bad_pagination_parameters_are_400(http: httpx.Client, path: str, param: str,
                                           value: str) -> None:
    response = http.get(path, params={param: value})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == param


@pytest.mark.requirement("EVT-08")
def test_deeply_nested_metadata_is_refused_not_a_server_error(http: httpx.Client,
                                                              widget: str) -> None:
    def nested(levels: int) -> str:  # metadata whose value nests `levels` objects deep
        return '{"a": ' * (levels - 1) + "{}" + "}" * (levels - 1)

    def post(levels: int) -> httpx.Response:
        raw = f'{{"widgetId": "{widget}", "eventType": "ops-backup-verified", ' \
              f'"metadata": {nested(levels)}}}'
        return http.post(EVENTS, content=raw, headers={"Content-Type": "application/json"})

    assert post(64).status_code == 201
    assert len(_stored(http, widget)) == 1
    for levels in (65, 300, 1000, 5000):
        response = post(levels)
        assert response.status_code == 400, (levels, response.status_code)
        assert response.json()["error"]["field"] in ("metadata", None)
    assert len(_stored(http, widget)) == 1
