"""Reference hub under arbitrary client input: never a 5xx, always the error envelope,
and a refused write leaves nothing behind. (The schema-driven Schemathesis run lives in
conformance/; this fuzzes beyond the schema: raw bytes, odd headers, stray parameters.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ihub_conformance.reference.server import RunningHub

HUB_ID = "00000000-0000-4000-8000-000000000001"
WIDGET = "00000000-0000-4000-8000-000000000105"
ALLOWED = {200, 201, 400, 401, 404, 405, 413, 415, 422}
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                           max_leaves=8)
names = st.sampled_from(["ops-endpoint-verified", "widget-viewed", "ops-evidence", "",
                         "ops-risk", "internal", "active", "draft", "x" * 300])
uuids = st.sampled_from([HUB_ID, WIDGET, "00000000-0000-4000-8000-00000000ffff",
                         WIDGET.upper(), "not-a-uuid", ""])
field_values = json_values | names | uuids


def _bodies(fields: list[str]) -> st.SearchStrategy[Any]:
    objects = st.fixed_dictionaries({}, optional={f: field_values for f in fields})
    return objects | json_values


@pytest.fixture(scope="module")
def http(hub: RunningHub) -> Iterator[httpx.Client]:
    with hub.client() as client:
        yield client


def _totals(http: httpx.Client) -> tuple[int, int, int]:
    widgets = http.get("/api/v2/widgets", params={"pageSize": 1}).json()
    events = http.get("/api/v2/interaction-events", params={"pageSize": 1}).json()
    versions = sum(
        http.get(f"/api/v2/widgets/{w['id']}/versions").json()["pagination"]["totalCount"]
        for w in http.get("/api/v2/widgets", params={"pageSize": 200}).json()["data"])
    return (widgets["pagination"]["totalCount"], events["pagination"]["totalCount"], versions)


def _check(response: httpx.Response) -> None:
    assert response.status_code in ALLOWED, (response.status_code, response.text)
    body = response.json()
    if response.status_code >= 400:
        error = body["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str)
        assert error["field"] is None or isinstance(error["field"], str)


@pytest.mark.slow
@SETTINGS
@given(path=st.sampled_from(["/api/v2/widgets", "/api/v2/interaction-events"]),
       body=st.data(), content_type=st.sampled_from([
           "application/json", "application/json; charset=utf-8", "text/plain", None]))
def test_arbitrary_json_bodies(http: httpx.Client, path: str, body: st.DataObject,
                               content_type: str | None) -> None:
    fields = (["hubId", "name", "widgetType", "capabilityRef", "viewContext", "policyScope",
               "status", "adapterSpecId"] if path.endswith("widgets")
              else ["widgetId", "eventType", "viewContext", "metadata", "occurredAt"])
    value = body.draw(_bodies(fields))
    headers = {"Content-Type": content_type} if content_type else {}
    before = _totals(http)
    response = http.post(path, content=json.dumps(value), headers=headers)
    _check(response)
    after = _totals(http)
    if response.status_code == 201:
        grew = (1, 0, 1) if path.endswith("widgets") else (0, 1, 0)
        assert after == tuple(b + g for b, g in zip(before, grew, strict=True))
    else:
        assert after == before


@pytest.mark.slow
@SETTINGS
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes(http: httpx.Client, raw: bytes) -> None:
    before = _totals(http)
    for path in ("/api/v2/widgets", "/api/v2/interaction-events"):
        response = http.post(path, content=raw, headers={"Content-Type": "application/json"})
        _check(response)
    assert _totals(http) == before


@pytest.mark.slow
@SETTINGS
@given(path=st.sampled_from(["/api/v2/widgets", "/api/v2/interaction-events",
                             "/api/v2/event-types", f"/api/v2/widgets/{WIDGET}/versions",
                             "/progress/", "/api/v2/hubs"]),
       params=st.dictionaries(st.sampled_from(["page", "pageSize", "widgetId", "eventType",
                                               "limit", "event_type", "other"]),
                              st.text(max_size=12) | st.integers().map(str), max_size=4))
def test_arbitrary_query_parameters(http: httpx.Client, path: str,
                                    params: dict[str, str]) -> None:
    response = http.get(path, params=params)
    _check(response)


@pytest.mark.slow
@SETTINGS
@given(segment=st.text(min_size=1, max_size=40).filter(lambda s: "/" not in s),
       method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]))
def test_arbitrary_paths_and_methods(http: httpx.Client, segment: str, method: str) -> None:
    segment = quote(segment, safe="%")  # stray "%xx" stays: the server must decode safely
    for path in (f"/api/v2/widgets/{segment}", f"/api/v2/{segment}",
                 f"/api/v2/hubs/{segment}/manifest"):
        response = http.request(method, httpx.URL(path))
        _check(response)
