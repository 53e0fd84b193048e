"""Each fault switch makes the violation it names observable; the clean hub shows none.

A probe returns True when it observes the violation. Every fault has a probe, and
every probe is False against the clean hub and True against the faulted one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import yaml

from ihub_conformance.errors import ConformanceError
from ihub_conformance.reference.app import create_app
from ihub_conformance.reference.faults import FAULTS, check_faults
from ihub_conformance.reference.seed import default_seed_path
from ihub_conformance.reference.server import RunningHub, running_reference_hub

HUB_ID = "00000000-0000-4000-8000-000000000001"
EVENTS = "/api/v2/interaction-events"
WIDGETS = "/api/v2/widgets"


def _seed() -> dict[str, Any]:
    """The default seed; it holds two probe events, so order and limit show, and a
    newer event of another type, so an ignored event_type filter shows."""
    seed = yaml.safe_load(default_seed_path().read_text(encoding="utf-8"))
    assert [p["id"] for p in seed["progress"]] == [1, 2, 3]
    assert [p["event_type"] for p in seed["progress"]][-1] != "ops_inventory_probe"
    return seed


def _widget(http: httpx.Client, **fields: object) -> httpx.Response:
    body = {"hubId": HUB_ID, "name": f"w-{uuid.uuid4()}", "widgetType": "ops-endpoint", **fields}
    return http.post(WIDGETS, json={k: v for k, v in body.items() if v is not ...})


def _fresh(http: httpx.Client) -> str:
    return _widget(http).json()["id"]


def _event(http: httpx.Client, widget: str | None = None, **fields: object) -> httpx.Response:
    body = {"widgetId": widget or _fresh(http), "eventType": "ops-endpoint-verified", **fields}
    return http.post(EVENTS, json={k: v for k, v in body.items() if v is not ...})


def _ok(response: httpx.Response) -> bool:
    return response.is_success


def _pages(http: httpx.Client, widget: str) -> tuple[list[str], object]:
    ids: list[str] = []
    first = http.get(EVENTS, params={"widgetId": widget, "pageSize": 2}).json()
    for page in range(1, 4):
        body = http.get(EVENTS, params={"widgetId": widget, "pageSize": 2, "page": page}).json()
        ids += [e["id"] for e in body["data"]]
    return ids, first["pagination"]["totalCount"]


def _repeats(ids: list[str]) -> bool:
    return len(ids) != len(set(ids))


def _paged_widget(http: httpx.Client) -> str:
    widget = _fresh(http)
    for _ in range(3):
        _event(http, widget)
    return widget


def _filter_leaks(http: httpx.Client, params: Callable[[str], dict[str, str]],
                  key: str) -> bool:
    widget = _fresh(http)
    _event(http, widget, eventType="ops-backup-verified")
    _event(http, _fresh(http), eventType="ops-drift-detected")
    rows = http.get(EVENTS, params={**params(widget), "pageSize": 200}).json()["data"]
    expected = params(widget)[key]
    return any(row[key] != expected for row in rows)


def _wrong_key_answered(hub: RunningHub) -> bool:
    with hub.client(key="definitely-wrong") as other:
        return other.get("/api/v2/consumer").status_code == 200


def _echoes(hub: RunningHub, http: httpx.Client) -> bool:
    with hub.client(key="echo-canary-1234") as other:
        refused = other.get(WIDGETS)
    answered = http.get(WIDGETS)
    return "echo-canary-1234" in refused.text or any(
        hub.key in value for value in answered.headers.values())


PROBES: dict[str, Callable[[RunningHub, httpx.Client, httpx.Client], bool]] = {
    "accept_undeclared_event_type": lambda h, b, u: _ok(_event(b, eventType="widget-viewed")),
    "accept_unregistered_event_type": lambda h, b, u: _ok(_event(u, eventType="nope")),
    "honour_client_occurred_at": lambda h, b, u: _event(
        b, occurredAt="2001-01-01T00:00:00Z").json()["occurredAt"] == "2001-01-01T00:00:00Z",
    "actor_type_user": lambda h, b, u: _event(b).json()["actorType"] != "api",
    "drop_view_context_ref": lambda h, b, u: _event(
        b, viewContext="vc").json()["viewContextRef"] != "vc",
    "default_scope_public": lambda h, b, u: _widget(b).json()["policyScope"] != "internal",
    "accept_invalid_status": lambda h, b, u: _ok(_widget(b, status="archived")),
    "accept_unknown_widget_type": lambda h, b, u: _ok(_widget(b, widgetType="nope")),
    "accept_unknown_policy_scope": lambda h, b, u: _ok(_widget(b, policyScope="ops-evidence")),
    "ignore_widget_id_filter": lambda h, b, u: _filter_leaks(
        b, lambda w: {"widgetId": w}, "widgetId"),
    "ignore_event_type_filter": lambda h, b, u: _filter_leaks(
        b, lambda w: {"eventType": "ops-backup-verified"}, "eventType"),
    "pagination_overlap": lambda h, b, u: _repeats(_pages(b, _paged_widget(b))[0]),
    "pagination_drops_last": lambda h, b, u: len(set(_pages(b, _paged_widget(b))[0])) < 3,
    "counts_as_strings": lambda h, b, u: isinstance(
        b.get(WIDGETS).json()["pagination"]["totalCount"], str),
    "skip_auth_on_lists": lambda h, b, u: httpx.get(h.base_url + WIDGETS).status_code == 200,
    "accept_wrong_key": lambda h, b, u: _wrong_key_answered(h),
    "echo_key": lambda h, b, u: _echoes(h, b),
    "bad_json_500": lambda h, b, u: b.post(
        EVENTS, content=b"{", headers={"Content-Type": "application/json"}).status_code >= 500,
    "no_widget_version": lambda h, b, u: b.get(
        f"{WIDGETS}/{_fresh(b)}/versions").json()["pagination"]["totalCount"] != 1,
    "drop_observed_at": lambda h, b, u: "observed_at" not in _event(
        b, metadata={"attributes": {"observed_at": "2026-06-27T08:00:00Z"}}
    ).json()["metadata"]["attributes"],
    "accept_non_object_metadata": lambda h, b, u: _ok(_event(b, metadata=["a"])),
    "store_rejected_event": lambda h, b, u: _stored_after_refusal(b),
    "accept_missing_widget_name": lambda h, b, u: _ok(_widget(b, name=...)),
    "no_rate_limit_headers": lambda h, b, u: "x-ratelimit-limit" not in b.get(WIDGETS).headers,
    "accept_missing_widget_id": lambda h, b, u: _ok(b.post(
        EVENTS, json={"eventType": "ops-endpoint-verified"})),
    "accept_form_metadata": lambda h, b, u: _ok(b.post(EVENTS, data={
        "widgetId": _fresh(b), "eventType": "ops-endpoint-verified", "metadata": '{"a": 1}'})),
    "progress_leaks_secret": lambda h, b, u: h.key in httpx.get(h.base_url + "/progress/").text,
    "drop_optional_widget_fields": lambda h, b, u: _widget(
        b, capabilityRef="cap", viewContext="vc",
        adapterSpecId="00000000-0000-4000-8000-000000000031"
    ).json()["capabilityRef"] != "cap",
    "require_view_context": lambda h, b, u: not _ok(_event(b)),
    "text_plain_answers": lambda h, b, u: not all(
        r.headers["content-type"].startswith("application/json")
        for r in (b.get(WIDGETS), b.get(f"{WIDGETS}/{uuid.uuid4()}"))),
    "unknown_widget_200": lambda h, b, u: b.get(f"{WIDGETS}/{uuid.uuid4()}").status_code == 200,
    "consumer_wrong_hub": lambda h, b, u: b.get("/api/v2/consumer").json()["hubId"] != HUB_ID,
    "accept_unknown_widget": lambda h, b, u: _ok(_event(b, str(uuid.uuid4()))),
    "accept_unknown_hub": lambda h, b, u: _ok(_widget(b, hubId=str(uuid.uuid4()))),
    "created_200": lambda h, b, u: _widget(b).status_code == 200,
    "no_body_cap": lambda h, b, u: b.post(EVENTS, content=json.dumps({
        "widgetId": _fresh(b), "eventType": "ops-endpoint-verified",
        "metadata": {"pad": "x" * 70_000}}), headers={"Content-Type": "application/json"}
    ).status_code != 413,
    "error_field_null": lambda h, b, u: _widget(b, status="bad").json()["error"]["field"]
    is None,
    "progress_oldest_first": lambda h, b, u: [
        e["id"] for e in httpx.get(h.base_url + "/progress/").json()] != [3, 2, 1],
    "progress_ignores_limit": lambda h, b, u: len(
        httpx.get(h.base_url + "/progress/", params={"limit": 1}).json()) != 1,
    "progress_ignores_event_type": lambda h, b, u: {e["event_type"] for e in httpx.get(
        h.base_url + "/progress/", params={"event_type": "ops_inventory_probe"}).json()}
    != {"ops_inventory_probe"},
    "snake_case_snapshot": lambda h, b, u: "widgetType" not in b.get(
        f"{WIDGETS}/{_fresh(b)}/versions").json()["data"][0]["snapshot"],
    "widget_without_updated_at": lambda h, b, u: all(
        "updatedAt" not in row for row in b.get(WIDGETS).json()["data"]),
    "progress_any_limit": lambda h, b, u: httpx.get(
        h.base_url + "/progress/", params={"limit": 501}).is_success,
    "public_registry_partial": lambda h, b, u: _names(httpx.get(
        h.base_url + "/api/v2/widget-types")) != _names(b.get("/api/v2/widget-types")),
    "access_path_widget_type": lambda h, b, u: any(
        "access-path" in name for name in _names(b.get("/api/v2/widget-types"))),
    "access_path_event_held": lambda h, b, u: b.get(EVENTS, params={
        "eventType": "ops-access-path-checked"}).json()["pagination"]["totalCount"] > 0,
    "consumer_stale_manifest": lambda h, b, u: b.get("/api/v2/consumer").json()["manifestId"]
    != b.get("/api/v2/hubs/ops-hub/manifest").json()["id"],
}


def _names(response: httpx.Response) -> set[str]:
    return {row["name"] for row in response.json()["data"]}


def _stored_after_refusal(http: httpx.Client) -> bool:
    widget = _fresh(http)
    assert _event(http, widget, eventType="widget-viewed").status_code == 422
    return http.get(EVENTS, params={"widgetId": widget}).json()["pagination"]["totalCount"] > 0


def _observe(hub: RunningHub, fault: str) -> bool:
    with hub.client() as bound, hub.client(key=hub.unbound_key) as unbound:
        return PROBES[fault](hub, bound, unbound)


@pytest.fixture(scope="module")
def clean_hub() -> Iterator[RunningHub]:
    with running_reference_hub(seed=_seed()) as hub:
        yield hub


def test_every_fault_has_a_probe_and_a_description() -> None:
    assert set(PROBES) == set(FAULTS)
    for name, fault in FAULTS.items():
        assert fault.name == name and fault.description and fault.requirement_ids


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_the_fault_changes_what_it_names(clean_hub: RunningHub, fault: str) -> None:
    assert _observe(clean_hub, fault) is False, f"clean hub already shows {fault}"
    with running_reference_hub(seed=_seed(), faults={fault}) as faulted:
        assert _observe(faulted, fault) is True, f"{fault} made no observable difference"


def test_unknown_faults_are_refused() -> None:
    with pytest.raises(ConformanceError, match="unknown fault no_such_fault"):
        check_faults(["accept_wrong_key", "no_such_fault"])
    with pytest.raises(ConformanceError):
        create_app(faults={"no_such_fault"})
